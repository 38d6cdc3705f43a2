"""Marketo misbehaving: transient faults end with a complete, correct sync; a spent daily
limit (607, max_daily_calls, the export quota) stops cleanly with resumable state."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from tap_helpers import (
    TapRun,
    ground_truth_problems,
    merge_records,
    run_tap,
    run_tap_cli,
)

# Each transient fault hits a few calls of one kind; the sync must still be complete.
TRANSIENT_FAULTS = {
    "606 rate limit": {"path": r"^/rest/v1/", "code": "606", "count": 2},
    "615 concurrency": {"path": r"/bulk/v1/leads/export/.*/status", "code": "615", "count": 2},
    "602 token expired": {"path": r"^/rest/v1/activities", "code": "602", "count": 2},
    "502 bad gateway": {"path": r"/bulk/v1/activities/export/create", "code": "502", "count": 2},
    "1029 too many jobs": {
        "path": r"/bulk/v1/(leads|activities)/export/.*/enqueue",
        "code": "1029",
        "message": "Too many jobs (10) in queue",
        "count": 3,
    },
    "dropped download": {"path": r"/bulk/v1/activities/export/.*/file", "drop_after_bytes": 700},
}


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS.values(), ids=TRANSIENT_FAULTS.keys())
def test_a_transient_fault_still_ends_with_a_complete_correct_sync(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    fault: dict[str, Any],
) -> None:
    # A one-second rate window keeps the 606 wait short; retries back off from 0.1 s.
    config = {**config, "rate_limit_window_seconds": 1}
    fast_sandbox.fault(**fault)
    run = run_tap(config, catalog)
    assert not fast_sandbox.faults(), "the fault was never hit"
    assert not run.incomplete
    problems = ground_truth_problems(run.records, fast_sandbox, catalog)
    assert not problems, problems


def _stop_line(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Stopping the sync" in r.getMessage()]


# A spent daily quota refuses every later create, the job queued ahead's and the one made
# in its turn alike (count 2): the first is only logged, the second stops the run.
QUOTA_STOPS = {
    "607 daily quota": (
        {"path": r"/bulk/v1/activities/export/create", "code": "607", "count": 2},
        {},
    ),
    "export daily quota": (
        {
            "path": r"/bulk/v1/customobjects/.*/export/create",
            "code": "1029",
            "message": "Export daily quota exceeded",
            "count": 2,
        },
        {},
    ),
}


def check_the_next_run_completes(stopped: TapRun, config: dict[str, Any],
                                 catalog: dict[str, Any], sandbox: SandboxControl) -> None:
    """The run after a stop, from its state, finishes the sync: the two runs together hold
    exactly what the sandbox holds."""
    resumed = run_tap(config, catalog, stopped.state)
    assert not resumed.incomplete
    problems = ground_truth_problems(merge_records(stopped, resumed), sandbox, catalog)
    assert not problems, problems


@pytest.mark.parametrize(("fault", "_"), QUOTA_STOPS.values(), ids=QUOTA_STOPS.keys())
def test_a_spent_daily_quota_stops_cleanly_and_the_next_run_resumes(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
    _: Any,
) -> None:
    fast_sandbox.fault(**fault, skip=3)
    with caplog.at_level(logging.INFO):
        stopped = run_tap(config, catalog)
    assert stopped.incomplete
    lines = _stop_line(caplog)
    assert len(lines) == 1, lines
    assert "resume" in lines[0]
    assert "UTC" in lines[0]
    # Streams before the stop kept their bookmarks; the ones after were not touched.
    assert stopped.state["bookmarks"]["leads"]["replication_key_value"]

    # After the reset (Marketo answers every call again, however many 607s the fault had
    # left), the next run takes the saved state and finishes the job.
    fast_sandbox.clear_faults()
    check_the_next_run_completes(stopped, config, catalog, fast_sandbox)


def test_the_sandbox_export_quota_stops_the_run_before_more_exports(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    fast_sandbox.configure(export_daily_quota_bytes=60_000)
    stopped = run_tap(config, catalog)
    assert stopped.incomplete
    fast_sandbox.configure(export_daily_quota_bytes=500 * 1024 * 1024)
    check_the_next_run_completes(stopped, config, catalog, fast_sandbox)


def test_max_export_mb_per_day_is_kept_across_runs_in_state(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    limited = {**config, "max_export_mb_per_day": 0.05}
    stopped = run_tap(limited, catalog)
    assert stopped.incomplete
    usage = stopped.state["marketo"]["export_usage"]
    assert usage["bytes"] >= 0.05 * 1024 * 1024
    # Same day, same allowance: the next run stops before creating any export.
    fast_sandbox.reset_calls()
    again = run_tap(limited, catalog, stopped.state)
    assert again.incomplete
    creates = [p for p in fast_sandbox.calls()["endpoints"] if p.endswith("/create.json")]
    assert not creates


def test_max_daily_calls_stops_the_run_cleanly(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    used = fast_sandbox.calls()["used_today"]
    stopped = run_tap({**config, "max_daily_calls": used + 40}, catalog)
    assert stopped.incomplete
    assert fast_sandbox.calls()["used_today"] <= used + 40
    check_the_next_run_completes(stopped, config, catalog, fast_sandbox)


def test_cli_exit_status_75_and_one_log_line_on_a_quota_stop_without_secrets(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Spent for the job queued ahead and for the one made in its turn (see QUOTA_STOPS).
    fast_sandbox.fault(path=r"/bulk/v1/leads/export/create", code="607", skip=2, count=2)
    run = run_tap_cli(tmp_path, config, catalog)
    assert run.returncode == 75, run.stderr[-3000:]
    lines = [line for line in run.stderr.splitlines() if "Stopping the sync" in line]
    assert len(lines) == 1, lines
    assert "607" in lines[0]
    assert "00:00 US Central" in lines[0]
    assert run.state["bookmarks"]["leads"]["replication_key_value"]
    assert config["client_secret"] not in run.stderr
    assert config["client_secret"] not in "".join(str(m) for m in run.messages)


def test_a_607_during_discovery_is_the_same_resumable_stop(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Meltano discovers before it syncs: a 607 on a describe call used to end as a fatal
    # error (exit 1), so a scheduler retried at once instead of after the reset.
    fast_sandbox.fault(path=r"/rest/v1/leads/describe.json", code="607", count=50)
    run = run_tap_cli(tmp_path, config, None, extra=("--discover",))
    assert run.returncode == 75, run.stderr[-3000:]
    lines = [line for line in run.stderr.splitlines() if "Stopping the sync" in line]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "607" in lines[0]
    assert "00:00 US Central" in lines[0]
    assert "before any stream started" in lines[0]
    assert "Run failed" not in run.stderr
    assert config["client_secret"] not in run.stderr


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


FATAL_CASES = {
    "bad credentials": ({}, {"client_secret": "wr0ng-SECRET-for-this-test"}, "credentials"),
    "603 access denied": (
        {"path": r"/bulk/v1/leads/export/create", "code": "603", "message": "Access denied"},
        {},
        "[603] Access denied",
    ),
}


@pytest.mark.parametrize(("fault", "changes", "words"), FATAL_CASES.values(), ids=FATAL_CASES)
def test_a_fatal_error_ends_with_one_clear_line_exit_1_and_no_traceback_or_secret(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
    fault: dict[str, Any],
    changes: dict[str, Any],
    words: str,
) -> None:
    if fault:
        fast_sandbox.fault(**fault)
    config = {**config, **changes}
    for mode, extra, folder in (
        ("sync", (), tmp_path / "sync"),
        ("discover", ("--discover",), tmp_path / "discover"),
    ):
        if fault and mode == "discover":
            continue  # discovery makes no export
        run = run_tap_cli(folder, config, None if extra else catalog, extra=extra)
        assert run.returncode == 1, run.stderr[-3000:]
        last = _last_line(run.stderr)
        assert "Run failed" in last, last
        assert words in last, last
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        assert config["client_secret"] not in run.stderr
        assert config["client_id"] not in last
        if not fault:
            assert not run.records


def test_the_traceback_of_a_fatal_error_is_logged_at_debug_only(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
) -> None:
    fast_sandbox.fault(path=r"/bulk/v1/leads/export/create", code="603", message="Access denied")
    run = run_tap_cli(
        tmp_path, config, catalog, env={"TAP_MARKETO_CRM_LOGLEVEL": "DEBUG"}, timeout=300
    )
    assert run.returncode == 1
    assert "Traceback" in run.stderr
    assert "Run failed" in _last_line(run.stderr)
    assert config["client_secret"] not in run.stderr
