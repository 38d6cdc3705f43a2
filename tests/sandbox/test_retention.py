"""Activity retention, as every real Marketo instance applies it: Delete Lead after 14 days,
the high-volume types after 90 days, the rest after 25 months (docs/MARKETO.md section 9),
on the sandbox clock, in REST reads, bulk exports and the ground truth alike."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marketo_sandbox import SandboxServer, cli
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain import retention
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.leads import FIELD_SPECS
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from sandbox_helpers import make_lead

DAY = 86400.0


class Api(SandboxApi):
    def read(self, path: str, since: datetime, **params: Any) -> list[dict[str, Any]]:
        """Every item of an activity read from ``since`` (all pages)."""
        token = self.get(
            "/rest/v1/activities/pagingtoken.json",
            sinceDatetime=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )["nextPageToken"]
        out: list[dict[str, Any]] = []
        for _ in range(1000):
            body = self.get(path, nextPageToken=token, **params)
            assert body["success"] is True, body
            out += body.get("result", [])
            token = body["nextPageToken"]
            if not body["moreResult"]:
                return out
        raise AssertionError("paging never ended")

    def export_guids(self, start: datetime, end: datetime, type_ids: list[int]) -> set[str]:
        """marketoGUIDs in a bulk activity export of ``start``..``end``."""
        body = {
            "format": "CSV",
            "fields": ["marketoGUID", "activityTypeId"],
            "filter": {
                "createdAt": {"startAt": iso(start), "endAt": iso(end)},
                "activityTypeIds": type_ids,
            },
        }
        created = self.post("/bulk/v1/activities/export/create.json", body)
        assert created["success"], created
        export_id = created["result"][0]["exportId"]
        assert self.post(f"/bulk/v1/activities/export/{export_id}/enqueue.json")["success"]
        deadline = time.monotonic() + 60
        while True:
            status = self.get(f"/bulk/v1/activities/export/{export_id}/status.json")["result"][0]
            if status["status"] == "Completed":
                break
            assert status["status"] in ("Queued", "Processing"), status
            assert time.monotonic() < deadline
            time.sleep(0.02)
        if not status["numberOfRecords"]:
            return set()
        text = self.request("GET", f"/bulk/v1/activities/export/{export_id}/file.json").text
        return {row["marketoGUID"] for row in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def api(sandbox: SandboxControl, sandbox_info: dict[str, str]) -> Api:
    sandbox.configure(rate_limit_calls=5_000)
    return Api(sandbox_info)


def move_clock(sandbox: SandboxControl, api: Api, days: float) -> None:
    """The sandbox clock ``days`` ahead (its access token expires with it: fetch another)."""
    sandbox.configure(clock_offset_seconds=days * DAY)
    api.renew()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(server: SandboxServer) -> float:
    store = server.store
    assert store is not None
    return store.now()


def guids(items: list[dict[str, Any]]) -> set[str]:
    return {str(i["marketoGUID"]) for i in items}


def truth_guids(sandbox: SandboxControl, kind: str) -> set[str]:
    return guids(sandbox.objects(kind))


def test_retention_is_on_by_default_with_adobes_periods(sandbox: SandboxControl) -> None:
    config = sandbox.config()
    assert config["activity_retention"] is True
    assert config["activity_retention_months"] == 25


def test_moving_the_clock_prunes_each_type_after_its_period(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    fixtures = Fixtures(sandbox_server)
    lead = make_lead(sandbox_server, tag="retention")
    now = clock(sandbox_server)
    # Logged in date order: activity ids grow with dates, as paging tokens expect.
    # A New Lead activity is never pruned, however old.
    born = fixtures.activity(lead, at.NEW_LEAD, when=now - 900 * DAY)
    # 80 days old: a 90-day type and a 25-month type, both still served today.
    visit = fixtures.activity(
        lead, at.VISIT_WEBPAGE, primary_attribute_value="home.html", when=now - 80 * DAY
    )
    opened = fixtures.activity(
        lead, at.OPEN_EMAIL, primary_attribute_value="Newsletter", when=now - 80 * DAY
    )
    since = datetime.fromtimestamp(now - 1000 * DAY, tz=UTC)
    types = {"activityTypeIds": [at.VISIT_WEBPAGE, at.OPEN_EMAIL, at.NEW_LEAD], "leadIds": lead}
    mine = {str(visit["id"]), str(opened["id"]), str(born["id"])}
    assert guids(api.read("/rest/v1/activities.json", since, **types)) == mine
    assert mine <= truth_guids(sandbox, "activities")

    # Eleven days later the Visit Webpage is 91 days old: gone from every read.
    move_clock(sandbox, api, 11)
    kept = {str(opened["id"]), str(born["id"])}
    assert guids(api.read("/rest/v1/activities.json", since, **types)) == kept
    truth = truth_guids(sandbox, "activities")
    assert kept <= truth
    assert str(visit["id"]) not in truth
    start = datetime.fromtimestamp(now - 85 * DAY, tz=UTC)
    exported = api.export_guids(
        start, start + timedelta(days=30), [at.VISIT_WEBPAGE, at.OPEN_EMAIL]
    )
    assert str(opened["id"]) in exported
    assert str(visit["id"]) not in exported

    # Rows are hidden at read time, never deleted: retention off shows them again.
    sandbox.configure(activity_retention=False)
    assert guids(api.read("/rest/v1/activities.json", since, **types)) == mine


def test_deleted_leads_vanish_after_14_days(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    lead = make_lead(sandbox_server, tag="retention-delete")
    reply = api.post("/rest/v1/leads/delete.json", {"input": [{"id": lead}]})
    assert reply["success"], reply
    now = clock(sandbox_server)
    since = datetime.fromtimestamp(now - DAY, tz=UTC)
    deleted = [
        d for d in api.read("/rest/v1/activities/deletedleads.json", since) if d["leadId"] == lead
    ]
    assert len(deleted) == 1
    assert str(deleted[0]["marketoGUID"]) in truth_guids(sandbox, "deleted_leads")

    move_clock(sandbox, api, 13)
    assert [
        d for d in api.read("/rest/v1/activities/deletedleads.json", since) if d["leadId"] == lead
    ]

    move_clock(sandbox, api, 15)
    assert not [
        d for d in api.read("/rest/v1/activities/deletedleads.json", since) if d["leadId"] == lead
    ]
    assert str(deleted[0]["marketoGUID"]) not in truth_guids(sandbox, "deleted_leads")


def test_lead_changes_lose_change_data_value_after_90_days_but_keep_new_lead(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    fixtures = Fixtures(sandbox_server)
    lead = make_lead(sandbox_server, tag="retention-changes")
    now = clock(sandbox_server)
    born = fixtures.activity(lead, at.NEW_LEAD, when=now - 95 * DAY)
    changed = fixtures.activity(
        lead,
        at.CHANGE_DATA_VALUE,
        primary_attribute_value_id=FIELD_SPECS["title"].id,
        primary_attribute_value="Job Title",
        attributes={"New Value": "CMO", "Old Value": "VP"},
        when=now - 95 * DAY,
    )
    since = datetime.fromtimestamp(now - 100 * DAY, tz=UTC)
    changes = api.read("/rest/v1/activities/leadchanges.json", since, fields="title", leadIds=lead)
    assert guids(changes) == {str(born["id"])}
    assert str(changed["id"]) not in truth_guids(sandbox, "activities")


def test_the_other_types_follow_activity_retention_months(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    fixtures = Fixtures(sandbox_server)
    lead = make_lead(sandbox_server, tag="retention-months")
    now = clock(sandbox_server)
    old = fixtures.activity(
        lead, at.FILL_OUT_FORM, primary_attribute_value="Contact Us", when=now - 30 * 31 * DAY
    )
    since = datetime.fromtimestamp(now - 40 * 31 * DAY, tz=UTC)
    params = {"activityTypeIds": at.FILL_OUT_FORM, "leadIds": lead}
    assert api.read("/rest/v1/activities.json", since, **params) == []
    # Adobe's extended retention keeps 37 months.
    sandbox.configure(activity_retention_months=37)
    assert guids(api.read("/rest/v1/activities.json", since, **params)) == {str(old["id"])}


def test_the_seed_holds_only_what_marketo_still_serves(
    sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    store = sandbox_server.store
    assert store is not None
    cutoffs = retention.cutoffs(SandboxConfig(), clock(sandbox_server))
    assert cutoffs is not None
    rows = store.query("SELECT id, activityTypeId, activityDate FROM activities")
    stale = [dict(r) for r in rows if not cutoffs.kept(r["activityTypeId"], r["activityDate"])]
    assert stale == []
    # ...so the ground truth is the whole stored activity log.
    assert len(sandbox.objects("activities")) == len(rows)
    # The seed still has every retention class.
    types = {r["activityTypeId"] for r in rows}
    assert {at.DELETE_LEAD, at.VISIT_WEBPAGE, at.NEW_LEAD, at.OPEN_EMAIL} <= types


def test_the_command_line_sets_retention() -> None:
    default = cli.config_from_args(cli._parser().parse_args(["serve"]))
    assert default.activity_retention is True
    changed = cli.config_from_args(
        cli._parser().parse_args(
            ["serve", "--no-activity-retention", "--activity-retention-months", "37"]
        )
    )
    assert changed.activity_retention is False
    assert changed.activity_retention_months == 37


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert retention.months_before(moment, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert retention.months_before(moment, 25) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert retention.months_before(moment, 12) == datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
