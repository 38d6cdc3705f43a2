"""Profile ``partitions``: the API user's role reaches the Default and EMEA lead partitions,
not APAC. REST reads about leads (by filter, by id, activities, list and program members)
leave APAC's leads out; writes into APAC or onto an APAC lead are refused with 1008; bulk
exports serve every lead; the control API's ground truth keeps every lead."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.domain.leads import API_ROLE_PARTITIONS
from marketo_sandbox.model.leads import LEAD_PARTITIONS
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from sandbox_helpers import statuses

APAC = next(p["id"] for p in LEAD_PARTITIONS if p["name"] == "APAC")


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


def _partition(lead: dict[str, Any]) -> int:
    return int(lead.get("leadPartitionId") or 1)


def _split(sandbox: SandboxControl) -> tuple[list[int], list[int]]:
    """(ids the role sees, ids in APAC) among the living leads."""
    leads = sandbox.objects("leads")
    hidden = sorted(lead["id"] for lead in leads if _partition(lead) == APAC)
    seen = sorted(lead["id"] for lead in leads if _partition(lead) != APAC)
    return seen, hidden


def _read_ids(api: SandboxApi, ids: list[int]) -> list[int]:
    found: list[int] = []
    for start in range(0, len(ids), 300):
        chunk = ",".join(str(i) for i in ids[start : start + 300])
        body = api.get("/rest/v1/leads.json", filterType="id", filterValues=chunk)
        assert body["success"] is True, body
        found += [r["id"] for r in body.get("result") or []]
    return sorted(found)


def test_the_seed_holds_leads_in_three_partitions(sandbox: SandboxControl) -> None:
    counts: dict[int, int] = {}
    for lead in sandbox.objects("leads"):
        counts[_partition(lead)] = counts.get(_partition(lead), 0) + 1
    assert set(counts) == {1, 2, 3}, counts
    assert API_ROLE_PARTITIONS == ("Default", "EMEA")


def test_rest_lead_reads_leave_hidden_partitions_out(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    seen, hidden = _split(sandbox)
    assert hidden
    everyone = sorted(seen + hidden)
    assert _read_ids(api, everyone) == everyone
    sandbox.use_profiles(PARTITIONS)
    assert _read_ids(api, everyone) == seen
    assert api.get(f"/rest/v1/lead/{hidden[0]}.json")["result"] == []
    assert api.get(f"/rest/v1/lead/{seen[0]}.json")["result"][0]["id"] == seen[0]
    by_partition = api.get("/rest/v1/leads.json", filterType="leadPartitionId", filterValues="3")
    assert by_partition.get("result") in (None, [])
    # The control API is ground truth: every lead, whatever the role sees.
    assert sorted(lead["id"] for lead in sandbox.objects("leads")) == everyone


def test_activities_of_hidden_leads_are_left_out(api: SandboxApi, sandbox: SandboxControl) -> None:
    _, hidden = _split(sandbox)
    sandbox.use_profiles(PARTITIONS)
    token = api.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="2000-01-01")[
        "nextPageToken"
    ]
    lead_ids: set[int] = set()
    while True:
        page = api.get("/rest/v1/activities.json", activityTypeIds="12", nextPageToken=token)
        lead_ids.update(a["leadId"] for a in page.get("result") or [])
        if not page["moreResult"]:
            break
        token = page["nextPageToken"]
    assert lead_ids
    assert not lead_ids & set(hidden)


def test_list_and_program_members_leave_hidden_leads_out(
    api: SandboxApi, sandbox_server: SandboxServer, sandbox: SandboxControl
) -> None:
    seen, hidden = _split(sandbox)
    fixtures = Fixtures(sandbox_server)
    list_id = sandbox.objects("lists")[0]["id"]
    program_id = sandbox.objects("programs")[0]["id"]
    fixtures.list_member(list_id, hidden[0])
    fixtures.list_member(list_id, seen[0])
    fixtures.program_member(program_id, hidden[0], statusName="Member")
    sandbox.use_profiles(PARTITIONS)

    members = _all_pages(api, f"/rest/v1/lists/{list_id}/leads.json", {})
    assert seen[0] in members
    assert hidden[0] not in members
    program_members = _all_pages(
        api,
        f"/rest/v1/programs/{program_id}/members.json",
        {"filterType": "leadId", "filterValues": f"{hidden[0]},{seen[0]}"},
        key="leadId",
    )
    assert hidden[0] not in program_members
    assert fixtures.memberships(hidden[0])[0], "the membership itself is still there"


def _all_pages(api: SandboxApi, path: str, params: dict[str, Any], key: str = "id") -> list[int]:
    out: list[int] = []
    token = None
    while True:
        body = api.get(path, **params, **({"nextPageToken": token} if token else {}))
        assert body["success"] is True, body
        out += [r[key] for r in body.get("result") or []]
        token = body.get("nextPageToken")
        if not token or not body.get("moreResult", True) or not body.get("result"):
            return out


def test_writes_into_or_onto_a_hidden_partition_are_refused_with_1008(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    _, hidden = _split(sandbox)
    apac_lead = next(lead for lead in sandbox.objects("leads") if lead["id"] == hidden[0])
    sandbox.use_profiles(PARTITIONS)
    into = api.post(
        "/rest/v1/leads.json", {"partitionName": "APAC", "input": [{"email": "new@apac.example"}]}
    )
    assert statuses(into) == [("skipped", "1008")]
    assert into["result"][0]["reasons"][0]["message"] == "Access denied to partition 'APAC'"
    onto = api.post(
        "/rest/v1/leads.json",
        {"lookupField": "id", "action": "updateOnly", "input": [{"id": hidden[0], "title": "X"}]},
    )
    assert statuses(onto) == [("skipped", "1008")]
    if apac_lead.get("email"):
        by_email = api.post(
            "/rest/v1/leads.json", {"input": [{"email": apac_lead["email"], "title": "X"}]}
        )
        assert statuses(by_email) == [("skipped", "1008")]
    deleted = api.post("/rest/v1/leads/delete.json", {"input": [{"id": hidden[0]}]})
    assert statuses(deleted) == [("skipped", "1008")]
    allowed = api.post(
        "/rest/v1/leads.json", {"partitionName": "EMEA", "input": [{"email": "new@emea.example"}]}
    )
    assert statuses(allowed) == [("created", None)]
    assert next(
        lead for lead in sandbox.objects("leads") if lead["id"] == hidden[0]
    ).get("title") == apac_lead.get("title")


def test_bulk_lead_export_ignores_the_role(
    api: SandboxApi, sandbox_server: SandboxServer, sandbox: SandboxControl
) -> None:
    fixtures = Fixtures(sandbox_server)
    hidden_new = fixtures.lead(leadPartitionId=APAC)
    seen_new = fixtures.lead(leadPartitionId=1)
    sandbox.use_profiles(PARTITIONS)
    assert _read_ids(api, [hidden_new, seen_new]) == [seen_new]
    window = _last_month()
    exported = _export(api, {"fields": ["id"], "filter": {"createdAt": window}})
    assert {hidden_new, seen_new} <= set(exported)
    in_window = {
        lead["id"]
        for lead in sandbox.objects("leads")
        if window["startAt"] <= lead["createdAt"] <= window["endAt"]
    }
    assert set(exported) == in_window


def _last_month() -> dict[str, str]:
    now = time.time()
    return {
        "startAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30 * 86400)),
        "endAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60)),
    }


def _export(api: SandboxApi, body: dict[str, Any]) -> list[int]:
    created = api.post("/bulk/v1/leads/export/create.json", body)
    assert created["success"] is True, created
    export_id = created["result"][0]["exportId"]
    api.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")
    for _ in range(200):
        status = api.get(f"/bulk/v1/leads/export/{export_id}/status.json")["result"][0]
        if status["status"] == "Completed":
            break
        time.sleep(0.05)
    text = api.request("GET", f"/bulk/v1/leads/export/{export_id}/file.json").text
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(text))]
