"""The sandbox's activity feed behaves as Marketo's: types, date paging tokens, range
pages that may be empty while moreResult is true, lead changes and deleted leads, and a
seeded history whose ids follow its dates."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from marketo_sandbox.model.activity_types import ACTIVITY_TYPES_BY_ID
from marketo_sandbox.model.leads import FIELD_SPECS_BY_ID, activity_text
from marketo_sandbox.testing import SandboxApi, SandboxControl
from marketorestpython.client import MarketoClient
from sandbox_helpers import error_code

STANDARD_TYPE_IDS = {
    1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 21, 22, 23, 24, 25, 27, 32, 34, 35, 36, 37, 46, 101,
    104, 110, 113, 114, 115,
}  # fmt: skip


class Api(SandboxApi):

    def paging_token(self, since: str) -> str:
        body = self.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=since)
        assert body["success"] is True, body
        return str(body["nextPageToken"])

    def pages(self, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of an activity read, until moreResult is false."""
        pages = []
        for _ in range(10_000):
            body = self.get(path, nextPageToken=token, **params)
            assert body["success"] is True, body
            assert "nextPageToken" in body
            assert isinstance(body["moreResult"], bool)
            pages.append(body)
            token = body["nextPageToken"]
            if not body["moreResult"]:
                return pages
        raise AssertionError("paging never ended")


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Api:
    return Api(sandbox_info)



def items(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page.get("result", [])]


# -- types -----------------------------------------------------------------------------


def test_activity_types_cover_the_standard_ids_and_custom_types(api: Api) -> None:
    body = api.get("/rest/v1/activities/types.json")
    types = {t["id"]: t for t in body["result"]}
    assert set(types) >= STANDARD_TYPE_IDS
    for item in types.values():
        assert item["name"]
        assert item["description"]
        assert all(set(a) >= {"name", "dataType"} for a in item["attributes"])
    # New Lead has no primary attribute in Marketo's own listing.
    assert "primaryAttribute" not in types[12]
    assert types[13]["primaryAttribute"]["name"] == "Attribute Name"
    assert {"New Value", "Old Value", "Reason", "Source"} <= {
        a["name"] for a in types[13]["attributes"]
    }
    assert {"New Status ID", "Old Status ID", "Success", "Program Member ID"} <= {
        a["name"] for a in types[104]["attributes"]
    }
    custom = [t for t in types.values() if t["id"] >= 100000]
    assert len(custom) >= 2
    for item in custom:
        assert item["apiName"].endswith("_c")
        assert len({a["dataType"] for a in item["attributes"]}) >= 4


# -- paging tokens ---------------------------------------------------------------------


def test_paging_token_needs_a_valid_date(api: Api) -> None:
    body = api.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="last tuesday")
    assert error_code(body) == "1001"
    assert error_code(api.get("/rest/v1/activities/pagingtoken.json")) == "1003"


