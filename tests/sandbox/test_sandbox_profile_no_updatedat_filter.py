"""Profile ``no-updatedat-filter``: the bulk updatedAt filter is refused (1035), so a
client finds changed leads in the activity log. Every way a lead's values change logs
the activity Marketo logs for it (Change Data Value with the field, Change Score, Merge
Leads), and the seed's leads changed after creation carry theirs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.profiles import NO_UPDATEDAT_FILTER
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from sandbox_helpers import attrs, error_code

CHANGE_DATA_VALUE, CHANGE_SCORE, MERGE_LEADS = 13, 22, 32
LEAD_CHANGES = (CHANGE_DATA_VALUE, CHANGE_SCORE, MERGE_LEADS)


@pytest.fixture
def api(sandbox: SandboxControl, sandbox_info: dict[str, str]) -> Iterator[SandboxApi]:
    sandbox.use_profiles(NO_UPDATEDAT_FILTER)
    sandbox.configure(rate_limit_calls=5_000)
    client = SandboxApi(sandbox_info)
    yield client
    client.close()


def _lead(server: SandboxServer, lead_id: int) -> dict[str, Any]:
    record = Fixtures(server).lead_record(lead_id)
    assert record is not None
    return record


def _changes(server: SandboxServer, lead_id: int, field: str) -> list[dict[str, Any]]:
    """Change Data Value activities of ``lead_id`` whose changed field is ``field``."""
    return [
        a
        for a in Fixtures(server).activities(lead_id, CHANGE_DATA_VALUE)
        if a.get("primaryAttributeValue") == field
    ]


def _explained(server: SandboxServer, lead: dict[str, Any]) -> bool:
    """Whether a lead-change activity is dated at the lead's updatedAt."""
    return any(
        a["activityDate"] == lead["updatedAt"] and a["activityTypeId"] in LEAD_CHANGES
        for a in Fixtures(server).activities(int(lead["id"]))
    )


def _plain_leads(sandbox: SandboxControl) -> list[dict[str, Any]]:
    return sorted(
        (r for r in sandbox.objects("leads") if not r.get("externalCompanyId") and r.get("email")),
        key=lambda r: r["id"],
    )


