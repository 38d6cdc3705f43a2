"""marketorestpython, an independent and widely used Marketo client, drives the sandbox.

The client is built the way its README says (munchkin id, client id and secret) and pointed
at the sandbox by setting ``host``. Every test compares what the client gets back with the
sandbox's ground truth (``/_sandbox/objects/<kind>``), so a sandbox that merely answers
without errors does not pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from fidelity_support import ago, marketo_time, parse_time, poll, read_bulk_csv, same_cell
from marketo_sandbox.testing import SandboxControl
from marketorestpython.client import MarketoClient as MrpClient
from marketorestpython.helper.exceptions import MarketoException

Truth = Callable[[str], list[dict[str, Any]]]


def _code(excinfo: pytest.ExceptionInfo[MarketoException]) -> str:
    return str(excinfo.value.code)


def _in_window(value: str | None, start: datetime, end: datetime) -> bool:
    return value is not None and start <= parse_time(value) <= end


# -- authentication --------------------------------------------------------------------


def test_authenticate_gets_a_bearer_token_for_the_api_user(
    mrp: MrpClient, sandbox: SandboxControl
) -> None:
    mrp.authenticate()
    assert mrp.token
    assert mrp.token_type == "bearer"
    assert 3500 <= mrp.expires_in <= 3600
    assert mrp.scope == sandbox.config()["api_user"]
    # Identity calls are free: they neither count nor occupy the rate window.
    assert sandbox.calls()["total"] == 0
    mrp.valid_until = None  # asking again before expiry returns the SAME token
    first = mrp.token
    mrp.authenticate()
    assert mrp.token == first


def test_a_bad_client_secret_is_rejected_with_bad_client_credentials(
    sandbox_info: dict[str, str], unthrottled_mrp: None
) -> None:
    client = MrpClient("123-ABC-456", sandbox_info["client_id"], "not-the-secret", max_retry_time=1)
    client.host = sandbox_info["endpoint"]
    with pytest.raises(Exception, match="Bad client credentials"):
        client.authenticate()
    assert client.token is None


# -- leads -----------------------------------------------------------------------------


def test_describe_lists_every_lead_field_by_its_rest_name(mrp: MrpClient, truth: Truth) -> None:
    fields = mrp.describe()
    rest_names = [f["rest"]["name"] for f in fields if "rest" in f]
    assert len(rest_names) >= 60
    assert len(set(rest_names)) == len(rest_names)
    assert {"id", "email", "firstName", "lastName", "createdAt", "updatedAt"} <= set(rest_names)
    documented = {
        "datetime",
        "date",
        "integer",
        "percent",
        "score",
        "float",
        "currency",
        "boolean",
        "string",
        "email",
        "reference",
        "url",
        "phone",
        "textarea",
        "text",
        "lead_function",
        "array",
    }
    assert {f["dataType"] for f in fields} <= documented
    # Every field the sandbox holds on a lead is one describe announces.
    held = {name for lead in truth("leads")[:50] for name in lead}
    assert held <= set(rest_names)
    describe2 = mrp.describe2()[0]
    assert describe2["name"] == "API Lead"
    assert {f["name"] for f in describe2["fields"]} == set(rest_names)


def test_leads_by_email_with_300_values_match_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    leads = truth("leads")
    emails = [lead["email"] for lead in leads if lead.get("email")][:295]
    emails += [f"absent-{i}@nowhere.example" for i in range(300 - len(emails))]
    assert len(",".join(emails)) > 8192  # would be a 414 as a GET URL; the client POSTs
    got = mrp.get_multiple_leads_by_filter_type(
        "email", emails, fields="email,firstName,crmContactId"
    )
    wanted = {e.lower() for e in emails}
    expected = {lead["id"]: lead for lead in leads if (lead.get("email") or "").lower() in wanted}
    assert {lead["id"] for lead in got} == set(expected)
    for lead in got:
        truth_lead = expected[lead["id"]]
        assert (lead["email"], lead["firstName"], lead["crmContactId"]) == (
            truth_lead["email"],
            truth_lead.get("firstName"),
            truth_lead.get("crmContactId"),
        )


def test_301_filter_values_are_rejected_with_1003(mrp: MrpClient) -> None:
    with pytest.raises(MarketoException) as excinfo:
        mrp.get_multiple_leads_by_filter_type("id", [str(i) for i in range(1, 302)])
    assert _code(excinfo) == "1003"


def test_leads_by_id_page_with_batch_size(mrp: MrpClient, truth: Truth) -> None:
    ids = [lead["id"] for lead in truth("leads")][:120]
    got = mrp.get_multiple_leads_by_filter_type("id", [str(i) for i in ids], batchSize=50)
    assert [lead["id"] for lead in got] == sorted(ids)


def test_create_update_leads_honours_all_four_actions(mrp: MrpClient, truth: Truth) -> None:
    existing = next(
        lead for lead in truth("leads") if lead.get("email") and lead.get("crmContactId")
    )

    created = mrp.create_update_leads(
        [{"email": "mrp-new@example.com", "firstName": "Nova"}], action="createOnly"
    )
    assert created[0]["status"] == "created"
    again = mrp.create_update_leads([{"email": "mrp-new@example.com"}], action="createOnly")
    assert again[0]["status"] == "skipped"
    assert again[0]["reasons"][0]["code"] == "1005"

    updated = mrp.create_update_leads(
        [{"email": existing["email"], "title": "Fidelity Officer"}], action="updateOnly"
    )
    assert updated == [{"id": existing["id"], "status": "updated"}]
    missing = mrp.create_update_leads([{"email": "mrp-absent@example.com"}], action="updateOnly")
    assert missing[0]["status"] == "skipped"
    assert missing[0]["reasons"][0]["code"] == "1004"

    upsert = mrp.create_update_leads(
        [
            {"email": "mrp-upsert@example.com", "lastName": "Upsert"},
            {"email": existing["email"], "city": "Oslo"},
        ],
        action="createOrUpdate",
        asyncProcessing=False,  # sent as "asyncProcessing " (sic)
    )
    assert [r["status"] for r in upsert] == ["created", "updated"]
    duplicate = mrp.create_update_leads(
        [{"email": existing["email"], "firstName": "Twin"}], action="createDuplicate"
    )
    assert duplicate[0]["status"] == "created"
    assert duplicate[0]["id"] != existing["id"]

    by_crm_id = mrp.create_update_leads(
        [{"crmContactId": existing["crmContactId"], "phone": "+1 555 000 0001"}],
        action="updateOnly",
        lookupField="crmContactId",
    )
    assert by_crm_id == [{"id": existing["id"], "status": "updated"}]
    by_id = mrp.create_update_leads(
        [{"id": existing["id"], "leadScore": 77}], action="updateOnly", lookupField="id"
    )
    assert by_id == [{"id": existing["id"], "status": "updated"}]

    after = {lead["id"]: lead for lead in truth("leads")}
    me = after[existing["id"]]
    assert (me["title"], me["city"], me["phone"], me["leadScore"]) == (
        "Fidelity Officer",
        "Oslo",
        "+1 555 000 0001",
        77,
    )
    assert after[created[0]["id"]]["firstName"] == "Nova"
    assert after[upsert[0]["id"]]["lastName"] == "Upsert"
    assert after[duplicate[0]["id"]]["email"] == existing["email"]
    assert "mrp-absent@example.com" not in {lead.get("email") for lead in after.values()}


def test_delete_lead_removes_it_and_reports_it_as_deleted(mrp: MrpClient, truth: Truth) -> None:
    victim = truth("leads")[10]["id"]
    result = mrp.delete_lead([victim, 987654321])
    assert result[0] == {"id": victim, "status": "deleted"}
    assert result[1]["status"] == "skipped"
    assert result[1]["reasons"][0]["code"] == "1004"
    assert victim not in {lead["id"] for lead in truth("leads")}
    assert victim in {d["leadId"] for d in truth("deleted_leads")}
    deleted = mrp.get_deleted_leads(sinceDatetime=marketo_time(ago(minutes=5)))
    assert victim in {d["leadId"] for d in deleted}
    assert all(d["activityTypeId"] == 37 for d in deleted)
    assert all(d["attributes"] == [] for d in deleted)


def test_merge_lead_keeps_the_winner_and_logs_merge_leads(mrp: MrpClient, truth: Truth) -> None:
    leads = truth("leads")
    winner, loser = leads[20]["id"], leads[21]["id"]
    assert mrp.merge_lead(winner, [loser]) is True
    ids = {lead["id"] for lead in truth("leads")}
    assert winner in ids
    assert loser not in ids
    merges = [a for a in truth("activities") if a["activityTypeId"] == 32 and a["leadId"] == winner]
    assert merges, "Marketo logs Merge Leads (32) on the winner"


def test_deleted_leads_since_a_date_equal_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    since = ago(days=30)
    got = mrp.get_deleted_leads(sinceDatetime=marketo_time(since), batchSize=2)
    expected = {
        d["id"]
        for d in truth("deleted_leads")
        if parse_time(d["activityDate"]) >= since.replace(microsecond=0)
    }
    assert expected
    assert {d["id"] for d in got} == expected


# -- activities ------------------------------------------------------------------------


def test_activity_types_carry_marketos_standard_ids(mrp: MrpClient) -> None:
    types = {t["id"]: t for t in mrp.get_activity_types()}
    standard = {
        1: "Visit Webpage",
        2: "Fill Out Form",
        6: "Send Email",
        12: "New Lead",
        13: "Change Data Value",
        24: "Add to List",
        25: "Remove from List",
        32: "Merge Leads",
        34: "Add to Opportunity",
        35: "Remove from Opportunity",
        37: "Delete Lead",
        104: "Change Status in Progression",
    }
    assert {i: types[i]["name"] for i in standard if i in types} == standard
    assert len([i for i in types if i >= 100000]) >= 2
    assert all(isinstance(a["name"], str) for t in types.values() for a in t["attributes"])


def test_paging_token_for_a_date_and_1001_for_a_bad_one(mrp: MrpClient) -> None:
    token = mrp.get_paging_token(marketo_time(ago(days=7)))
    assert isinstance(token, str)
    assert token
    with pytest.raises(MarketoException) as excinfo:
        mrp.get_paging_token("last tuesday")
    assert _code(excinfo) == "1001"


def test_lead_activities_pages_union_equals_ground_truth(
    mrp: MrpClient, truth: Truth, sandbox: SandboxControl
) -> None:
    # A narrow scan window makes the sandbox answer short and EMPTY pages with moreResult.
    sandbox.configure(extra={"activity_scan_window": 400})
    since = ago(days=75).replace(microsecond=0)
    type_ids = ["1", "6", "12", "13", "24", "104"]
    got = mrp.get_lead_activities(type_ids, sinceDatetime=marketo_time(since), batchSize=100)
    calls = sandbox.calls()["paths"].get("/rest/v1/activities.json", 0)
    expected = [
        a
        for a in truth("activities")
        if str(a["activityTypeId"]) in type_ids and parse_time(a["activityDate"]) >= since
    ]
    assert calls > 2, "the window should take several pages"
    assert len(got) == len({a["id"] for a in got}), "no activity twice"
    assert sorted(got, key=lambda a: a["id"]) == sorted(expected, key=lambda a: a["id"])


def test_lead_changes_report_a_field_update_with_old_and_new_value(
    mrp: MrpClient, truth: Truth
) -> None:
    lead = next(lead for lead in truth("leads") if lead.get("email") and lead.get("title"))
    since = marketo_time(ago(seconds=5))
    mrp.create_update_leads(
        [{"email": lead["email"], "title": "Head of Fidelity"}], action="updateOnly"
    )
    changes = mrp.get_lead_changes(["title", "email"], sinceDatetime=since)
    mine = [c for c in changes if c["leadId"] == lead["id"] and c["activityTypeId"] == 13]
    assert len(mine) == 1
    assert [(f["name"], f["oldValue"], f["newValue"]) for f in mine[0]["fields"]] == [
        ("title", lead["title"], "Head of Fidelity")
    ]
    window = [
        a
        for a in truth("activities")
        if a["activityTypeId"] in (12, 13) and parse_time(a["activityDate"]) >= parse_time(since)
    ]
    assert {c["id"] for c in changes} == {a["id"] for a in window}


# -- CRM objects -----------------------------------------------------------------------


def test_companies_describe_create_update_read_delete(mrp: MrpClient, truth: Truth) -> None:
    describe = mrp.describe_company()[0]
    assert (describe["idField"], describe["dedupeFields"]) == ("id", ["externalCompanyId"])
    created = mrp.create_update_companies(
        [{"externalCompanyId": "MRP-CO-1", "company": "Referee Ltd"}]
    )
    assert created[0]["status"] == "created"
    assert created[0]["seq"] == 0
    updated = mrp.create_update_companies(
        [{"externalCompanyId": "MRP-CO-1", "industry": "Audit"}], action="updateOnly"
    )
    assert updated[0] == {"seq": 0, "id": created[0]["id"], "status": "updated"}
    got = mrp.get_companies("externalCompanyId", ["MRP-CO-1"], fields=["company", "industry"])
    assert [(c["id"], c["company"], c["industry"]) for c in got] == [
        (created[0]["id"], "Referee Ltd", "Audit")
    ]
    stored = {c["externalCompanyId"]: c for c in truth("companies")}
    assert (stored["MRP-CO-1"]["company"], stored["MRP-CO-1"]["industry"]) == (
        "Referee Ltd",
        "Audit",
    )
    deleted = mrp.delete_companies([{"externalCompanyId": "MRP-CO-1"}])
    assert deleted[0]["status"] == "deleted"
    assert "MRP-CO-1" not in {c["externalCompanyId"] for c in truth("companies")}


def test_a_company_linked_to_leads_is_not_deleted(mrp: MrpClient, truth: Truth) -> None:
    linked = {lead.get("externalCompanyId") for lead in truth("leads")} - {None}
    company = next(c for c in truth("companies") if c["externalCompanyId"] in linked)
    result = mrp.delete_companies([{"id": company["id"]}], deleteBy="idField")
    assert result[0]["status"] == "skipped"
    assert result[0]["reasons"]
    assert company["id"] in {c["id"] for c in truth("companies")}


def test_opportunities_describe_create_read_delete(mrp: MrpClient, truth: Truth) -> None:
    describe = mrp.describe_opportunity()[0]
    assert (describe["idField"], describe["dedupeFields"]) == (
        "marketoGUID",
        ["externalOpportunityId"],
    )
    created = mrp.create_update_opportunities(
        [{"externalOpportunityId": "MRP-OPP-1", "name": "Big deal", "amount": 1234.5}]
    )
    assert created[0]["status"] == "created"
    assert created[0]["marketoGUID"]
    got = mrp.get_opportunities("externalOpportunityId", ["MRP-OPP-1"], fields="name,amount")
    assert [(o["marketoGUID"], o["name"], o["amount"]) for o in got] == [
        (created[0]["marketoGUID"], "Big deal", 1234.5)
    ]
    assert "MRP-OPP-1" in {o["externalOpportunityId"] for o in truth("opportunities")}
    deleted = mrp.delete_opportunities([{"externalOpportunityId": "MRP-OPP-1"}])
    assert deleted[0]["status"] == "deleted"
    assert "MRP-OPP-1" not in {o["externalOpportunityId"] for o in truth("opportunities")}


def test_opportunity_roles_need_their_lead_and_opportunity(mrp: MrpClient, truth: Truth) -> None:
    describe = mrp.describe_opportunity_role()[0]
    assert describe["dedupeFields"] == ["externalOpportunityId", "leadId", "role"]
    lead = truth("leads")[0]["id"]
    mrp.create_update_opportunities([{"externalOpportunityId": "MRP-OPP-2", "name": "Roles deal"}])
    key = {"externalOpportunityId": "MRP-OPP-2", "leadId": lead, "role": "Champion"}
    result = mrp.create_update_opportunities_roles(
        [
            {**key, "isPrimary": True},
            {"externalOpportunityId": "MRP-OPP-2", "leadId": 987654321, "role": "Champion"},
            {"externalOpportunityId": "MRP-NO-SUCH-OPP", "leadId": lead, "role": "Champion"},
        ]
    )
    assert [r["status"] for r in result] == ["created", "skipped", "skipped"]
    got = mrp.get_opportunity_roles(
        "externalOpportunityId", ["MRP-OPP-2"], fields="leadId,role,isPrimary"
    )
    assert [(r["leadId"], r["role"], r["isPrimary"]) for r in got] == [(lead, "Champion", True)]
    assert (
        next(r for r in truth("opportunity_roles") if r["externalOpportunityId"] == "MRP-OPP-2")[
            "leadId"
        ]
        == lead
    )
    deleted = mrp.delete_opportunity_roles([key])
    assert deleted[0]["status"] == "deleted"
    assert not [r for r in truth("opportunity_roles") if r["externalOpportunityId"] == "MRP-OPP-2"]


def test_sales_persons_describe_create_read_delete(mrp: MrpClient, truth: Truth) -> None:
    describe = mrp.describe_sales_person()[0]
    assert describe["dedupeFields"] == ["externalSalesPersonId"]
    created = mrp.create_update_sales_persons(
        [{"externalSalesPersonId": "MRP-SP-1", "email": "rep@example.com", "firstName": "Rae"}]
    )
    assert created[0]["status"] == "created"
    got = mrp.get_sales_persons("externalSalesPersonId", ["MRP-SP-1"], fields="email,firstName")
    assert [(p["id"], p["email"], p["firstName"]) for p in got] == [
        (created[0]["id"], "rep@example.com", "Rae")
    ]
    assert "MRP-SP-1" in {p["externalSalesPersonId"] for p in truth("salespersons")}
    deleted = mrp.delete_sales_persons([{"externalSalesPersonId": "MRP-SP-1"}])
    assert deleted[0]["status"] == "deleted"
    assert "MRP-SP-1" not in {p["externalSalesPersonId"] for p in truth("salespersons")}


def test_parents_still_referenced_are_skipped_not_deleted(mrp: MrpClient, truth: Truth) -> None:
    roles = truth("opportunity_roles")
    opportunity = roles[0]["externalOpportunityId"]
    result = mrp.delete_opportunities([{"externalOpportunityId": opportunity}])
    assert result[0]["status"] == "skipped"
    assert result[0]["reasons"]
    assert opportunity in {o["externalOpportunityId"] for o in truth("opportunities")}
    linked = {lead.get("externalSalesPersonId") for lead in truth("leads")} - {None}
    person = next(p for p in truth("salespersons") if p["externalSalesPersonId"] in linked)
    result = mrp.delete_sales_persons([{"externalSalesPersonId": person["externalSalesPersonId"]}])
    assert result[0]["status"] == "skipped"
    assert person["id"] in {p["id"] for p in truth("salespersons")}


def test_company_fields_of_a_company_linked_lead_are_refused_by_lead_sync(
    mrp: MrpClient, truth: Truth
) -> None:
    lead = next(x for x in truth("leads") if x.get("externalCompanyId") and x.get("email"))
    result = mrp.create_update_leads(
        [{"email": lead["email"], "company": "Renamed Through The Lead"}], action="updateOnly"
    )
    assert result[0]["status"] == "skipped"
    assert result[0]["reasons"][0]["code"] == "1021"
    assert {x["id"]: x for x in truth("leads")}[lead["id"]]["company"] == lead["company"]


def test_writes_leave_the_activities_marketo_logs(mrp: MrpClient, truth: Truth) -> None:
    """What a target writes must be visible to a tap reading activities afterwards."""
    since = marketo_time(ago(seconds=5))
    leads = truth("leads")
    new_id = mrp.create_update_leads([{"email": "mrp-trail@example.com", "title": "A"}])[0]["id"]
    mrp.create_update_leads([{"email": "mrp-trail@example.com", "title": "B"}], action="updateOnly")
    list_id = truth("lists")[0]["id"]
    mrp.add_leads_to_list(list_id, [new_id])
    mrp.remove_leads_from_list(list_id, [new_id])
    mrp.create_update_opportunities([{"externalOpportunityId": "MRP-OPP-3", "name": "Trail"}])
    role = {"externalOpportunityId": "MRP-OPP-3", "leadId": new_id, "role": "Evaluator"}
    mrp.create_update_opportunities_roles([role])
    mrp.delete_opportunity_roles([role])
    winner, loser = leads[30]["id"], leads[31]["id"]
    mrp.merge_lead(winner, [loser])
    mrp.delete_lead([leads[32]["id"]])
    seen = {
        (a["activityTypeId"], a["leadId"])
        for a in mrp.get_lead_activities(
            ["12", "13", "24", "25", "32", "34", "35"], sinceDatetime=since
        )
    }
    expected = {(12, new_id), (13, new_id), (24, new_id), (25, new_id), (34, new_id), (35, new_id)}
    assert expected | {(32, winner)} <= seen
    deleted = {d["leadId"] for d in mrp.get_deleted_leads(sinceDatetime=since)}
    assert deleted == {leads[32]["id"]}


def test_custom_objects_list_describe_create_read_delete(
    mrp: MrpClient, truth: Truth, sandbox: SandboxControl
) -> None:
    listed = {o["name"] for o in mrp.get_list_of_custom_objects()}
    kinds = {
        k.split("/", 1)[1]
        for k in sandbox._call("GET", "objects")["kinds"]
        if k.startswith("customobjects/")
    }
    assert listed == kinds
    assert len(listed) >= 2
    describe = mrp.describe_custom_object("car_c")[0]
    assert describe["idField"] == "marketoGUID"
    assert describe["dedupeFields"] == ["vin"]
    lead = truth("leads")[0]["id"]
    created = mrp.create_update_custom_objects(
        "car_c", [{"vin": "MRPVIN0000000001", "leadId": lead, "make": "Saab"}]
    )
    assert created[0]["status"] == "created"
    assert created[0]["marketoGUID"]
    got = mrp.get_custom_objects(
        "car_c", [{"vin": "MRPVIN0000000001"}], "dedupeFields", fields=["make", "leadId"]
    )
    assert [(c["marketoGUID"], c["make"], c["leadId"]) for c in got] == [
        (created[0]["marketoGUID"], "Saab", lead)
    ]
    assert "MRPVIN0000000001" in {c["vin"] for c in truth("customobjects/car_c")}
    deleted = mrp.delete_custom_objects("car_c", [{"vin": "MRPVIN0000000001"}])
    assert deleted[0]["status"] == "deleted"
    assert "MRPVIN0000000001" not in {c["vin"] for c in truth("customobjects/car_c")}


# -- programs, membership, lists -------------------------------------------------------


def test_browse_programs_pages_to_the_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    programs = truth("programs")
    got = mrp.browse_programs(maxReturn=3)  # pages by offset until a short or empty page
    assert sorted(p["id"] for p in got) == sorted(p["id"] for p in programs)
    one = mrp.get_program_by_id(programs[0]["id"])[0]
    assert (one["name"], one["type"], one["channel"]) == (
        programs[0]["name"],
        programs[0]["type"],
        programs[0]["channel"],
    )
    newest = max(parse_time(p["updatedAt"]) for p in programs)
    recent = mrp.browse_programs(
        maxReturn=200,
        earliestUpdatedAt=marketo_time(newest),
        latestUpdatedAt=marketo_time(ago(seconds=-60)),
    )
    assert {p["id"] for p in recent} == {
        p["id"] for p in programs if parse_time(p["updatedAt"]) >= newest
    }


def test_program_member_data_sync_updates_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    member = truth("program_members")[0]
    result = mrp.sync_program_member_data(
        member["programId"], [{"leadId": member["leadId"], "registrationCode": "MRP-REG-1"}]
    )
    assert result[0]["status"] == "updated"
    assert result[0]["leadId"] == member["leadId"]
    stored = [
        m
        for m in truth("program_members")
        if (m["programId"], m["leadId"]) == (member["programId"], member["leadId"])
    ]
    assert stored[0]["registrationCode"] == "MRP-REG-1"


def test_leads_by_program_id_carry_their_membership(mrp: MrpClient, truth: Truth) -> None:
    programs = {p["id"]: p for p in truth("programs")}
    members = truth("program_members")
    engagement = next(p for p in programs.values() if p["type"] == "Engagement")
    for program_id in {members[0]["programId"], engagement["id"]}:
        expected = {m["leadId"]: m for m in members if m["programId"] == program_id}
        assert expected
        got = mrp.get_multiple_leads_by_program_id(
            program_id, fields="email,firstName", batchSize=7
        )
        assert {lead["id"] for lead in got} == set(expected)
        for lead in got:
            membership, member = lead["membership"], expected[lead["id"]]
            assert (
                membership["progressionStatus"],
                membership["acquiredBy"],
                membership["reachedSuccess"],
                membership["membershipDate"],
            ) == (
                member["statusName"],
                member["acquiredBy"],
                member["reachedSuccess"],
                member["membershipDate"],
            )
            if program_id == engagement["id"]:
                assert (membership["stream"], membership["nurtureCadence"]) == (
                    member["trackName"],
                    member["nurtureCadence"],
                )


def test_membership_outside_engagement_programs_has_no_stream_or_cadence(
    mrp: MrpClient, truth: Truth
) -> None:
    programs = {p["id"]: p for p in truth("programs")}
    member = next(
        m for m in truth("program_members") if programs[m["programId"]]["type"] != "Engagement"
    )
    leads = mrp.get_multiple_leads_by_program_id(member["programId"])
    assert leads
    assert all(
        "stream" not in lead["membership"] and "nurtureCadence" not in lead["membership"]
        for lead in leads
    )
    mrp.authenticate()
    response = requests.get(
        f"{mrp.host}/rest/v1/leads/{member['leadId']}/programMembership.json",
        headers={"Authorization": f"Bearer {mrp.token}"},
        timeout=30,
    ).json()
    mine = [p for p in response["result"] if p["id"] == member["programId"]]
    assert mine
    assert "stream" not in mine[0]
    assert "nurtureCadence" not in mine[0]


def test_change_lead_program_status_moves_an_existing_member(mrp: MrpClient, truth: Truth) -> None:
    programs = {p["id"]: p for p in truth("programs")}
    member = truth("program_members")[0]
    statuses = mrp.get_channel_by_name(programs[member["programId"]]["channel"])[0][
        "progressionStatuses"
    ]
    steps = {s["name"]: s["step"] for s in statuses}
    target = next(s["name"] for s in statuses if s["step"] > steps[member["statusName"]])
    result = mrp.change_lead_program_status(member["programId"], [member["leadId"]], target)
    assert result[0]["id"] == member["leadId"]
    stored = [
        m
        for m in truth("program_members")
        if (m["programId"], m["leadId"]) == (member["programId"], member["leadId"])
    ]
    assert stored[0]["statusName"] == target


def test_list_add_remove_and_membership(mrp: MrpClient, truth: Truth) -> None:
    lists = truth("lists")
    list_id = lists[0]["id"]
    members = {m["leadId"] for m in truth("list_members") if m["listId"] == list_id}
    outsiders = [lead["id"] for lead in truth("leads") if lead["id"] not in members][:2]
    added = mrp.add_leads_to_list(list_id, outsiders)
    assert added == [{"id": i, "status": "added"} for i in outsiders]
    assert {m["leadId"] for m in truth("list_members") if m["listId"] == list_id} == members | set(
        outsiders
    )
    check = mrp.member_of_list(list_id, [*outsiders, 987654321])
    assert [r["status"] for r in check[:2]] == ["memberof", "memberof"]
    assert check[2]["status"] == "skipped" or check[2]["status"] == "notmemberof"
    listed = mrp.get_multiple_leads_by_list_id(list_id, batchSize=5)
    assert {lead["id"] for lead in listed} == members | set(outsiders)
    removed = mrp.remove_leads_from_list(list_id, outsiders)
    assert removed == [{"id": i, "status": "removed"} for i in outsiders]
    assert {m["leadId"] for m in truth("list_members") if m["listId"] == list_id} == members
    logged = {
        (a["activityTypeId"], a["leadId"])
        for a in truth("activities")
        if a["activityTypeId"] in (24, 25)
    }
    assert {(24, i) for i in outsiders} | {(25, i) for i in outsiders} <= logged
    assert sorted(lst["id"] for lst in mrp.get_multiple_lists()) == sorted(
        lst["id"] for lst in lists
    )


def test_campaigns_and_daily_usage(mrp: MrpClient, truth: Truth, sandbox: SandboxControl) -> None:
    assert sorted(c["id"] for c in mrp.get_multiple_campaigns()) == sorted(
        c["id"] for c in truth("campaigns")
    )
    usage = mrp.get_daily_usage()
    assert usage[0]["total"] == sandbox.calls()["used_today"]
    assert usage[0]["users"][0]["userId"] == sandbox.config()["api_user"]


# -- bulk export -----------------------------------------------------------------------


def _run_export(
    mrp: MrpClient,
    entity: str,
    fields: list[str] | None,
    filters: dict[str, Any],
    object_name: str | None = None,
    column_header_names: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """create -> enqueue -> poll -> download, through marketorestpython's own methods."""
    kw = {"object_name": object_name} if object_name else {}
    create = {
        "leads": mrp.create_leads_export_job,
        "activities": mrp.create_activities_export_job,
        "program/members": mrp.create_program_members_export_job,
        "customobjects": mrp.create_custom_objects_export_job,
    }[entity]
    job = create(fields=fields, filters=filters, columnHeaderNames=column_header_names, **kw)[0]
    assert job["status"] == "Created"
    assert job["format"] == "CSV"
    name = {
        "leads": "leads",
        "activities": "activities",
        "program/members": "program_members",
        "customobjects": "custom_objects",
    }[entity]
    export_id = job["exportId"]
    queued = getattr(mrp, f"enqueue_{name}_export_job")(export_id, **kw)[0]
    assert queued["status"] in ("Queued", "Processing", "Completed")
    status = poll(
        lambda: getattr(mrp, f"get_{name}_export_job_status")(export_id, **kw)[0],
        lambda s: s["status"] in ("Completed", "Failed"),
    )
    assert status["status"] == "Completed", status
    assert {"createdAt", "queuedAt", "startedAt", "finishedAt", "numberOfRecords"} <= set(status)
    data = getattr(mrp, f"get_{name}_export_job_file")(export_id, **kw)
    assert status["fileSize"] == len(data)
    assert status["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    listed = {j["exportId"] for j in getattr(mrp, f"get_{name}_export_jobs_list")(**kw)}
    assert export_id in listed
    return status, data


def _assert_rows(
    rows: list[dict[str, str]],
    expected: dict[Any, dict[str, Any]],
    key: str,
    columns: list[str],
    convert: Callable[[str], Any] = int,
) -> None:
    assert {convert(r[key]) for r in rows} == set(expected)
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[convert(row[key])]
        bad = {c: (row[c], want.get(c)) for c in columns if not same_cell(row[c], want.get(c))}
        assert not bad, f"{key}={row[key]}: {bad}"


def test_bulk_lead_export_rows_equal_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    start, end = ago(days=70).replace(microsecond=0), ago(days=40).replace(microsecond=0)
    fields = [
        "id",
        "email",
        "firstName",
        "createdAt",
        "leadScore",
        "isCustomer",
        "productInterests",
    ]
    status, data = _run_export(
        mrp,
        "leads",
        fields,
        {"createdAt": {"startAt": marketo_time(start), "endAt": marketo_time(end)}},
    )
    rows = read_bulk_csv(data)
    assert list(rows[0]) == fields
    expected = {
        lead["id"]: lead for lead in truth("leads") if _in_window(lead["createdAt"], start, end)
    }
    assert expected
    assert status["numberOfRecords"] == len(expected)
    _assert_rows(rows, expected, "id", fields)


def test_bulk_lead_export_renames_columns_with_column_header_names(mrp: MrpClient) -> None:
    window = {"startAt": marketo_time(ago(days=20)), "endAt": marketo_time(ago(days=1))}
    _, data = _run_export(
        mrp,
        "leads",
        ["id", "firstName", "email"],
        {"createdAt": window},
        column_header_names={"firstName": "First Name", "email": "E-mail"},
    )
    assert data.decode("utf-8").splitlines()[0] == "id,First Name,E-mail"


def test_bulk_activity_export_rows_equal_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    start, end = ago(days=25).replace(microsecond=0), ago(days=5).replace(microsecond=0)
    type_ids = [1, 12, 13]
    status, data = _run_export(
        mrp,
        "activities",
        None,
        {
            "createdAt": {"startAt": marketo_time(start), "endAt": marketo_time(end)},
            "activityTypeIds": type_ids,
        },
    )
    rows = read_bulk_csv(data)
    columns = [
        "marketoGUID",
        "leadId",
        "activityDate",
        "activityTypeId",
        "campaignId",
        "primaryAttributeValueId",
        "primaryAttributeValue",
        "attributes",
    ]
    assert list(rows[0])[: len(columns)] == columns
    expected = {
        a["marketoGUID"]: {**a, "attributes": {x["name"]: x["value"] for x in a["attributes"]}}
        for a in truth("activities")
        if a["activityTypeId"] in type_ids and _in_window(a["activityDate"], start, end)
    }
    assert expected
    assert status["numberOfRecords"] == len(expected)
    _assert_rows(rows, expected, "marketoGUID", columns, convert=str)


def test_bulk_program_member_export_rows_equal_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    members = truth("program_members")
    program_id = max(
        {m["programId"] for m in members}, key=lambda p: sum(m["programId"] == p for m in members)
    )
    fields = ["leadId", "programId", "statusName", "membershipDate", "reachedSuccess", "acquiredBy"]
    status, data = _run_export(mrp, "program/members", fields, {"programId": program_id})
    rows = read_bulk_csv(data)
    expected = {m["leadId"]: m for m in members if m["programId"] == program_id}
    assert expected
    assert status["numberOfRecords"] == len(expected)
    _assert_rows(rows, expected, "leadId", fields)


def test_bulk_custom_object_export_rows_equal_ground_truth(mrp: MrpClient, truth: Truth) -> None:
    start, end = ago(days=40).replace(microsecond=0), ago(days=10).replace(microsecond=0)
    fields = ["marketoGUID", "vin", "leadId", "make", "year", "price", "isLeased", "purchaseDate"]
    status, data = _run_export(
        mrp,
        "customobjects",
        fields,
        {"updatedAt": {"startAt": marketo_time(start), "endAt": marketo_time(end)}},
        object_name="car_c",
    )
    rows = read_bulk_csv(data)
    expected = {
        c["marketoGUID"]: c
        for c in truth("customobjects/car_c")
        if _in_window(c["updatedAt"], start, end)
    }
    assert expected, "the seed updates cars every month"
    assert status["numberOfRecords"] == len(expected)
    _assert_rows(rows, expected, "marketoGUID", fields, convert=str)


def test_cancel_a_queued_export(mrp: MrpClient, sandbox: SandboxControl) -> None:
    sandbox.configure(export_queued_seconds=3600)
    window = {"startAt": marketo_time(ago(days=10)), "endAt": marketo_time(ago(days=1))}
    job = mrp.create_leads_export_job(fields=["id"], filters={"createdAt": window})[0]
    mrp.enqueue_leads_export_job(job["exportId"])
    cancelled = mrp.cancel_leads_export_job(job["exportId"])[0]
    assert cancelled["status"] == "Cancelled"
    assert mrp.get_leads_export_job_status(job["exportId"])[0]["status"] == "Cancelled"


# -- bulk import -----------------------------------------------------------------------


def test_bulk_lead_import_reports_failed_rows_and_warnings(
    mrp: MrpClient, truth: Truth, tmp_path: Path
) -> None:
    upload = tmp_path / "leads.csv"
    upload.write_text(
        "email,firstName,lastName,seatsRequested\n"
        "mrp-imp-1@example.com,Ada,Lovelace,5\n"
        ",Nobody,Noemail,3\n"
        "mrp-imp-2@example.com,Grace,Hopper,7\n"
        "mrp-imp-wide@example.com,Too,Many,1,extra\n"
        "mrp-imp-warn@example.com,Bad,Seats,lots\n",
        encoding="utf-8",
    )
    batch = mrp.import_lead("csv", str(upload))[0]
    assert batch["status"] == "Queued"
    assert batch["batchId"]
    status = poll(
        lambda: mrp.get_import_lead_status(batch["batchId"])[0],
        lambda s: s["status"] in ("Complete", "Failed"),
    )
    assert status["status"] == "Complete"
    assert (status["numOfRowsFailed"], status["numOfRowsWithWarning"]) == (2, 1)
    assert status["numOfLeadsProcessed"] >= 3
    stored = {lead.get("email"): lead for lead in truth("leads")}
    assert stored["mrp-imp-1@example.com"]["seatsRequested"] == 5
    assert stored["mrp-imp-2@example.com"]["lastName"] == "Hopper"
    assert "mrp-imp-wide@example.com" not in stored
    assert "Noemail" not in {lead.get("lastName") for lead in stored.values()}
    failures = read_bulk_csv(mrp.get_import_failure_file(batch["batchId"]))
    assert [(r["firstName"], r["lastName"]) for r in failures] == [
        ("Nobody", "Noemail"),
        ("Too", "Many"),
    ]
    assert all(r["Import Failure Reason"] for r in failures)
    warnings = read_bulk_csv(mrp.get_import_warning_file(batch["batchId"]))
    assert [r["email"] for r in warnings] == ["mrp-imp-warn@example.com"]
    assert warnings[0]["Import Warning Reason"]


def test_bulk_files_parse_as_json_cells_where_marketo_writes_json(mrp: MrpClient) -> None:
    start, end = ago(days=9).replace(microsecond=0), ago(days=1).replace(microsecond=0)
    _, data = _run_export(
        mrp,
        "activities",
        None,
        {
            "createdAt": {"startAt": marketo_time(start), "endAt": marketo_time(end)},
            "activityTypeIds": [1],
        },
    )
    rows = read_bulk_csv(data)
    assert rows, "web visits happen every day in the seed"
    assert all(isinstance(json.loads(r["attributes"]), dict) for r in rows)
