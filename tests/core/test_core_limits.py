"""Rate window, concurrency cap and daily budget, exercised from threads."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import BASE, FakeTime, envelope
from marketo_core import (
    CallBudgetExhausted,
    ConcurrencyGate,
    DailyBudget,
    DailyQuotaExceeded,
    MarketoAPIError,
    MarketoClient,
    RateLimiter,
)


def max_in_any_window(starts: list[float], window: float) -> int:
    ordered = sorted(starts)
    # The busiest window always begins at some call's start.
    return max(
        bisect.bisect_left(ordered, start + window) - index
        for index, start in enumerate(ordered)
    )


def test_burst_of_500_calls_from_8_threads_never_exceeds_limit_minus_headroom(
    fake_time: FakeTime,
) -> None:
    limiter = RateLimiter(100, 20.0, 10, clock=fake_time.monotonic, sleep=fake_time.sleep)
    starts: list[float] = []
    lock = threading.Lock()
    begin = threading.Barrier(8)

    def worker(calls: int) -> None:
        begin.wait()
        for _ in range(calls):
            limiter.acquire()
            # The limiter's own last clock reading in this thread is the call's start.
            with lock:
                starts.append(fake_time.last_reading())
            time.sleep(0)

    counts = [63] * 4 + [62] * 4
    threads = [threading.Thread(target=worker, args=(n,)) for n in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(starts) == 500
    assert max_in_any_window(starts, 20.0) <= 90
    # ...and it is not needlessly slow: a full window of 90 goes at once, and 500 calls
    # fit in six windows (0, 20, ..., 100 s after the first).
    assert max_in_any_window(starts, 20.0) == 90
    assert max(starts) - min(starts) <= 100.0 + 1e-6


def test_limiter_logs_at_debug_when_it_waits(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter(3, 20.0, 1, clock=fake_time.monotonic, sleep=fake_time.sleep)
    with caplog.at_level(logging.DEBUG, logger="marketo_core"):
        for _ in range(3):
            limiter.acquire()
    assert fake_time.sleeps == [20.0]
    assert "Rate limiter: waiting 20.00 s" in caplog.text


def test_penalize_holds_every_caller_back(fake_time: FakeTime) -> None:
    limiter = RateLimiter(100, 20.0, 10, clock=fake_time.monotonic, sleep=fake_time.sleep)
    limiter.acquire()
    start = fake_time.monotonic()
    limiter.penalize(20.0)
    limiter.acquire()
    assert fake_time.monotonic() - start == pytest.approx(20.0)


def test_rate_window_matches_arrivals_when_threads_outnumber_the_gate(
    make_client: Callable[..., MarketoClient], requests_mock: Any, fake_time: FakeTime
) -> None:
    # Four threads share ONE concurrency slot and each call holds it 1 s. Marketo counts a
    # call when it arrives, so a start recorded before a thread waited at the gate would
    # let the real arrivals crowd a window. The limiter must record at send time.
    window, limit = 10.0, 3
    arrivals: list[float] = []
    lock = threading.Lock()

    def answer(request: Any, context: Any) -> dict[str, Any]:
        arrived = fake_time.monotonic()
        with lock:
            arrivals.append(arrived)
            first = len(arrivals) == 1
        if first:
            # Let the other threads line up behind the first call (in real time) before
            # it finishes, so that a limiter that records starts before the gate shows it.
            deadline = time.monotonic() + 0.5
            while client.limiter.recent_calls < limit and time.monotonic() < deadline:
                time.sleep(0.01)
        fake_time.sleep(1.0)  # the call's latency, spent holding the only slot
        return envelope([])

    requests_mock.get(f"{BASE}/rest/v1/activities/types.json", json=answer)
    client = make_client(
        max_concurrency=1,
        rate_limit_calls=limit,
        rate_limit_window=window,
        rate_limit_headroom=0,
    )
    begin = threading.Barrier(4)
    failures: list[BaseException] = []

    def worker() -> None:
        begin.wait()
        try:
            for _ in range(3):
                client.get("/rest/v1/activities/types.json")
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, failures
    assert max_in_any_window(arrivals, window) <= limit
    # ...and no slower than the window demands: three calls, then wait for the first to
    # leave the window, and so on.
    start = min(arrivals)
    assert [t - start for t in sorted(arrivals)] == [
        0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32,
    ]
    assert client.limiter.recent_calls == limit
    assert client.gate.in_flight == 0


def test_usage_reads_for_the_daily_budget_do_not_deadlock_a_single_slot(
    make_client: Callable[..., MarketoClient], requests_mock: Any
) -> None:
    # The budget reads stats/usage through the client itself: it must charge (and so
    # maybe call Marketo) before taking the concurrency slot, never while holding it.
    usage = requests_mock.get(
        f"{BASE}/rest/v1/stats/usage.json", json=envelope([{"date": "2026-01-01", "total": 3}])
    )
    requests_mock.get(f"{BASE}/rest/v1/activities/types.json", json=envelope([]))
    client = make_client(max_concurrency=1, max_daily_calls=100)
    result: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: result.append(client.get("/rest/v1/activities/types.json")),
        daemon=True,
    )
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "deadlocked on the concurrency gate"
    assert result[0]["success"] is True
    assert usage.call_count == 1


@pytest.mark.parametrize(("calls", "headroom"), [(10, 10), (5, 9)])
def test_limiter_rejects_a_headroom_that_leaves_nothing(calls: int, headroom: int) -> None:
    with pytest.raises(ValueError, match="rate_limit_headroom"):
        RateLimiter(calls, 20.0, headroom)


def test_concurrency_gate_never_exceeds_its_cap() -> None:
    gate = ConcurrencyGate(3)
    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def worker() -> None:
        nonlocal in_flight, peak
        for _ in range(10):
            with gate:
                with lock:
                    in_flight += 1
                    peak = max(peak, in_flight)
                time.sleep(0.002)
                with lock:
                    in_flight -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 3
    assert gate.in_flight == 0


@pytest.mark.parametrize("value", [0, 11, -1, 2.5, True])
def test_concurrency_outside_1_to_10_is_rejected_naming_the_setting(value: object) -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        ConcurrencyGate(value)  # type: ignore[arg-type]


def test_client_validates_max_concurrency(make_client: Callable[..., MarketoClient]) -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        make_client(max_concurrency=11)


def test_budget_counts_marketo_usage_and_stops_before_the_limit() -> None:
    fetches: list[int] = []

    def usage() -> int:
        fetches.append(1)
        return 7

    budget = DailyBudget(10, usage)
    budget.charge()
    budget.charge()
    budget.charge()  # 7 reported + 3 ours = 10: allowed
    with pytest.raises(CallBudgetExhausted) as info:
        budget.charge()
    assert len(fetches) == 1
    assert "max_daily_calls=10" in str(info.value)
    assert info.value.resets_at is not None
    assert budget.used_today == 10


def test_budget_refund_gives_back_uncounted_calls() -> None:
    budget = DailyBudget(2, lambda: 0)
    budget.charge()
    budget.refund()
    budget.charge()
    budget.charge()
    assert budget.charged == 2
    with pytest.raises(CallBudgetExhausted):
        budget.charge()


def test_budget_refreshes_usage_periodically() -> None:
    reports = iter([0, 100, 1050])
    budget = DailyBudget(1050, lambda: next(reports), refresh_every=3)
    for _ in range(3):
        budget.charge()
    assert budget.used_today == 3
    budget.charge()  # fourth call: usage re-read (others used 100 meanwhile)
    assert budget.used_today == 101
    for _ in range(2):
        budget.charge()
    with pytest.raises(CallBudgetExhausted):
        budget.charge()  # third read: others spent the rest of the day's budget
    assert budget.used_today == 1050


def test_budget_without_a_limit_never_fetches_usage() -> None:
    def usage() -> int:
        raise AssertionError("usage should not be read without max_daily_calls")

    budget = DailyBudget(None, usage)
    for _ in range(1000):
        budget.charge()
    assert budget.charged == 1000
    assert budget.remaining is None


def test_budget_survives_an_unreadable_usage_endpoint() -> None:
    def usage() -> int:
        raise MarketoAPIError("Access denied", code="603")

    budget = DailyBudget(2, usage)
    budget.charge()
    budget.charge()
    with pytest.raises(CallBudgetExhausted):
        budget.charge()


def test_budget_passes_a_607_from_the_usage_call_through() -> None:
    def usage() -> int:
        raise DailyQuotaExceeded("quota", code="607")

    with pytest.raises(DailyQuotaExceeded):
        DailyBudget(100, usage).charge()


def test_budget_first_usage_read_blocks_other_threads() -> None:
    release = threading.Event()
    order: list[str] = []

    def usage() -> int:
        release.wait(5)
        order.append("usage")
        return 9

    budget = DailyBudget(10, usage)
    errors: list[BaseException] = []

    def spend() -> None:
        try:
            budget.charge()
            order.append("charged")
        except CallBudgetExhausted as exc:
            errors.append(exc)

    first = threading.Thread(target=spend)
    first.start()
    time.sleep(0.05)
    others = [threading.Thread(target=spend) for _ in range(3)]
    for thread in others:
        thread.start()
    time.sleep(0.05)
    assert order == []  # nobody spent before Marketo's figure arrived
    release.set()
    for thread in [first, *others]:
        thread.join()
    assert order[0] == "usage"
    assert order.count("charged") == 1  # 9 used + 1 = 10; the rest are over
    assert len(errors) == 3