def test_a_token_from_a_date_starts_at_the_first_activity_on_or_after_it(
    api: Api, sandbox: SandboxControl
) -> None:
    truth = sandbox.objects("activities")
    middle = truth[len(truth) // 2]
    since = middle["activityDate"]
    first = next(a for a in truth if a["activityDate"] >= since)
    body = api.get(
        "/rest/v1/activities.json",
        nextPageToken=api.paging_token(since.replace("Z", "+00:00")),
        activityTypeIds=",".join(str(t) for t in sorted({a["activityTypeId"] for a in truth})[:10]),
        batchSize=1,
    )
    types = sorted({a["activityTypeId"] for a in truth})[:10]
    expected = next(a for a in truth if a["id"] >= first["id"] and a["activityTypeId"] in types)
    assert body["result"][0] == expected


# -- activities.json -------------------------------------------------------------------


def test_activities_parameters_are_checked(api: Api) -> None:
    token = api.paging_token("2020-01-01T00:00:00Z")
    assert error_code(api.get("/rest/v1/activities.json", nextPageToken=token)) == "1003"
    eleven = ",".join(str(t) for t in sorted(STANDARD_TYPE_IDS)[:11])
    assert (
        error_code(api.get("/rest/v1/activities.json", nextPageToken=token, activityTypeIds=eleven))
        == "1003"
    )
    leads = ",".join(str(i) for i in range(1, 32))
    assert (
        error_code(
            api.get(
                "/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1", leadIds=leads
            )
        )
        == "1003"
    )
    body = api.get("/rest/v1/activities.json", nextPageToken="not-a-token", activityTypeIds="1")
    assert error_code(body) == "1003"


def test_all_pages_together_equal_the_ground_truth_for_those_types(
    api: Api, sandbox: SandboxControl
) -> None:
    wanted = [1, 12, 13, 100001]
    truth = [a for a in sandbox.objects("activities") if a["activityTypeId"] in wanted]
    pages = api.pages(
        "/rest/v1/activities.json",
        api.paging_token("2000-01-01T00:00:00Z"),
        activityTypeIds=",".join(map(str, wanted)),
        batchSize=100,
    )
    assert len(pages) > 1
    assert all(len(p.get("result", [])) <= 100 for p in pages)
    assert items(pages) == truth
    assert pages[-1]["moreResult"] is False


def test_sparse_types_give_empty_pages_with_more_result_true(
    api: Api, sandbox: SandboxControl
) -> None:
    # A small scan window makes the range paging visible on the small seed.
    sandbox.configure(extra={"activity_scan_window": 25})
    truth = [a for a in sandbox.objects("activities") if a["activityTypeId"] == 32]
    assert truth
    pages = api.pages(
        "/rest/v1/activities.json", api.paging_token("2000-01-01T00:00:00Z"), activityTypeIds="32"
    )
    empty_but_more = [p for p in pages if not p.get("result") and p["moreResult"]]
    assert empty_but_more
    assert all("result" not in p for p in empty_but_more)
    assert items(pages) == truth


def test_lead_ids_filter_returns_only_those_leads(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("activities")
    by_lead: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for activity in truth:
        if activity["activityTypeId"] in (1, 6, 12):
            by_lead[activity["leadId"]].append(activity)
    chosen = sorted(by_lead, key=lambda lead: -len(by_lead[lead]))[:3]
    pages = api.pages(
        "/rest/v1/activities.json",
        api.paging_token("2000-01-01T00:00:00Z"),
        activityTypeIds="1,6,12",
        leadIds=",".join(map(str, chosen)),
    )
    expected = sorted((a for lead in chosen for a in by_lead[lead]), key=lambda a: a["id"])
    assert items(pages) == expected


def test_a_caught_up_reader_resumes_with_its_last_token(api: Api) -> None:
    pages = api.pages(
        "/rest/v1/activities.json", api.paging_token("2000-01-01T00:00:00Z"), activityTypeIds="12"
    )
    resume = pages[-1]["nextPageToken"]
    (item,) = api.post("/rest/v1/leads.json", {"input": [{"email": "later@example.com"}]})["result"]
    later = items(api.pages("/rest/v1/activities.json", resume, activityTypeIds="12"))
    assert [a["leadId"] for a in later] == [item["id"]]


def test_seeded_history_has_ids_in_date_order_and_activities_of_live_leads(
    sandbox: SandboxControl,
) -> None:
    truth = sandbox.objects("activities")
    assert [a["id"] for a in truth] == sorted(a["id"] for a in truth)
    assert [a["activityDate"] for a in truth] == sorted(a["activityDate"] for a in truth)
    assert all(a["marketoGUID"] == str(a["id"]) for a in truth)
    live = {lead["id"] for lead in sandbox.objects("leads")}
    orphans = [a for a in truth if a["leadId"] not in live and a["activityTypeId"] != 37]
    assert orphans == []
    # Every live seeded lead has its New Lead; custom activity types are in the mix.
    new_leads = {a["leadId"] for a in truth if a["activityTypeId"] == 12}
    assert live <= new_leads
    assert {100001, 100002} <= {a["activityTypeId"] for a in truth}


def test_seeded_leads_hold_the_values_their_last_change_activities_set(
    sandbox: SandboxControl,
) -> None:
    truth = sandbox.objects("activities")
    merged = {a["leadId"] for a in truth if a["activityTypeId"] == 32}
    last: dict[tuple[int, str], Any] = {}
    for activity in truth:
        if activity["activityTypeId"] in (13, 22) and activity["leadId"] not in merged:
            field = FIELD_SPECS_BY_ID[activity["primaryAttributeValueId"]].name
            values = {a["name"]: a["value"] for a in activity["attributes"]}
            last[activity["leadId"], field] = (values["New Value"], activity["activityDate"])
    assert len(last) > 20
    leads = {lead["id"]: lead for lead in sandbox.objects("leads")}
    for (lead_id, field), (value, date) in last.items():
        lead = leads[lead_id]
        assert activity_text(lead[field]) == activity_text(value), (lead_id, field)
        assert lead["updatedAt"] >= date


# -- lead changes and deleted leads ----------------------------------------------------


def test_lead_changes_show_field_changes_and_new_leads(api: Api, sandbox: SandboxControl) -> None:
    lead = next(x for x in sandbox.objects("leads") if x["email"] and x["firstName"])
    token = api.paging_token(sandbox.objects("activities")[-1]["activityDate"])
    api.post(
        "/rest/v1/leads.json",
        {"input": [{"email": lead["email"], "firstName": "Renamed", "title": "New Title"}]},
    )
    (created,) = api.post("/rest/v1/leads.json", {"input": [{"email": "brand.new@example.com"}]})[
        "result"
    ]
    changes = items(api.pages("/rest/v1/activities/leadchanges.json", token, fields="firstName"))
    mine = [c for c in changes if c["leadId"] == lead["id"]]
    # Only the requested field's change is reported.
    assert len(mine) == 1
    assert mine[0]["activityTypeId"] == 13
    assert mine[0]["fields"] == [
        {
            "id": mine[0]["fields"][0]["id"],
            "name": "firstName",
            "newValue": "Renamed",
            "oldValue": lead["firstName"],
        }
    ]
    assert "New Value" not in {a["name"] for a in mine[0]["attributes"]}
    new_lead = [c for c in changes if c["leadId"] == created["id"]]
    assert [(c["activityTypeId"], c["fields"]) for c in new_lead] == [(12, [])]
    assert error_code(api.get("/rest/v1/activities/leadchanges.json", nextPageToken=token)) == (
        "1003"
    )


def test_deleted_leads_match_the_ground_truth(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("deleted_leads")
    assert len(truth) == 5  # the small seed's deletes, all within Marketo's 14 days
    since = api.paging_token("2000-01-01T00:00:00Z")
    pages = api.pages("/rest/v1/activities/deletedleads.json", since)
    assert items(pages) == truth
    assert all(d["attributes"] == [] and d["activityTypeId"] == 37 for d in truth)


# -- the referee: an independent client ------------------------------------------------


def test_marketorestpython_pages_activities_changes_and_deletes(
    sandbox_info: dict[str, str], sandbox: SandboxControl
) -> None:
    client = MarketoClient("123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"])
    client.host = sandbox_info["endpoint"]
    types = client.execute(method="get_activity_types")
    assert {t["id"] for t in types} == set(ACTIVITY_TYPES_BY_ID)
    activities = client.execute(
        method="get_lead_activities",
        activityTypeIds=["12", "37"],
        sinceDatetime="2000-01-01T00:00:00Z",
    )
    truth = [a for a in sandbox.objects("activities") if a["activityTypeId"] in (12, 37)]
    assert activities == truth
    deleted = client.execute(method="get_deleted_leads", sinceDatetime="2000-01-01T00:00:00Z")
    assert [d["leadId"] for d in deleted] == [d["leadId"] for d in sandbox.objects("deleted_leads")]
    changes = client.execute(
        method="get_lead_changes", fields=["leadStatus"], sinceDatetime="2000-01-01T00:00:00Z"
    )
    assert {c["activityTypeId"] for c in changes} == {12, 13}
