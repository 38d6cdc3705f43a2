"""API calls a sync costs, read from the sandbox's own counters (/_sandbox/calls)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from marketo_sandbox.testing import SandboxControl
from tap_helpers import START_DATE, run_tap, tap_config

# A quiet incremental run of the default selection: 21 calls when the asset streams and
# delete capture arrived, and the bound they must keep (delete scans run at most once per
# delete_scan_interval_hours, so a quiet run right after a full one makes none).
NO_CHANGE_BUDGET = 21


def _describe_calls(calls: dict[str, Any]) -> int:
    return sum(n for path, n in calls["endpoints"].items() if "describe" in path)


def test_full_sync_then_a_quiet_incremental_sync_costs_at_most_21_calls(
    fast_sandbox: SandboxControl, sandbox_info: dict[str, str], catalog: dict[str, Any]
) -> None:
    # Default settings (max_daily_calls on: the usage check is part of the cost).
    config = tap_config(sandbox_info, max_daily_calls=40_000)
    fast_sandbox.reset_calls()
    full = run_tap(config, catalog)
    full_calls = fast_sandbox.calls()
    # Bulk streams (leads, activities, 2 custom objects) cost at most create, enqueue,
    # status and file per 31-day window from where their data begins (start_date is
    # months earlier: those windows cost nothing, issue 10); everything else, the
    # first-sync probes included, is a handful. 253 calls on the small seed (295 when
    # every window from start_date was exported).
    first_day = min(
        [lead["createdAt"] for lead in fast_sandbox.objects("leads")]
        + [a["activityDate"] for a in fast_sandbox.objects("activities")]
    )
    days = (
        dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(first_day[:10] + "T00:00:00+00:00")
    ).days
    assert first_day > START_DATE
    windows = math.ceil(days / 31)
    assert full_calls["total"] <= 4 * 4 * windows + 60, full_calls["endpoints"]
    assert _describe_calls(full_calls) == 0, "a run given a catalog must not describe"

    fast_sandbox.reset_calls()
    quiet = run_tap(config, catalog, full.state)
    calls = fast_sandbox.calls()
    assert calls["total"] <= NO_CHANGE_BUDGET, calls["endpoints"]
    assert _describe_calls(calls) == 0
    # Nothing changed: nothing but lookback-free boundary re-reads is emitted.
    emitted = {name: len(rows) for name, rows in quiet.records.items() if rows}
    assert set(emitted) <= {"activity_types", "static_lists", "campaigns", "programs"}, emitted
    print(f"full sync: {full_calls['total']} calls; quiet incremental: {calls['total']} calls")
