"""Programs as Marketo's asset API serves them, and program membership: reads with their
filters and windows, status progression (forward only), member data and removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxApi, SandboxControl
from marketorestpython.client import MarketoClient
from sandbox_helpers import activities, attrs, error_code, make_lead, statuses

NO_ASSETS = "No assets found for the given search criteria."


class Api(SandboxApi):
    """Plain HTTP against the sandbox."""


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Api:
    return Api(sandbox_info)







def program_with(sandbox: SandboxControl, **match: str) -> dict[str, Any]:
    for prog in sandbox.objects("programs"):
        if all(prog[k] == v for k, v in match.items()):
            return prog
    raise AssertionError(f"no seeded program with {match}")


def parse_asset_ts(text: str) -> datetime:
    assert text.endswith("Z+0000"), text
    return datetime.strptime(text[:-5], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- browse ----------------------------------------------------------------------------


def test_browse_pages_by_offset_until_no_assets_found(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("programs")
    assert len(truth) >= 5
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = api.get("/rest/asset/v1/programs.json", offset=offset, maxReturn=3)
        assert page["success"] is True
        assert page["errors"] == []
        if "result" not in page:
            assert page["warnings"] == [NO_ASSETS]
            break
        assert page["warnings"] == []
        assert len(page["result"]) <= 3
        seen += page["result"]
        offset += 3
    assert [p["id"] for p in seen] == [p["id"] for p in truth]
    for item in seen:
        assert set(item) >= {"id", "name", "description", "createdAt", "updatedAt", "url", "type",
                             "channel", "folder", "status", "workspace"}
        assert set(item["folder"]) == {"type", "value", "folderName"}
        assert parse_asset_ts(item["createdAt"]) <= parse_asset_ts(item["updatedAt"])
    types = {p["type"] for p in seen}
    assert {"Default", "Email", "Event with Webinar", "Engagement"} <= types


def test_browse_limits_and_paired_timestamps(api: Api) -> None:
    assert error_code(api.get("/rest/asset/v1/programs.json", maxReturn=201)) == "1003"
    assert error_code(api.get("/rest/asset/v1/programs.json",
                              earliestUpdatedAt="2020-01-01T00:00:00Z")) == "1003"
    assert error_code(api.get("/rest/asset/v1/programs.json", earliestUpdatedAt="yesterday",
                              latestUpdatedAt="2020-01-01T00:00:00Z")) == "1001"
    empty = api.get("/rest/asset/v1/programs.json", earliestUpdatedAt="2001-01-01T00:00:00Z",
                    latestUpdatedAt="2001-02-01T00:00:00Z")
    assert "result" not in empty
    assert empty["warnings"] == [NO_ASSETS]


def test_browse_window_returns_programs_created_or_updated_in_it(
    api: Api, sandbox: SandboxControl
) -> None:
    truth = sandbox.objects("programs")
    stamps = sorted(parse_asset_ts(p["updatedAt"]) for p in truth)
    start, end = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]
    expected = sorted(
        p["id"] for p in truth
        if start <= parse_asset_ts(p["updatedAt"]) <= end
        or start <= parse_asset_ts(p["createdAt"]) <= end
    )
    # Offsets in the window are accepted the way Adobe's example writes them.
    got = api.get("/rest/asset/v1/programs.json", maxReturn=200,
                  earliestUpdatedAt=start.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                  latestUpdatedAt=iso(end))
    assert sorted(p["id"] for p in got["result"]) == expected
    assert len(expected) < len(truth)


def test_program_by_id_and_filters(api: Api, sandbox: SandboxControl) -> None:
    prog = sandbox.objects("programs")[0]
    (one,) = api.get(f"/rest/asset/v1/program/{prog['id']}.json")["result"]
    assert one == prog
    assert "tags" in one
    assert "costs" in one
    assert api.get("/rest/asset/v1/program/999999.json")["warnings"] == [NO_ASSETS]
    by_filter = api.get("/rest/asset/v1/programs.json", filterType="id",
                        filterValues=str(prog["id"]))
    assert [p["id"] for p in by_filter["result"]] == [prog["id"]]
    email = program_with(sandbox, type="Email")
    by_status = api.get("/rest/asset/v1/programs.json", status=email["status"], maxReturn=200)
    assert email["id"] in [p["id"] for p in by_status["result"]]
    assert all(p["status"] == email["status"] for p in by_status["result"])


def test_channels_publish_progression_statuses(api: Api) -> None:
    (webinar,) = api.get("/rest/asset/v1/channel/byName.json", name="Webinar")["result"]
    steps = {s["name"]: (s["step"], s["success"]) for s in webinar["progressionStatuses"]}
    assert steps["Registered"][0] < steps["Attended"][0]
    assert steps["Attended"][1] is True
    assert steps["Invited"][1] is False
    everything = api.get("/rest/asset/v1/channels.json", maxReturn=200)["result"]
    assert {"Webinar", "Nurture", "Email Send", "Operational"} <= {c["name"] for c in everything}


# -- membership status -----------------------------------------------------------------


def test_status_progression_moves_forward_and_logs_activities(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    webinar = program_with(sandbox, channel="Webinar")
    path = f"/rest/v1/programs/{webinar['id']}/members/status.json"
    lead_a, lead_b = make_lead(sandbox_server), make_lead(sandbox_server)

    first = api.post(path, {"statusName": "Registered",
                            "input": [{"leadId": lead_a}, {"leadId": 99_999_999}]})
    assert statuses(first) == [("created", None), ("skipped", "1004")]
    assert first["result"][0]["leadId"] == lead_a
    (change,) = activities(sandbox_server, lead_a, 104)
    assert change["primaryAttributeValueId"] == webinar["id"]
    assert change["primaryAttributeValue"] == webinar["name"]
    details = attrs(change)
    assert details["New Status"] == "Registered"
    assert details["Old Status"] == "Not in Program"
    assert details["Success"] is False
    assert isinstance(details["Program Member ID"], int)

    forward = api.post(path, {"statusName": "Attended",
                              "input": [{"leadId": lead_a}, {"leadId": lead_b}]})
    assert statuses(forward) == [("updated", None), ("created", None)]
    last = activities(sandbox_server, lead_a, 104)[-1]
    assert attrs(last)["Old Status"] == "Registered"
    assert attrs(last)["Success"] is True
    assert attrs(last)["Program Member ID"] == details["Program Member ID"]

    # Same status, a lower step, or a status the channel does not have: skipped.
    assert statuses(api.post(path, {"statusName": "Attended", "input": [{"leadId": lead_a}]})) == [
        ("skipped", "1037")]
    assert statuses(api.post(path, {"statusName": "Invited", "input": [{"leadId": lead_a}]})) == [
        ("skipped", "1037")]
    assert statuses(api.post(path, {"statusName": "Visited Booth",
                                    "input": [{"leadId": lead_a}]})) == [("skipped", "1025")]
    # A sibling status on the same step is a move, not a step back.
    assert statuses(api.post(path, {"statusName": "Attended On-demand",
                                    "input": [{"leadId": lead_a}]})) == [("updated", None)]
    assert len(activities(sandbox_server, lead_a, 104)) == 3

    members = api.get(f"/rest/v1/programs/{webinar['id']}/members.json", filterType="leadId",
                      filterValues=f"{lead_a},{lead_b}",
                      fields="statusName,reachedSuccess,reachedSuccessDate,membershipDate")
    by_lead = {m["leadId"]: m for m in members["result"]}
    assert by_lead[lead_a]["statusName"] == "Attended On-demand"
    assert by_lead[lead_a]["reachedSuccess"] is True
    assert by_lead[lead_a]["reachedSuccessDate"] is not None
    assert by_lead[lead_b]["statusName"] == "Attended"


def test_status_change_on_unknown_program_or_without_status(
    api: Api, sandbox: SandboxControl
) -> None:
    assert error_code(api.post("/rest/v1/programs/999999/members/status.json",
                               {"statusName": "Member", "input": [{"leadId": 1}]})) == "1013"
    prog = sandbox.objects("programs")[0]
    assert error_code(api.post(f"/rest/v1/programs/{prog['id']}/members/status.json",
                               {"input": [{"leadId": 1}]})) == "1003"


def test_adding_to_an_engagement_program_is_add_to_nurture(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    nurture = program_with(sandbox, type="Engagement")
    lead_id = make_lead(sandbox_server)
    response = api.post(f"/rest/v1/programs/{nurture['id']}/members/status.json",
                        {"statusName": "Member", "input": [{"leadId": lead_id}]})
    assert statuses(response) == [("created", None)]
    (added,) = activities(sandbox_server, lead_id, 113)
    assert added["primaryAttributeValueId"] == nurture["id"]
    assert attrs(added)["Track Name"]
    member = api.get(f"/rest/v1/programs/{nurture['id']}/members.json", filterType="leadId",
                     filterValues=str(lead_id), fields="trackName,nurtureCadence,isExhausted")
    assert member["result"][0]["trackName"] == attrs(added)["Track Name"]
    assert member["result"][0]["isExhausted"] is False


# -- member reads ----------------------------------------------------------------------


def _program_with_members(sandbox: SandboxControl) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    members = sandbox.objects("program_members")
    by_program: dict[int, list[dict[str, Any]]] = {}
    for m in members:
        by_program.setdefault(m["programId"], []).append(m)
    pid = max(by_program, key=lambda p: len(by_program[p]))
    prog = next(p for p in sandbox.objects("programs") if p["id"] == pid)
    return prog, by_program[pid]


def test_member_reads_by_filter_with_defaults_and_paging(api: Api, sandbox: SandboxControl) -> None:
    prog, members = _program_with_members(sandbox)
    assert len(members) >= 3
    path = f"/rest/v1/programs/{prog['id']}/members.json"
    ids = [m["leadId"] for m in members]

    by_lead = api.get(path, filterType="leadId", filterValues=",".join(map(str, ids[:2])))
    # Without `fields`: acquiredBy, leadId, membershipDate, programId, reachedSuccess.
    assert [set(r) for r in by_lead["result"]] == [
        {"seq", "leadId", "acquiredBy", "membershipDate", "programId", "reachedSuccess"}
    ] * 2
    assert by_lead["moreResult"] is False

    status = members[0]["statusName"]
    expected = sorted(m["leadId"] for m in members if m["statusName"] == status)
    got = api.get(path, filterType="statusName", filterValues=status, fields="statusName")
    assert [r["leadId"] for r in got["result"]] == expected
    assert {r["statusName"] for r in got["result"]} == {status}

    successful = sorted(m["leadId"] for m in members if m["reachedSuccess"])
    got = api.get(path, filterType="reachedSuccess", filterValues="true")
    assert [r["leadId"] for r in got["result"]] == successful

    pages, token, seen = 0, None, []
    while True:
        params: dict[str, Any] = {"filterType": "leadId", "filterValues": ",".join(map(str, ids)),
                                  "batchSize": 2}
        if token:
            params["nextPageToken"] = token
        page = api.get(path, **params)
        pages += 1
        seen += [r["leadId"] for r in page["result"]]
        token = page.get("nextPageToken")
        assert page["moreResult"] is (token is not None)
        if token is None:
            break
    assert seen == sorted(ids)
    assert pages == (len(ids) + 1) // 2


def test_member_updated_at_window_is_at_most_seven_days(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    prog = sandbox.objects("programs")[0]
    path = f"/rest/v1/programs/{prog['id']}/members.json"
    now = datetime.now(UTC)
    wide = api.get(path, filterType="updatedAt", startAt=iso(now - timedelta(days=8)),
                   endAt=iso(now))
    assert error_code(wide) == "1003"
    assert error_code(api.get(path, filterType="updatedAt", startAt=iso(now))) == "1003"

    lead_id = make_lead(sandbox_server)
    chan = api.get("/rest/asset/v1/channel/byName.json", name=prog["channel"])["result"][0]
    status = next(s["name"] for s in chan["progressionStatuses"] if s["step"] > 0)
    api.post(f"/rest/v1/programs/{prog['id']}/members/status.json",
             {"statusName": status, "input": [{"leadId": lead_id}]})
    window = api.get(path, filterType="updatedAt", startAt=iso(now - timedelta(days=6)),
                     endAt=iso(now + timedelta(minutes=5)), fields="statusName,updatedAt")
    assert lead_id in [r["leadId"] for r in window["result"]]
    old = api.get(path, filterType="updatedAt", startAt=iso(now - timedelta(days=30)),
                  endAt=iso(now - timedelta(days=23)))
    assert lead_id not in [r["leadId"] for r in old["result"]]


def test_member_read_rejects_unknown_filters_and_fields(api: Api, sandbox: SandboxControl) -> None:
    prog = sandbox.objects("programs")[0]
    path = f"/rest/v1/programs/{prog['id']}/members.json"
    assert error_code(api.get(path, filterType="membershipDate", filterValues="x")) == "1003"
    assert error_code(api.get(path, filterType="leadId", filterValues="1",
                              fields="shoeSize")) == "1006"
    assert error_code(api.get("/rest/v1/programs/999999/members.json", filterType="leadId",
                              filterValues="1")) == "1013"


def test_member_filter_over_membership_limit_is_refused(
    api: Api, sandbox: SandboxControl
) -> None:
    prog, members = _program_with_members(sandbox)
    sandbox.configure(extra={"program_member_filter_limit": len(members) - 1})
    path = f"/rest/v1/programs/{prog['id']}/members.json"
    assert error_code(api.get(path, filterType="statusName", filterValues="Member")) == "1003"
    # leadId lookups are exempt from the limit.
    ok = api.get(path, filterType="leadId", filterValues=str(members[0]["leadId"]))
    assert ok["success"] is True


# -- member data and removal -----------------------------------------------------------


def test_member_data_and_delete(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    webinar = program_with(sandbox, channel="Webinar")
    base = f"/rest/v1/programs/{webinar['id']}"
    member, outsider = make_lead(sandbox_server), make_lead(sandbox_server)
    api.post(f"{base}/members/status.json",
             {"statusName": "Invited", "input": [{"leadId": member}]})

    response = api.post(f"{base}/members.json", {"input": [
        {"leadId": member, "webinarUrl": "https://w.example/j/1", "questionsAsked": "3"},
        {"leadId": outsider, "webinarUrl": "https://w.example/j/2"},
        {"leadId": member, "shoeSize": 44},
        {"leadId": member, "statusName": "Attended"},
        {"leadId": member, "questionsAsked": "many"},
    ]})
    assert statuses(response) == [
        ("updated", None), ("skipped", "1013"), ("skipped", "1006"), ("skipped", "1003"),
        ("skipped", "1001"),
    ]
    read = api.get(f"{base}/members.json", filterType="webinarUrl",
                   filterValues="https://w.example/j/1",
                   fields="webinarUrl,questionsAsked,statusName")
    assert [(r["leadId"], r["webinarUrl"], r["questionsAsked"], r["statusName"])
            for r in read["result"]] == [(member, "https://w.example/j/1", 3, "Invited")]

    deleted = api.post(f"{base}/members/delete.json",
                       {"input": [{"leadId": member}, {"leadId": outsider}]})
    assert statuses(deleted) == [("deleted", None), ("skipped", "1037")]
    gone = api.get(f"{base}/members.json", filterType="leadId", filterValues=str(member))
    assert gone["result"] == []


def test_member_describe_new_and_legacy(api: Api) -> None:
    (meta,) = api.get("/rest/v1/programs/members/describe.json")["result"]
    assert meta["dedupeFields"] == ["leadId", "programId"]
    names = {f["name"] for f in meta["fields"]}
    assert {"acquiredBy", "attendanceLikelihood", "createdAt", "isExhausted", "leadId",
            "membershipDate", "nurtureCadence", "program", "programId", "reachedSuccess",
            "reachedSuccessDate", "registrationLikelihood", "statusName", "statusReason",
            "trackName", "updatedAt", "waitlistPriority"} <= names
    custom = [f for f in meta["fields"] if f["updateable"]]
    assert len(custom) >= 3
    assert ["webinarUrl"] in meta["searchableFields"]
    (legacy,) = api.get("/rest/v1/program/members/describe.json")["result"]
    assert {f["name"] for f in legacy["fields"]} == names


def test_leads_by_program_carry_their_membership(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    webinar = program_with(sandbox, channel="Webinar")
    lead_id = make_lead(sandbox_server)
    api.post(f"/rest/v1/programs/{webinar['id']}/members/status.json",
             {"statusName": "Registered", "input": [{"leadId": lead_id}]})
    leads: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, Any] = {"batchSize": 3, "fields": "email,lastName"}
        if token:
            params["nextPageToken"] = token
        page = api.get(f"/rest/v1/leads/programs/{webinar['id']}.json", **params)
        leads += page["result"]
        token = page.get("nextPageToken")
        if not token:
            break
    mine = next(x for x in leads if x["id"] == lead_id)
    assert mine["email"] == f"crm-test-{lead_id}@example.com"
    assert mine["membership"]["progressionStatus"] == "Registered"
    assert mine["membership"]["reachedSuccess"] is False
    truth = [m["leadId"] for m in sandbox.objects("program_members")
             if m["programId"] == webinar["id"]]
    assert sorted(x["id"] for x in leads) == sorted(truth)


def test_marketorestpython_browses_programs_and_reads_members(
    sandbox_info: dict[str, str], sandbox: SandboxControl
) -> None:
    mc = MarketoClient("123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"])
    mc.host = sandbox_info["endpoint"]
    programs = mc.execute(method="browse_programs", maxReturn=3)
    assert [p["id"] for p in programs] == [p["id"] for p in sandbox.objects("programs")]
    prog, members = _program_with_members(sandbox)
    leads = mc.execute(method="get_multiple_leads_by_program_id", programId=prog["id"],
                       fields=["email"], batchSize=2)
    assert sorted(x["id"] for x in leads) == sorted(m["leadId"] for m in members)
    assert all("membership" in x for x in leads)
    described = mc.execute(method="describe_program_member")
    assert described[0]["dedupeFields"] == ["leadId", "programId"]


# -- legacy status change and membership objects ---------------------------------------


def test_legacy_change_lead_program_status_moves_members_only(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    webinar = program_with(sandbox, channel="Webinar")
    member, outsider = make_lead(sandbox_server), make_lead(sandbox_server)
    api.post(f"/rest/v1/programs/{webinar['id']}/members/status.json",
             {"statusName": "Registered", "input": [{"leadId": member}]})
    path = f"/rest/v1/leads/programs/{webinar['id']}/status.json"

    moved = api.post(path, {"status": "Attended",
                            "input": [{"id": member}, {"id": outsider}, {"id": 99_999_999}]})
    assert moved["success"] is True, moved
    assert [(r["id"], r["status"]) for r in moved["result"]] == [
        (member, "updated"), (outsider, "skipped"), (99_999_999, "skipped")]
    assert [r["reasons"][0]["code"] for r in moved["result"][1:]] == ["1037", "1004"]
    # The same progression rules as Sync Program Member Status: forward only, known statuses.
    assert statuses(api.post(path, {"status": "Invited", "input": [{"id": member}]})) == [
        ("skipped", "1037")]
    assert statuses(api.post(path, {"status": "Visited Booth", "input": [{"id": member}]})) == [
        ("skipped", "1025")]
    last = activities(sandbox_server, member, 104)[-1]
    assert (attrs(last)["Old Status"], attrs(last)["New Status"]) == ("Registered", "Attended")
    assert activities(sandbox_server, outsider, 104) == []
    stored = {m["leadId"]: m for m in sandbox.objects("program_members")
              if m["programId"] == webinar["id"]}
    assert stored[member]["statusName"] == "Attended"
    assert stored[member]["reachedSuccess"] is True
    assert outsider not in stored

    assert error_code(api.post(path, {"input": [{"id": member}]})) == "1003"
    assert error_code(api.post(path, {"status": "Attended"})) == "1003"
    assert error_code(api.post("/rest/v1/leads/programs/999999/status.json",
                               {"status": "Attended", "input": [{"id": member}]})) == "1013"


def test_membership_object_has_stream_and_cadence_only_in_engagement_programs(
    api: Api, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    nurture = program_with(sandbox, type="Engagement")
    webinar = program_with(sandbox, channel="Webinar")
    lead_id = make_lead(sandbox_server)
    for prog, status in ((nurture, "Member"), (webinar, "Registered")):
        api.post(f"/rest/v1/programs/{prog['id']}/members/status.json",
                 {"statusName": status, "input": [{"leadId": lead_id}]})

    def membership(program_id: int) -> dict[str, Any]:
        page = api.get(f"/rest/v1/leads/programs/{program_id}.json", batchSize=300)
        found: dict[str, Any] = next(x for x in page["result"] if x["id"] == lead_id)
        return dict(found["membership"])

    engaged = membership(nurture["id"])
    assert engaged["stream"]
    assert engaged["nurtureCadence"] == "norm"
    assert engaged["progressionStatus"] == "Member"
    plain = membership(webinar["id"])
    assert "stream" not in plain
    assert "nurtureCadence" not in plain
    assert set(plain) == {"acquiredBy", "isExhausted", "membershipDate", "progressionStatus",
                          "reachedSuccess"}
