"""Activity retention (every real instance, the sandbox's default): a run whose state is
older than what Marketo still keeps of the activities a stream depends on never reports a
complete sync silently.

- Streams derived from activities (lead deletes, list memberships, program memberships,
  opportunity roles) recover by re-reading their whole table, sent with ACTIVATE_VERSION:
  what a loader keeps afterwards is exactly the ground truth. Opportunities, which have no
  complete listing, are re-read as on a first sync, without ACTIVATE_VERSION.
- Activity streams (and deleted_leads) cannot recover pruned rows: one warning each names
  the interval lost.
- With ``on_retention_gap: stop`` the derived streams are skipped with their state kept
  and the run exits with status 65.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxApi, SandboxControl
from tap_helpers import ground_truth_problems, run_tap, run_tap_cli, select_only
from tap_marketo_crm import retention
from tap_marketo_crm.run import EXIT_RETENTION_GAP
from tap_marketo_crm.windows import parse_ts

DAY = 86400.0
# Older than every retention period: 25 months (and so 90 and 14 days).
PAUSE_DAYS = 800

RECOVERING = ("leads", "list_memberships", "program_memberships", "opportunity_roles")
STREAMS = (
    *RECOVERING,
    "static_lists",
    "programs",
    "opportunities",
    "deleted_leads",
    "activities_visit_webpage",
)


def aged(state: dict[str, Any], days: float) -> dict[str, Any]:
    """``state`` as a pipeline paused ``days`` ago would have left it: every position
    (feed reading, replication bookmark) moved back by ``days``."""
    out: dict[str, Any] = {**state, "bookmarks": {}}
    for stream, bookmark in state.get("bookmarks", {}).items():
        moved = dict(bookmark)
        for key in ("feed_since", "replication_key_value"):
            if moved.get(key):
                when = parse_ts(moved[key]) - dt.timedelta(days=days)
                moved[key] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["bookmarks"][stream] = moved
    return out


def delete_lead_days_ago(sandbox: SandboxControl, info: dict[str, str], days: float) -> int:
    """Delete a living lead with the sandbox clock ``days`` back: its Delete Lead activity
    (and deletedleads.json entry) is then older than Marketo keeps it."""
    lead_id = int(max(sandbox.objects("leads"), key=lambda lead: int(lead["id"]))["id"])
    sandbox.configure(clock_offset_seconds=-days * DAY)
    try:
        api = SandboxApi(info)
        reply = api.post("/rest/v1/leads/delete.json", {"input": [{"id": lead_id}]})
        assert reply["success"], reply
        api.close()
    finally:
        sandbox.configure(clock_offset_seconds=0)
    return lead_id


def _stream_messages(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("stream") == stream and m["type"] != "SCHEMA"]


@pytest.fixture
def paused(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_info: dict[str, str],
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(catalog, state of a full sync as if taken PAUSE_DAYS ago, a lead deleted since)."""
    chosen = select_only(catalog, *STREAMS)
    first = run_tap(config, chosen)
    assert not first.incomplete
    for stream in RECOVERING:
        assert first.state["bookmarks"][stream].get("feed_since"), stream
    deleted = delete_lead_days_ago(fast_sandbox, sandbox_info, 20)
    return chosen, aged(first.state, PAUSE_DAYS), deleted


