"""The ``second-level-objects`` profile: custom objects that bulk export refuses.

``subscription_c`` hangs off companies and ``serviceVisit_c`` off cars (a second-level
type): Marketo's bulk export serves neither (docs/MARKETO.md section 9). The tap reads
them over REST by the keys they link to (the company keys on leads, the VINs of the cars
read this run), says so, and a full then an incremental run equal the ground truth.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxApi, SandboxControl
from tap_helpers import diff_records, merge_records, normalize, run_tap, select_only
from tap_marketo_crm.tap import TapMarketoCRM

VISITS = "custom_serviceVisit_c"
CUSTOMS = ("custom_car_c", "custom_subscription_c", VISITS)


@pytest.fixture
def profiled_catalog(fast_sandbox: SandboxControl, config: dict[str, Any]) -> dict[str, Any]:
    """The catalog as discovered on an instance with the profile."""
    fast_sandbox.use_profiles("second-level-objects")
    tap = TapMarketoCRM(config=config)
    with contextlib.redirect_stdout(io.StringIO()):
        found = tap.catalog_dict
    return dict(json.loads(json.dumps(found)))


def _problems(
    records: dict[str, list[dict[str, Any]]], sandbox: SandboxControl, catalog: dict[str, Any]
) -> dict[str, list[str]]:
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    problems = {}
    for stream in CUSTOMS:
        schema = entries[stream]["schema"]
        truth = [normalize(r, schema) for r in sandbox.objects(f"customobjects/{stream[7:]}")]
        found = diff_records(records.get(stream, []), truth, ["marketoGUID"])
        if found:
            problems[stream] = found
    return problems


def _creates(sandbox: SandboxControl, api_name: str) -> int:
    """Export creates asked for ``api_name`` since the calls were last reset."""
    path = f"/bulk/v1/customobjects/{api_name}/export/create.json"
    return int(sandbox.calls()["paths"].get(path, 0))


def test_discovery_lists_the_types_with_their_links(profiled_catalog: dict[str, Any]) -> None:
    entries = {e["tap_stream_id"]: e for e in profiled_catalog["streams"]}
    assert set(CUSTOMS) <= set(entries)
    link = entries[VISITS]["schema"]["properties"]["carVin"].get("description", "")
    assert "car_c" in link
    assert "vin" in link


def test_full_and_incremental_runs_read_them_over_rest_exactly(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    profiled_catalog: dict[str, Any],
    sandbox_info: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen = select_only(profiled_catalog, "leads", *CUSTOMS)
    fast_sandbox.reset_calls()
    with caplog.at_level(logging.WARNING):
        first = run_tap(config, chosen)
    bookmarks = first.state["bookmarks"]
    assert bookmarks["custom_subscription_c"]["read_mode"] == "linked_keys"
    assert bookmarks[VISITS]["read_mode"] == "linked_keys"
    assert bookmarks["custom_car_c"].get("read_mode") in (None, "bulk")
    # Asked once each, refused, never asked again; the lead-linked type exports as usual.
    assert _creates(fast_sandbox, "subscription_c") == 1
    assert _creates(fast_sandbox, "serviceVisit_c") == 1
    assert _creates(fast_sandbox, "car_c") >= 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        VISITS in m and "linked to car_c, not to leads" in m for m in messages
    ), messages
    assert any(
        "custom_subscription_c" in m and "linked to Company, not to leads" in m for m in messages
    ), messages
    problems = _problems(first.records, fast_sandbox, chosen)
    assert not problems, problems

    # Changes: a car is serviced (its record changes and it gets a new visit, an old visit
    # is corrected); a company takes a new subscription and one of its leads changes.
    api = SandboxApi(sandbox_info)
    visit = fast_sandbox.objects("customobjects/serviceVisit_c")[0]
    car = next(
        c for c in fast_sandbox.objects("customobjects/car_c") if c["vin"] == visit["carVin"]
    )
    assert api.post(
        "/rest/v1/customobjects/car_c.json",
        {"input": [{"vin": car["vin"], "lastServiceAt": "2026-12-01T09:00:00Z"}]},
    )["success"]
    wrote = api.post(
        "/rest/v1/customobjects/serviceVisit_c.json",
        {
            "input": [
                {"visitId": "SV-NEW-1", "carVin": car["vin"], "workshop": "New Shop", "cost": 99},
                {"visitId": visit["visitId"], "cost": 1234.5},
            ]
        },
    )
    assert [r["status"] for r in wrote["result"]] == ["created", "updated"], wrote
    lead = next(r for r in fast_sandbox.objects("leads") if r.get("externalCompanyId"))
    assert api.post(
        "/rest/v1/customobjects/subscription_c.json",
        {
            "input": [
                {
                    "subscriptionId": "SUB-NEW-1",
                    "externalCompanyId": lead["externalCompanyId"],
                    "plan": "Enterprise",
                }
            ]
        },
    )["success"]
    changed: dict[str, Any] = {"action": "updateOnly", "lookupField": "id"}
    changed["input"] = [{"id": lead["id"], "title": "CTO"}]
    assert api.post("/rest/v1/leads.json", changed)["result"][0]["status"] == "updated"

    # Windows are whole seconds: step past the second the changes were made in.
    time.sleep(1.1)
    fast_sandbox.reset_calls()
    second = run_tap(config, chosen, first.state)
    assert _creates(fast_sandbox, "subscription_c") == 0
    assert _creates(fast_sandbox, "serviceVisit_c") == 0
    new_visits = {r["visitId"] for r in second.records[VISITS]}
    assert {"SV-NEW-1", visit["visitId"]} <= new_visits
    assert "SUB-NEW-1" in {r["subscriptionId"] for r in second.records["custom_subscription_c"]}
    problems = _problems(merge_records(first, second), fast_sandbox, chosen)
    assert not problems, problems


def test_second_level_type_without_its_parent_stream_says_it_cannot_be_read(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    profiled_catalog: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen = select_only(profiled_catalog, VISITS)
    with caplog.at_level(logging.WARNING):
        run = run_tap(config, chosen)
    lines = [r.getMessage() for r in caplog.records if "NOTHING of" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "custom_car_c" in lines[0]
    assert not run.records.get(VISITS)
    # Nothing was read: the stream's position does not move.
    assert "replication_key_value" not in run.state["bookmarks"].get(VISITS, {})
