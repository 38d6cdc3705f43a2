"""A first sync from an early start_date pays for the months that hold data, not for the
empty years before them, and skips no record however lonely (issue 10).

The sandbox here starts empty and gets records at odd places, written in the order
Marketo would have created them (lead and activity ids follow creation): a lone lead
years before the rest, a lone record of each custom object type years before the rest
(each type defined before its first record), and a lone activity of a rare type long
before any other activity.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.model.objects import OBJECT_TYPES
from marketo_sandbox.testing import Fixtures, SandboxControl
from marketo_sandbox.timestamps import to_epoch
from tap_helpers import FAST_SANDBOX, run_tap, select_only, tap_config
from tap_marketo_crm.tap import TapMarketoCRM

LONE_LEAD = "2022-03-05T10:00:00Z"
CARS_DEFINED = "2022-01-10T00:00:00Z"
LONE_CAR = "2022-08-01T12:00:00Z"  # linked to the lone lead
SUBSCRIPTIONS_DEFINED = "2023-02-01T00:00:00Z"
LONE_SUBSCRIPTION = "2023-04-20T08:30:00Z"
INTERESTING_MOMENT = 46
VISIT_WEBPAGE, NEW_LEAD = 1, 12
BULK_STREAMS = ("leads", "custom_car_c", "custom_subscription_c", "activities_*")


def _recent(days_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# Interesting Moment, a rare type, 20 months back: long before any other activity, and
# still within Marketo's 25-month retention of that type (older, it would be pruned).
LONE_ACTIVITY = _recent(20 * 30.4)


@pytest.fixture(scope="module")
def odd_history() -> Iterator[SandboxServer]:
    # A scan window of 5 activity ids per call: the activity probe crosses empty pages.
    config = SandboxConfig(
        client_id="empty-history", client_secret="empty-history-secret",
        extra={"activity_scan_window": 5},
    )  # fmt: skip
    with SandboxServer(config, seed="empty") as server:
        SandboxControl(server.url).configure(**FAST_SANDBOX)
        fx = Fixtures(server)
        # Oldest first, as Marketo issues ids.
        lone = fx.lead(createdAt=LONE_LEAD, updatedAt=LONE_LEAD)
        fx.object_type_created("car_c", CARS_DEFINED)
        fx.record(
            OBJECT_TYPES["car_c"].kind,
            "car-lone",
            {"marketoGUID": "car-lone", "vin": "VIN-LONE", "leadId": lone, "make": "Saab",
             "createdAt": LONE_CAR, "updatedAt": LONE_CAR},
            dedupe=("vin",),
        )  # fmt: skip
        fx.object_type_created("subscription_c", SUBSCRIPTIONS_DEFINED)
        fx.record(
            OBJECT_TYPES["subscription_c"].kind,
            "sub-lone",
            {"marketoGUID": "sub-lone", "subscriptionId": "SUB-LONE",
             "externalCompanyId": "ACME", "plan": "gold",
             "createdAt": LONE_SUBSCRIPTION, "updatedAt": LONE_SUBSCRIPTION},
            dedupe=("subscriptionId",),
        )  # fmt: skip
        fx.activity(lone, INTERESTING_MOMENT, when=to_epoch(LONE_ACTIVITY))
        # The rest: recent leads, their cars, subscriptions and everyday activities.
        for i in range(12):
            when = _recent(40 - 3 * i)
            lead = fx.lead(createdAt=when, updatedAt=when)
            fx.record(
                OBJECT_TYPES["car_c"].kind,
                f"car-{i}",
                {"marketoGUID": f"car-{i}", "vin": f"VIN-{i}", "leadId": lead,
                 "createdAt": when, "updatedAt": when},
                dedupe=("vin",),
            )  # fmt: skip
            fx.record(
                OBJECT_TYPES["subscription_c"].kind,
                f"sub-{i}",
                {"marketoGUID": f"sub-{i}", "subscriptionId": f"SUB-{i}",
                 "externalCompanyId": "ACME", "createdAt": when, "updatedAt": when},
                dedupe=("subscriptionId",),
            )  # fmt: skip
            fx.activity(lead, NEW_LEAD, when=to_epoch(when))
            fx.activity(lead, VISIT_WEBPAGE, when=to_epoch(when) + 60)
        yield server


def _catalog(info: dict[str, str]) -> dict[str, Any]:
    tap = TapMarketoCRM(config=tap_config(info))
    with contextlib.redirect_stdout(io.StringIO()):
        catalog = json.loads(json.dumps(tap.catalog_dict))
    return select_only(catalog, *BULK_STREAMS)


def _calls(control: SandboxControl) -> dict[str, int]:
    endpoints = control.calls()["endpoints"]
    return {
        "jobs": sum(n for path, n in endpoints.items() if path.endswith("/export/create.json")),
        "planned": sum(n for path, n in endpoints.items() if not path.endswith("/status.json")),
        "status": sum(n for path, n in endpoints.items() if path.endswith("/status.json")),
    }


def _keys(records: list[dict[str, Any]], key: str) -> set[Any]:
    return {str(r[key]) for r in records}


def test_a_first_sync_from_2007_skips_no_lonely_record_and_costs_what_the_data_costs(
    odd_history: SandboxServer,
) -> None:
    info = odd_history.info()
    control = SandboxControl(odd_history.url)
    catalog = _catalog(info)
    truth = {
        "leads": _keys(control.objects("leads"), "id"),
        "custom_car_c": _keys(control.objects("customobjects/car_c"), "marketoGUID"),
        "custom_subscription_c": _keys(
            control.objects("customobjects/subscription_c"), "marketoGUID"
        ),
        "activities_interesting_moment": {"1"},
    }
    assert len(truth["leads"]) == 13
    assert len(truth["custom_car_c"]) == 13

    runs = {}
    for start in ("2007-01-01T00:00:00Z", LONE_LEAD[:10] + "T00:00:00Z"):
        control.reset_calls()
        run = run_tap(tap_config(info, start_date=start), catalog)
        assert not run.incomplete
        runs[start] = (run, _calls(control))

    for start, (run, _) in runs.items():
        for stream, key in (
            ("leads", "id"),
            ("custom_car_c", "marketoGUID"),
            ("custom_subscription_c", "marketoGUID"),
        ):
            assert _keys(run.records[stream], key) >= truth[stream], (start, stream)
        moments = run.records["activities_interesting_moment"]
        assert [m["activityDate"] for m in moments] == [LONE_ACTIVITY], start
        assert len(run.records["activities_visit_webpage"]) == 12, start
        assert len(run.records["activities_new_lead"]) == 12, start

    (everything, everything_calls), (from_data, from_data_calls) = runs.values()
    # Same records either way, and the empty years 2007..2022 cost (almost) nothing.
    for stream in truth:
        assert len(everything.records[stream]) == len(from_data.records[stream]), stream
    # Status checks depend on how fast the sandbox's worker runs the jobs; the rest is
    # the plan: the same export jobs, and the probes' few calls.
    assert everything_calls["jobs"] == from_data_calls["jobs"]
    assert everything_calls["planned"] <= from_data_calls["planned"] * 1.1
    print(f"first sync from 2007: {everything_calls}; from the data: {from_data_calls}")
    # Types without any activity got a bookmark at once: a later run does not probe them.
    bookmarks = everything.state["bookmarks"]
    assert bookmarks["activities_click_link"]["replication_key_value"]


def test_without_the_probe_a_first_sync_exports_every_window_from_start_date(
    odd_history: SandboxServer,
) -> None:
    info = odd_history.info()
    control = SandboxControl(odd_history.url)
    catalog = select_only(_catalog(info), "leads")
    control.reset_calls()
    run = run_tap(
        tap_config(info, start_date="2021-01-01T00:00:00Z", probe_data_start=False), catalog
    )
    calls = control.calls()["endpoints"]
    assert len(run.records["leads"]) == 13
    assert not any(path.startswith("GET /rest/v1/leads.json") for path in calls), calls
    # One export per 31-day window from 2021-01-01, the empty ones included.
    days = (dt.datetime.now(dt.UTC) - dt.datetime(2021, 1, 1, tzinfo=dt.UTC)).days
    assert calls["POST /bulk/v1/leads/export/create.json"] >= days // 31


def test_a_refused_probe_falls_back_to_start_date_and_loses_nothing(
    odd_history: SandboxServer,
) -> None:
    info = odd_history.info()
    control = SandboxControl(odd_history.url)
    catalog = select_only(_catalog(info), "leads", "activities_*")
    control.fault(path=r"/rest/v1/leads\.json", code="1003", message="Invalid filter")
    control.fault(path=r"/rest/v1/activities\.json", code="1003", message="Invalid type")
    try:
        control.reset_calls()
        run = run_tap(tap_config(info, start_date="2021-01-01T00:00:00Z"), catalog)
    finally:
        control.clear_faults()
    assert not run.incomplete
    assert len(run.records["leads"]) == 13
    assert [m["activityDate"] for m in run.records["activities_interesting_moment"]] == [
        LONE_ACTIVITY
    ]
    # Without bounds, leads export every window from start_date.
    days = (dt.datetime.now(dt.UTC) - dt.datetime(2021, 1, 1, tzinfo=dt.UTC)).days
    assert control.calls()["endpoints"]["POST /bulk/v1/leads/export/create.json"] >= days // 31
