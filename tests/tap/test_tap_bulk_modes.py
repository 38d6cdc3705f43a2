"""Bulk export modes: priority-first activity backfill, the createdAt fallback (1035),
custom objects read by linked keys where updatedAt is refused (1035), and one export job
per window for every selected activity type."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox.testing import SandboxControl
from tap_helpers import (
    activated_versions,
    ground_truth_problems,
    merge_records,
    run_tap,
    select_only,
)


def test_priority_first_fetches_the_newest_window_first_and_backfills_later(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    activities = select_only(catalog, "activities_*")
    config = {**config, "priority_first": True}
    first = run_tap(config, activities)
    newest = (dt.datetime.now(dt.UTC) - dt.timedelta(days=32)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dates = [r["activityDate"] for name, rows in first.records.items() for r in rows]
    assert dates, "the newest window holds activities"
    assert min(dates) >= newest
    bookmark = first.state["bookmarks"]["activities_visit_webpage"]
    # Both edges in state: the forward bookmark and how far back the data goes so far.
    assert bookmark["replication_key_value"] > bookmark["backfill_until"]

    second = run_tap(config, activities, first.state)
    assert not second.state["bookmarks"]["activities_visit_webpage"].get("backfill_until")
    problems = ground_truth_problems(
        merge_records(first, second), fast_sandbox, catalog, streams={"activities_*"}
    )
    assert not problems, problems


def test_one_export_job_per_window_for_all_selected_activity_types(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    fast_sandbox.reset_calls()
    run = run_tap(config, select_only(catalog, "activities_*"))
    creates = fast_sandbox.calls()["endpoints"]["POST /bulk/v1/activities/export/create.json"]
    windows = {
        s["bookmarks"]["activities_visit_webpage"].get("replication_key_value")
        for s in run.states
        if "activities_visit_webpage" in s.get("bookmarks", {})
    } - {None}
    assert creates == len(windows)
    assert len([n for n, rows in run.records.items() if rows]) > 20


def test_a_subscription_without_the_updated_at_filter_falls_back_to_created_at(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast_sandbox.configure(bulk_updated_at_filter=False)
    leads = select_only(catalog, "leads")
    with caplog.at_level(logging.INFO):
        first = run_tap(config, leads)
    assert first.state["bookmarks"]["leads"]["filter_field"] == "createdAt"
    # Updates to existing leads then come from the activity log (see
    # test_tap_profile_no_updatedat_filter), and the run says so.
    assert any("found in the activity log" in r.getMessage() for r in caplog.records)
    assert not ground_truth_problems(first.records, fast_sandbox, catalog, streams={"leads"})

    # The fallback is kept: the next run does not try updatedAt (no second 1035).
    # Windows are whole seconds: a run in the same second as the first one's end has an
    # empty window and exports nothing, so step into the next second first.
    time.sleep(1.1)
    fast_sandbox.reset_calls()
    run_tap(config, leads, first.state)
    assert fast_sandbox.calls()["endpoints"]["POST /bulk/v1/leads/export/create.json"] == 1


def test_bulk_files_with_nul_bytes_bare_cr_and_multiline_cells_are_read_whole(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    # Real export files carry these; the sandbox inserts them into every 5th row's first
    # text cell (so values differ from ground truth there, but no row may be lost).
    fast_sandbox.configure(csv_quirks=True)
    run = run_tap(config, select_only(catalog, "leads", "activities_*", "custom_car_c"))
    assert len(run.records["leads"]) == len(fast_sandbox.objects("leads"))
    activities = [a for a in fast_sandbox.objects("activities") if a["activityTypeId"] != 37]
    emitted = sum(len(rows) for name, rows in run.records.items() if name.startswith("activities_"))
    assert emitted == len(activities)
    text = json.dumps(run.records["leads"], ensure_ascii=False)
    assert "zweite Zeile \u2713" in text
    assert "\x00" not in text


def test_custom_objects_fall_back_to_reads_by_linked_keys_when_updated_at_is_refused(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A subscription refusing the bulk updatedAt filter for custom objects (1035).
    fast_sandbox.configure(custom_object_updated_at_filter=False)
    customs = ("custom_car_c", "custom_subscription_c")
    chosen = select_only(catalog, "leads", *customs)
    fast_sandbox.reset_calls()
    with caplog.at_level(logging.WARNING):
        first = run_tap(config, chosen)
    for name in customs:
        assert first.state["bookmarks"][name]["read_mode"] == "linked_keys"
        # The switch run reads the type whole, as its own table version, activated.
        version = first.state["bookmarks"][name]["whole_read_version"]
        assert version in activated_versions(first.messages, name)
    assert any("refuses the bulk updatedAt filter" in r.getMessage() for r in caplog.records)
    # A first sync reads by every lead's keys: the whole type, exactly.
    problems = ground_truth_problems(first.records, fast_sandbox, catalog, streams=set(customs))
    assert not problems, problems
    calls = fast_sandbox.calls()["endpoints"]
    refused = {k: v for k, v in calls.items() if "customobjects" in k and "create" in k}
    assert sum(refused.values()) == 2, refused  # one 1035 per type, then never again
    reads = {k: v for k, v in calls.items() if k.startswith("GET /rest/v1/customobjects")}
    leads = len(fast_sandbox.objects("leads"))
    assert leads > 100
    assert sum(reads.values()) <= 2 * (-(-leads // 300) + 1), reads  # 300 keys per call

    # Later runs: the mode is kept (no export is tried), the leads export harvests the
    # keys, and a changed lead brings its records along.
    lead = next(c for c in fast_sandbox.objects("customobjects/car_c") if c.get("leadId"))
    lead_id = int(lead["leadId"])
    company = next(r for r in fast_sandbox.objects("leads") if r["id"] == lead_id).get(
        "externalCompanyId"
    )
    with MarketoClient(
        config["endpoint"], config["client_id"], config["client_secret"], rate_limit_calls=100_000
    ) as client:
        client.post(
            "/rest/v1/customobjects/car_c.json",
            json={"action": "updateOnly", "input": [{"vin": lead["vin"], "color": "Teal"}]},
        )
        client.post(
            "/rest/v1/leads.json",
            json={
                "action": "updateOnly",
                "lookupField": "id",
                "input": [{"id": lead_id, "title": "Fleet Manager"}],
            },
        )
    # Windows are whole seconds: a run in the same second as the first one's end has an
    # empty window, and the changed lead would come only with the run after.
    time.sleep(1.1)
    fast_sandbox.reset_calls()
    second = run_tap(config, chosen, first.state)
    calls = fast_sandbox.calls()["endpoints"]
    assert not [k for k in calls if "customobjects" in k and "export" in k], calls
    cars = [r for r in second.records["custom_car_c"] if r["vin"] == lead["vin"]]
    assert cars
    assert cars[-1]["color"] == "Teal"
    assert {r["leadId"] for r in second.records["custom_car_c"]} <= {
        r["id"] for r in second.records["leads"]
    }
    if company:
        assert {r["externalCompanyId"] for r in second.records["custom_subscription_c"]} >= {
            company
        } & {s["externalCompanyId"] for s in fast_sandbox.objects("customobjects/subscription_c")}
    assert second.state["bookmarks"]["custom_car_c"]["read_mode"] == "linked_keys"