def test_a_state_older_than_retention_recovers_whole_tables_with_activate_version(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    paused: tuple[dict[str, Any], dict[str, Any], int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen, state, deleted = paused
    caplog.set_level(logging.INFO)
    run = run_tap(config, chosen, state)
    assert not run.incomplete

    for stream in RECOVERING:
        messages = _stream_messages(run.messages, stream)
        records = [m for m in messages if m["type"] == "RECORD"]
        activations = [m for m in messages if m["type"] == "ACTIVATE_VERSION"]
        assert records, stream
        assert len(activations) == 1, stream
        # After the last record, with the version every record of the re-read carries.
        assert messages[-1]["type"] == "ACTIVATE_VERSION", stream
        assert {m.get("version") for m in records} == {activations[0]["version"]}, stream
        # The re-read is complete: the state says so and moves on.
        bookmark = run.state["bookmarks"][stream]
        assert "table_version" not in bookmark, stream
        assert parse_ts(bookmark["feed_since"]) > parse_ts(state["bookmarks"][stream]["feed_since"])
    # What a loader keeps after ACTIVATE_VERSION is exactly Marketo's data: the lead
    # deleted while the pipeline was paused is gone, though no Delete Lead says so any more.
    problems = ground_truth_problems(run.records, fast_sandbox, chosen, set(RECOVERING))
    assert not problems, problems
    assert deleted not in {r["id"] for r in run.records["leads"]}
    assert not [r for r in run.records["leads"] if r.get("_sdc_deleted_at")]

    # Opportunities: read again as on a first sync, upserts only.
    opportunities = _stream_messages(run.messages, "opportunities")
    assert opportunities
    assert not [m for m in opportunities if m["type"] == "ACTIVATE_VERSION"]
    problems = ground_truth_problems(run.records, fast_sandbox, chosen, {"opportunities"})
    assert not problems, problems

    # Activity rows cannot come back: no version, one warning naming what was lost.
    for stream in ("deleted_leads", "activities_visit_webpage"):
        assert not [
            m for m in _stream_messages(run.messages, stream) if m["type"] == "ACTIVATE_VERSION"
        ]
    lines = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    for stream in (*RECOVERING, "opportunities", "deleted_leads", "activities_visit_webpage"):
        mine = [line for line in lines if line.startswith(f"'{stream}':")]
        assert len(mine) == 1, (stream, lines)
    lost = next(line for line in lines if line.startswith("'activities_visit_webpage':"))
    assert "lost" in lost
    position = state["bookmarks"]["activities_visit_webpage"]["replication_key_value"]
    assert position in lost


def test_the_stop_setting_exits_65_and_keeps_state_behind_the_gap(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    paused: tuple[dict[str, Any], dict[str, Any], int],
    tmp_path: Path,
) -> None:
    chosen, state, _ = paused
    run = run_tap_cli(tmp_path, {**config, "on_retention_gap": "stop"}, chosen, state)
    assert run.returncode == EXIT_RETENTION_GAP == 65, run.stderr[-2000:]
    assert "on_retention_gap=stop" in run.stderr
    final = run.state.get("bookmarks", state["bookmarks"])
    for stream in (*RECOVERING, "opportunities"):
        # Skipped: nothing read, the position not moved past the gap.
        assert not run.records.get(stream), stream
        assert final[stream] == state["bookmarks"][stream], stream
        assert f"'{stream}': position" in run.stderr, stream
    # The other streams synced as usual.
    assert run.records.get("static_lists") is not None
    assert parse_ts(final["programs"]["replication_key_value"]) > parse_ts(
        state["bookmarks"]["programs"]["replication_key_value"]
    )


def test_an_interrupted_recovery_goes_on_with_the_same_version(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    paused: tuple[dict[str, Any], dict[str, Any], int],
) -> None:
    chosen, state, _ = paused
    catalog = select_only(chosen, "static_lists", "list_memberships")
    # The daily quota runs out while the memberships are read again.
    fast_sandbox.fault(path=r"/rest/v1/lists/\d+/leads\.json", code="607")
    stopped = run_tap(config, catalog, state)
    assert stopped.incomplete
    memberships = _stream_messages(stopped.messages, "list_memberships")
    assert not [m for m in memberships if m["type"] == "ACTIVATE_VERSION"]
    version = stopped.state["bookmarks"]["list_memberships"]["table_version"]
    assert "feed_since" not in stopped.state["bookmarks"]["list_memberships"]

    fast_sandbox.clear_faults()
    resumed = run_tap(config, catalog, stopped.state)
    assert not resumed.incomplete
    messages = _stream_messages(resumed.messages, "list_memberships")
    assert messages[-1] == {
        "type": "ACTIVATE_VERSION",
        "stream": "list_memberships",
        "version": version,
    }
    assert {m.get("version") for m in messages if m["type"] == "RECORD"} == {version}
    problems = ground_truth_problems(resumed.records, fast_sandbox, catalog, {"list_memberships"})
    assert not problems, problems


# --- the gap check itself (what other streams reuse) ------------------------------------


NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


def test_gap_applies_each_types_period() -> None:
    days = dt.timedelta(days=1)
    # Delete Lead: 14 days.
    assert retention.gap(NOW - 13 * days, [37], NOW) is None
    found = retention.gap(NOW - 15 * days, [37, 32], NOW)
    assert found is not None
    assert found.type_ids == (37,)
    assert found.kept_since == NOW - 14 * days
    # Add to List and Change Data Value (by id), Request Campaign (by name): 90 days.
    assert retention.gap(NOW - 89 * days, [24, 13], NOW) is None
    assert retention.gap(NOW - 91 * days, [24, 25], NOW) is not None
    assert retention.gap(NOW - 91 * days, [999], NOW, names={999: "Request Campaign"})
    # The rest: 25 months, 37 with extended retention; New Lead never.
    assert retention.gap(NOW - 700 * days, [25, 104], NOW) is None
    assert retention.gap(NOW - 800 * days, [25], NOW) is not None
    assert retention.gap(NOW - 800 * days, [25], NOW, retention.Retention(months=37)) is None
    assert retention.gap(NOW - 5000 * days, [12], NOW) is None
    # No position yet (a first sync) is never a gap.
    assert retention.gap(None, [37], NOW) is None


def test_months_before_stays_in_the_month() -> None:
    assert retention.months_before(NOW, 25) == dt.datetime(2024, 5, 30, 12, 0, tzinfo=dt.UTC)
    march = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    assert retention.months_before(march, 1) == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