def test_the_profile_refuses_the_bulk_updated_at_filter(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    window = {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-20T00:00:00Z"}
    body = {"fields": ["id"], "format": "CSV", "filter": {"updatedAt": window}}
    assert error_code(api.post("/bulk/v1/leads/export/create.json", body)) == "1035"
    car_body = {**body, "fields": ["marketoGUID"]}
    assert error_code(api.post("/bulk/v1/customobjects/car_c/export/create.json", car_body)) == (
        "1035"
    )
    by_created = {**body, "filter": {"createdAt": window}}
    assert api.post("/bulk/v1/leads/export/create.json", by_created)["success"] is True


def test_a_lead_sync_logs_change_data_value_per_changed_field(
    api: SandboxApi, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    lead = _plain_leads(sandbox)[0]
    time.sleep(1.05)  # a later second than the seed's last write
    body = {
        "action": "updateOnly",
        "lookupField": "id",
        "input": [{"id": lead["id"], "title": "Head of Proof", "city": "Lyon"}],
    }
    assert api.post("/rest/v1/leads.json", body)["result"][0]["status"] == "updated"
    after = _lead(sandbox_server, lead["id"])
    assert after["updatedAt"] > lead["updatedAt"]
    for field, value in (("Job Title", "Head of Proof"), ("City", "Lyon")):
        found = _changes(sandbox_server, lead["id"], field)
        assert found, field
        assert found[-1]["activityDate"] == after["updatedAt"]
        assert attrs(found[-1])["New Value"] == value


def test_a_bulk_import_update_logs_change_data_value(
    api: SandboxApi, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    lead = _plain_leads(sandbox)[1]
    time.sleep(1.05)
    reply = api.session.post(
        f"{api.base}/bulk/v1/leads.json",
        params={"format": "csv", "lookupField": "id"},
        files={"file": ("leads.csv", f"id,lastName\n{lead['id']},Imported\n".encode(), "text/csv")},
        timeout=60,
    ).json()
    assert reply["success"], reply
    batch = reply["result"][0]["batchId"]
    deadline = time.monotonic() + 60
    while api.get(f"/bulk/v1/leads/batch/{batch}.json")["result"][0]["status"] != "Complete":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    after = _lead(sandbox_server, lead["id"])
    assert after["lastName"] == "Imported"
    found = _changes(sandbox_server, lead["id"], "Last Name")
    assert found
    assert attrs(found[-1])["New Value"] == "Imported"
    assert _explained(sandbox_server, after)


def test_a_company_change_logs_change_data_value_on_each_linked_lead(
    api: SandboxApi, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    leads = sandbox.objects("leads")
    company = next(
        c
        for c in sandbox.objects("companies")
        if any(r.get("externalCompanyId") == c["externalCompanyId"] for r in leads)
        and c.get("industry") != "Robotics"
    )
    linked = [r for r in leads if r.get("externalCompanyId") == company["externalCompanyId"]]
    time.sleep(1.05)
    body = {
        "action": "updateOnly",
        "dedupeBy": "dedupeFields",
        "input": [{"externalCompanyId": company["externalCompanyId"], "industry": "Robotics"}],
    }
    assert api.post("/rest/v1/companies.json", body)["result"][0]["status"] == "updated"
    for lead in linked:
        after = _lead(sandbox_server, lead["id"])
        assert after["industry"] == "Robotics"
        assert after["updatedAt"] > lead["updatedAt"]
        found = _changes(sandbox_server, lead["id"], "Industry")
        assert found
        assert attrs(found[-1])["New Value"] == "Robotics"
        assert attrs(found[-1])["Old Value"] == lead.get("industry")
        assert _explained(sandbox_server, after)
    # Nothing changed on them: no activity, no new updatedAt.
    again = api.post("/rest/v1/companies.json", body)["result"][0]
    assert again["status"] == "updated"
    for lead in linked:
        assert len(_changes(sandbox_server, lead["id"], "Industry")) == 1


def test_a_merge_logs_merge_leads_on_the_winner_it_changes(
    api: SandboxApi, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    plain = _plain_leads(sandbox)
    winner, loser = plain[2], plain[3]
    Fixtures(sandbox_server).set_lead_fields(winner["id"], rating=None)
    Fixtures(sandbox_server).set_lead_fields(loser["id"], rating="Hot")
    time.sleep(1.05)
    api.post(f"/rest/v1/leads/{winner['id']}/merge.json", None, leadIds=loser["id"])
    after = _lead(sandbox_server, winner["id"])
    assert after["rating"] == "Hot"
    merges = Fixtures(sandbox_server).activities(winner["id"], MERGE_LEADS)
    assert merges
    assert merges[-1]["activityDate"] == after["updatedAt"]
    assert attrs(merges[-1])["Master Updated"] is True


def test_seeded_leads_changed_after_creation_carry_their_change_activity(
    sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    # What a client reading changes from the activity log finds is ground truth: every
    # lead whose updatedAt moved past its createdAt has the change dated there (within
    # the 90 days Marketo keeps change activities).
    kept = (dt.datetime.now(dt.UTC) - dt.timedelta(days=85)).strftime("%Y-%m-%dT%H:%M:%SZ")
    leads = sandbox.objects("leads")
    changed = [r for r in leads if r["updatedAt"] > r["createdAt"]]
    recent = [r for r in changed if r["updatedAt"] >= kept]
    assert len(changed) >= len(leads) // 5, "the seed changes a good share of its leads"
    assert recent, "some within the retention window"
    unexplained = [r["id"] for r in recent if not _explained(sandbox_server, r)]
    assert not unexplained, unexplained
