"""Static lists and their membership, and smart campaigns (read, request, schedule), as
Marketo's lead database API serves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxApi, SandboxControl
from marketorestpython.client import MarketoClient
from sandbox_helpers import activities, error_code, make_lead, statuses_with_ids


class Api(SandboxApi):
    """Plain HTTP against the sandbox."""

    def delete(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        return self.session.delete(self.base + path, json=body, params=params, timeout=30).json()


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Api:
    return Api(sandbox_info)






def read_all(api: Api, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a nextPageToken-paged read, and how many calls it took."""
    items: list[dict[str, Any]] = []
    token = None
    calls = 0
    while True:
        page = api.get(path, **params, **({"nextPageToken": token} if token else {}))
        assert page["success"] is True, page
        calls += 1
        items += page["result"]
        token = page.get("nextPageToken")
        if not token:
            return items, calls


# -- static lists ----------------------------------------------------------------------


def test_lists_page_and_filter(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("lists")
    assert len(truth) >= 3
    items, calls = read_all(api, "/rest/v1/lists.json", batchSize=2)
    assert items == truth
    assert calls == (len(truth) + 1) // 2
    for item in items:
        assert set(item) >= {"id", "name", "workspaceName", "createdAt", "updatedAt"}

    picked = truth[1]
    assert api.get("/rest/v1/lists.json", name=picked["name"])["result"] == [picked]
    by_ids = api.get("/rest/v1/lists.json", id=f"{truth[0]['id']},{truth[2]['id']}")
    assert [x["id"] for x in by_ids["result"]] == [truth[0]["id"], truth[2]["id"]]
    in_programs = [x for x in truth if x.get("programName")]
    if in_programs:
        got = api.get("/rest/v1/lists.json", programName=in_programs[0]["programName"])
        assert in_programs[0] in got["result"]
        assert all(x["programName"] == in_programs[0]["programName"] for x in got["result"])
    assert api.get("/rest/v1/lists.json", workspaceName="Elsewhere")["result"] == []


def test_list_by_id(api: Api, sandbox: SandboxControl) -> None:
    item = sandbox.objects("lists")[0]
    assert api.get(f"/rest/v1/lists/{item['id']}.json")["result"] == [item]
    assert error_code(api.get("/rest/v1/lists/999999.json")) == "1013"


def test_add_check_read_and_remove_members(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    item = sandbox.objects("lists")[0]
    path = f"/rest/v1/lists/{item['id']}/leads.json"
    a, b, outsider = (make_lead(sandbox_server) for _ in range(3))

    added = api.post(path, {"input": [{"id": a}, {"id": b}, {"id": 99_999_999}]})
    assert statuses_with_ids(added) == [(a, "added", None), (b, "added", None),
                               (99_999_999, "skipped", "1004")]
    (activity,) = activities(sandbox_server, a, 24)
    assert activity["primaryAttributeValueId"] == item["id"]
    assert activity["primaryAttributeValue"] == item["name"]
    details = {x["name"]: x["value"] for x in activity["attributes"]}
    assert details["API Method Name"] == "addLeadsToList"
    assert details["Request Id"] == added["requestId"]
    # Adding a member again changes nothing and records nothing.
    assert statuses_with_ids(api.post(path, {"input": [{"id": a}]})) == [(a, "added", None)]
    assert len(activities(sandbox_server, a, 24)) == 1

    member = api.get(f"/rest/v1/lists/{item['id']}/leads/ismember.json", id=f"{a},{outsider},0")
    assert statuses_with_ids(member) == [(a, "memberof", None), (outsider, "notmemberof", None),
                                (0, "skipped", "1004")]

    leads, _ = read_all(api, path, batchSize=1, fields="email,lastName")
    mine = {x["id"]: x for x in leads if x["id"] in (a, b)}
    assert mine[a] == {"id": a, "email": f"crm-test-{a}@example.com", "lastName": f"Lead{a}"}
    assert set(mine) == {a, b}
    legacy, _ = read_all(api, f"/rest/v1/list/{item['id']}/leads.json")
    assert [x["id"] for x in legacy] == [x["id"] for x in leads]
    # Default fields when none are asked for.
    assert set(legacy[0]) == {"id", "email", "updatedAt", "createdAt", "firstName", "lastName"}

    removed = api.delete(path, {"input": [{"id": a}, {"id": outsider}, {"id": 99_999_999}]})
    assert statuses_with_ids(removed) == [(a, "removed", None), (outsider, "skipped", "1015"),
                                 (99_999_999, "skipped", "1004")]
    (gone,) = activities(sandbox_server, a, 25)
    assert gone["primaryAttributeValue"] == item["name"]
    truth = sandbox.objects("list_members")
    assert {"listId": item["id"], "leadId": b} in [
        {"listId": m["listId"], "leadId": m["leadId"]} for m in truth
    ]
    assert all(not (m["listId"] == item["id"] and m["leadId"] == a) for m in truth)


def test_list_membership_by_id_parameters(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    item = sandbox.objects("lists")[1]
    path = f"/rest/v1/lists/{item['id']}/leads.json"
    lead_id = make_lead(sandbox_server)
    assert statuses_with_ids(api.post(path, id=str(lead_id))) == [(lead_id, "added", None)]
    assert statuses_with_ids(api.delete(path, id=str(lead_id))) == [(lead_id, "removed", None)]
    assert error_code(api.post(path)) == "1003"
    too_many = {"input": [{"id": i} for i in range(1, 302)]}
    assert error_code(api.post(path, too_many)) == "1003"
    unknown = api.post("/rest/v1/lists/999999/leads.json", {"input": [{"id": 1}]})
    assert error_code(unknown) == "1013"


def test_marketorestpython_list_membership(
    sandbox_info: dict[str, str], sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    mc = MarketoClient("123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"])
    mc.host = sandbox_info["endpoint"]
    item = sandbox.objects("lists")[0]
    lead_id = make_lead(sandbox_server)
    assert mc.execute(method="add_leads_to_list", listId=item["id"], id=[lead_id]) == [
        {"id": lead_id, "status": "added"}
    ]
    assert mc.execute(method="member_of_list", listId=item["id"], id=[lead_id]) == [
        {"id": lead_id, "status": "memberof"}
    ]
    members = mc.execute(method="get_multiple_leads_by_list_id", listId=item["id"],
                         fields=["email"], batchSize=2)
    assert lead_id in [m["id"] for m in members]
    assert mc.execute(method="remove_leads_from_list", listId=item["id"], id=[lead_id]) == [
        {"id": lead_id, "status": "removed"}
    ]
    assert [x["id"] for x in mc.execute(method="get_multiple_lists", batchSize=2)] == [
        x["id"] for x in sandbox.objects("lists")
    ]


# -- campaigns -------------------------------------------------------------------------


def _requestable(api: Api) -> dict[str, Any]:
    triggerable = api.get("/rest/v1/campaigns.json", isTriggerable="true")["result"]
    assert triggerable, "the seed always has a requestable campaign"
    return triggerable[0]


def test_campaigns_read_and_filter(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("campaigns")
    items, calls = read_all(api, "/rest/v1/campaigns.json", batchSize=4)
    assert items == truth
    assert calls == (len(truth) + 3) // 4
    assert {c["type"] for c in truth} == {"batch", "trigger"}
    triggerable = api.get("/rest/v1/campaigns.json", isTriggerable="true")["result"]
    assert triggerable
    assert all(c["type"] == "trigger" and c["active"] for c in triggerable)
    assert len(triggerable) < len(truth)
    one = truth[-1]
    assert api.get(f"/rest/v1/campaigns/{one['id']}.json")["result"] == [one]
    assert api.get("/rest/v1/campaigns.json", name=one["name"])["result"] == [one]
    assert error_code(api.get("/rest/v1/campaigns/999999.json")) == "1013"
    with_program = [c for c in truth if c.get("programName")]
    if with_program:
        got = api.get("/rest/v1/campaigns.json", programName=with_program[0]["programName"])
        assert with_program[0] in got["result"]


def test_request_campaign_records_the_request(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    campaign = _requestable(api)
    lead_a, lead_b = make_lead(sandbox_server), make_lead(sandbox_server)
    response = api.post(f"/rest/v1/campaigns/{campaign['id']}/trigger.json", {"input": {
        "leads": [{"id": lead_a}, {"id": 99_999_999}, {"id": lead_b}],
        "tokens": [{"name": "{{my.message}}", "value": "Hello"}],
    }})
    assert response["success"] is True
    assert response["result"] == [{"id": campaign["id"]}]
    (request,) = sandbox.objects("campaign_requests")
    assert request["type"] == "trigger"
    assert request["campaignId"] == campaign["id"]
    assert request["leadIds"] == [lead_a, lead_b]
    assert request["skippedLeadIds"] == [99_999_999]
    assert request["tokens"] == [{"name": "{{my.message}}", "value": "Hello"}]


def test_request_campaign_refusals(api: Api, sandbox: SandboxControl) -> None:
    campaign = _requestable(api)
    path = f"/rest/v1/campaigns/{campaign['id']}/trigger.json"
    batch = next(c for c in sandbox.objects("campaigns") if c["type"] == "batch")
    assert error_code(api.post(f"/rest/v1/campaigns/{batch['id']}/trigger.json",
                               {"input": {"leads": [{"id": 1}]}})) == "1003"
    # An active trigger campaign still needs a "Campaign is Requested" trigger.
    requestable = {c["id"] for c in api.get("/rest/v1/campaigns.json",
                                            isTriggerable="true")["result"]}
    other = next(c for c in sandbox.objects("campaigns")
                 if c["type"] == "trigger" and c["active"] and c["id"] not in requestable)
    assert error_code(api.post(f"/rest/v1/campaigns/{other['id']}/trigger.json",
                               {"input": {"leads": [{"id": 1}]}})) == "1003"
    too_many = {"input": {"leads": [{"id": i} for i in range(101)]}}
    assert error_code(api.post(path, too_many)) == "1003"
    assert error_code(api.post(path, {"input": {"leads": []}})) == "1003"
    assert error_code(api.post(path, {"input": {"leads": [{"id": 1}],
                                                "tokens": [{"name": "message", "value": "x"}]}}
                               )) == "1003"
    assert error_code(api.post("/rest/v1/campaigns/999999/trigger.json",
                               {"input": {"leads": [{"id": 1}]}})) == "1013"
    assert sandbox.objects("campaign_requests") == []


def test_schedule_batch_campaign(api: Api, sandbox: SandboxControl) -> None:
    batch = next(c for c in sandbox.objects("campaigns") if c["type"] == "batch")
    path = f"/rest/v1/campaigns/{batch['id']}/schedule.json"
    run_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = api.post(path, {"input": {
        "runAt": run_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "tokens": [{"name": "{{my.offer}}", "value": "20%"}],
    }})
    assert response["result"] == [{"id": batch["id"]}]
    # Without a body the run is five minutes out.
    assert api.post(path)["success"] is True
    first, second = sandbox.objects("campaign_requests")
    assert first["type"] == "schedule"
    assert first["runAt"] == run_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["tokens"] == [{"name": "{{my.offer}}", "value": "20%"}]
    assert second["runAt"] > second["requestedAt"]

    far = (datetime.now(UTC) + timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error_code(api.post(path, {"input": {"runAt": far}})) == "1042"
    trigger = _requestable(api)
    assert error_code(api.post(f"/rest/v1/campaigns/{trigger['id']}/schedule.json")) == "1003"
