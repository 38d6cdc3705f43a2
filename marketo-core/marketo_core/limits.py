"""Marketo's three limits, enforced client-side: rate window, calls in flight, daily calls.

All three are per INSTANCE and shared by every integration on it, so we stay below them
(headroom) instead of discovering them through 606 / 615 / 607.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

import backoff

from marketo_core.errors import CallBudgetExhausted, MarketoError, QuotaExhausted
from marketo_core.timeutil import next_quota_reset

_LOG = logging.getLogger("marketo_core.limits")

MARKETO_MAX_CONCURRENCY = 10


def retry_delays(factor: float = 1.0, max_value: float = 60.0) -> Iterator[float]:
    """Exponential waits with jitter: half of each step fixed, half random, so that many
    workers hitting the same error do not come back in lockstep."""
    for value in backoff.expo(factor=factor, max_value=max_value):
        if value is None:  # backoff's generators yield once before their first value
            continue
        yield value / 2 + backoff.full_jitter(value / 2)


class RateLimiter:
    """Sliding window: at most ``max_calls - headroom`` call starts per ``window`` seconds.

    Marketo's limit (100 calls per rolling 20 s) counts every integration on the instance;
    the headroom leaves room for the others and for clock differences.
    """

    def __init__(
        self,
        max_calls: int = 100,
        window: float = 20.0,
        headroom: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        logger: logging.Logger | None = None,
    ) -> None:
        if window <= 0:
            raise ValueError(f"rate_limit_window must be positive, got {window}")
        if headroom < 0:
            raise ValueError(f"rate_limit_headroom must be >= 0, got {headroom}")
        if max_calls - headroom < 1:
            raise ValueError(
                f"rate_limit_calls ({max_calls}) minus rate_limit_headroom ({headroom}) "
                "must leave at least one call per window"
            )
        self.max_calls = max_calls
        self.window = float(window)
        self.headroom = headroom
        self.limit = max_calls - headroom
        self._clock = clock
        self._sleep = sleep
        self._log = logger or _LOG
        self._lock = threading.Lock()
        self._starts: collections.deque[float] = collections.deque()
        self._blocked_until = 0.0

    def acquire(self) -> float:
        """Block until a call may start, record its start, and return the seconds waited.

        Call it last, right before the request goes out (after the concurrency gate):
        Marketo counts a call when it arrives, so the recorded start must be the send time.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                horizon = now - self.window
                while self._starts and self._starts[0] <= horizon:
                    self._starts.popleft()
                if now < self._blocked_until:
                    wait = self._blocked_until - now
                    why = "after a 606"
                elif len(self._starts) < self.limit:
                    self._starts.append(now)
                    return waited
                else:
                    wait = self._starts[0] + self.window - now
                    why = f"{self.limit} calls already started in the last {self.window:g} s"
            self._log.debug("Rate limiter: waiting %.2f s (%s)", wait, why)
            self._sleep(wait)
            waited += wait

    def penalize(self, seconds: float | None = None) -> None:
        """Hold every caller back (after a 606, when other integrations filled the window)."""
        seconds = self.window if seconds is None else seconds
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    @property
    def recent_calls(self) -> int:
        """Call starts inside the current window."""
        with self._lock:
            horizon = self._clock() - self.window
            return sum(1 for start in self._starts if start > horizon)


class ConcurrencyGate:
    """Caps calls in flight (Marketo rejects the 11th concurrent call with 615)."""

    def __init__(self, max_in_flight: int = 5) -> None:
        if (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or not 1 <= max_in_flight <= MARKETO_MAX_CONCURRENCY
        ):
            raise ValueError(
                f"max_concurrency must be an integer from 1 to {MARKETO_MAX_CONCURRENCY} "
                f"(Marketo allows {MARKETO_MAX_CONCURRENCY} calls in flight per instance), "
                f"got {max_in_flight!r}"
            )
        self.max_in_flight = max_in_flight
        self._semaphore = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def __enter__(self) -> ConcurrencyGate:
        self._semaphore.acquire()
        with self._lock:
            self._in_flight += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._in_flight -= 1
        self._semaphore.release()


class DailyBudget:
    """Our own cap on calls per Marketo day (``max_daily_calls``), counting other users too.

    Usage already spent today comes from ``/rest/v1/stats/usage.json`` (``usage_fetcher``),
    read before the first charged call and again every ``refresh_every`` calls, because
    other integrations draw on the same instance quota while we run. With
    ``max_daily_calls=None`` calls are only counted and usage is never fetched.
    """

    def __init__(
        self,
        max_daily_calls: int | None,
        usage_fetcher: Callable[[], int] | None = None,
        *,
        refresh_every: int = 500,
        logger: logging.Logger | None = None,
    ) -> None:
        if max_daily_calls is not None and max_daily_calls < 1:
            raise ValueError(f"max_daily_calls must be positive or None, got {max_daily_calls}")
        self.max_daily_calls = max_daily_calls
        self._fetcher = usage_fetcher
        self.refresh_every = refresh_every
        self._log = logger or _LOG
        self._cond = threading.Condition()
        self._reported: int | None = None  # total from Marketo at the last refresh
        self._since_refresh = 0
        self._charged = 0
        self._refresher: int | None = None  # thread id while a refresh is running
        self._refreshed_once = False

    @property
    def charged(self) -> int:
        """Calls charged by this run (refunds deducted)."""
        with self._cond:
            return self._charged

    @property
    def used_today(self) -> int:
        """Best estimate of the instance's calls today: Marketo's figure plus ours since."""
        with self._cond:
            return (self._reported or 0) + self._since_refresh

    @property
    def remaining(self) -> int | None:
        if self.max_daily_calls is None:
            return None
        return max(0, self.max_daily_calls - self.used_today)

    def charge(self) -> None:
        """Account for one call about to be sent, or raise CallBudgetExhausted first."""
        if self.max_daily_calls is not None and self._fetcher is not None:
            self._maybe_refresh()
        with self._cond:
            if self.max_daily_calls is not None:
                projected = (self._reported or 0) + self._since_refresh + 1
                if projected > self.max_daily_calls:
                    raise CallBudgetExhausted(
                        f"the next call would make {projected} today, over max_daily_calls="
                        f"{self.max_daily_calls}",
                        resets_at=next_quota_reset(),
                    )
            self._since_refresh += 1
            self._charged += 1

    def refund(self) -> None:
        """Give back a charge for a call Marketo does not count (601/602/604/605/608/611)."""
        with self._cond:
            self._since_refresh = max(0, self._since_refresh - 1)
            self._charged = max(0, self._charged - 1)

    def _maybe_refresh(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._refresher == me:
                return  # the usage call itself is being charged
            while self._refresher is not None and not self._refreshed_once:
                # Nobody may spend before the first figure arrives.
                self._cond.wait()
            due = not self._refreshed_once or self._since_refresh >= self.refresh_every
            if not due or self._refresher is not None:
                return
            self._refresher = me
            carried, self._since_refresh = self._since_refresh, 0
        assert self._fetcher is not None
        reported: int | None = None
        try:
            try:
                reported = int(self._fetcher())
            except QuotaExhausted:
                raise
            except MarketoError as exc:
                self._log.warning(
                    "Could not read Marketo API usage (%s); budgeting on this run's calls only",
                    exc,
                )
        finally:
            with self._cond:
                if reported is not None:
                    self._reported = reported
                    self._log.debug(
                        "Marketo reports %d calls today; budget max_daily_calls=%s",
                        reported, self.max_daily_calls,
                    )
                else:
                    self._since_refresh += carried
                self._refreshed_once = True
                self._refresher = None
                self._cond.notify_all()
