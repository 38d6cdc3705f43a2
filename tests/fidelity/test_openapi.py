"""Every sandbox response for an operation in Adobe's Swagger validates against its schema.

Each case drives one area of the API over HTTP (successes, record-level skips and
request-level failures alike: all share the operation's envelope) and validates every JSON
body it gets against the 200 schema of the matching Swagger operation, with only the named
errata of ``fidelity_openapi.SPEC_ERRATA`` applied. A coverage test makes sure every route
the sandbox serves that Adobe's files describe is exercised by some case.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from fidelity_openapi import (
    SPEC_ERRATA,
    SPEC_FILES,
    VENDORED_DIR,
    VENDORED_SHA256SUMS,
    OpenApi,
    load_specs,
    sandbox_rule_to_path,
)
from fidelity_support import RawApi, ago, error_code, marketo_time, poll
from marketo_sandbox import routes
from marketo_sandbox.app import router
from marketo_sandbox.testing import SandboxControl
from marketorestpython.client import MarketoClient

# Importing the routes registers every handler on the router the coverage tests walk.
assert routes.__name__


class Probe:
    """Sends raw calls and validates each JSON answer against its Swagger operation."""

    def __init__(self, raw: RawApi, openapi: OpenApi) -> None:
        self.raw = raw
        self.openapi = openapi
        self.seen: set[str] = set()

    def call(
        self, method: str, path: str, *, success: bool | None = True, **kw: Any
    ) -> dict[str, Any]:
        response = self.raw.call(method, path, **kw)
        effective = _effective_method(method, kw)
        op = self.openapi.operation(effective, path)
        assert op is not None, f"{effective} {path} is not an operation of Adobe's Swagger"
        assert response.status_code == 200, (
            effective,
            path,
            response.status_code,
            response.text[:300],
        )
        assert op.skipped_by is None, f"{op.operation_id} answers bytes; use probe.file()"
        body = response.json()
        problems = self.openapi.errors(op, body)
        assert not problems, (
            f"{effective} {path} ({op.operation_id}) does not match Adobe's schema:\n  "
            + "\n  ".join(problems)
            + f"\nbody: {str(body)[:800]}"
        )
        self.seen.add(op.operation_id)
        if success is not None:
            assert body.get("success") is success, body
        return body

    def file(self, path: str, **kw: Any) -> requests.Response:
        """A bulk file or import report: bytes, not JSON (erratum bulk-files-are-not-json)."""
        response = self.raw.call("GET", path, **kw)
        op = self.openapi.operation("GET", path)
        assert op is not None, path
        assert op.skipped_by == "bulk-files-are-not-json", path
        assert response.status_code in (200, 206), (path, response.status_code, response.text[:300])
        assert "json" not in response.headers.get("Content-Type", ""), response.headers
        self.seen.add(op.operation_id)
        return response


def _effective_method(method: str, kw: dict[str, Any]) -> str:
    """Marketo reads a ``POST`` with ``_method=GET`` (query or form) as the GET operation."""
    params = kw.get("params") or {}
    data = kw.get("data")
    form = parse_qs(data) if isinstance(data, str) else (data or {})
    if method.upper() == "POST" and "GET" in (params.get("_method"), form.get("_method")):
        return "GET"
    return method.upper()


CaseFn = Callable[[Probe, SandboxControl], None]
CASES: dict[str, tuple[tuple[str, ...], CaseFn]] = {}
# Cases that fail because the SANDBOX disagrees with Adobe (reported, strict xfail).
SANDBOX_BUGS: dict[str, str] = {}


def case(*operation_ids: str, sandbox_bug: str | None = None) -> Callable[[CaseFn], CaseFn]:
    def register(fn: CaseFn) -> CaseFn:
        name = fn.__name__.removeprefix("case_")
        CASES[name] = (operation_ids, fn)
        if sandbox_bug:
            SANDBOX_BUGS[name] = sandbox_bug
        return fn

    return register


def _one(sandbox: SandboxControl, kind: str, **match: Any) -> dict[str, Any]:
    for item in sandbox.objects(kind):
        if all(item.get(k) == v for k, v in match.items()):
            return item
    raise AssertionError(f"no {kind} with {match} in the seed")


# -- identity --------------------------------------------------------------------------


@case("identityUsingGET", "identityUsingPOST")
def case_identity(probe: Probe, sandbox: SandboxControl) -> None:
    for method in ("GET", "POST"):
        response = probe.raw.identity(method=method)
        assert response.status_code == 200, response.text
        op = probe.openapi.operation(method, "/identity/oauth/token")
        assert op is not None
        assert probe.openapi.errors(op, response.json()) == []
        probe.seen.add(op.operation_id)


# -- leads -----------------------------------------------------------------------------


@case(
    "describeUsingGET_2",
    "describeUsingGET_6",
    "getLeadPartitionsUsingGET",
    "getLeadsByFilterUsingGET",
    "getLeadByIdUsingGET",
)
def case_lead_reads(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/leads/describe.json")
    probe.call("GET", "/rest/v1/leads/describe2.json")
    probe.call("GET", "/rest/v1/leads/partitions.json")
    page = probe.call(
        "GET",
        "/rest/v1/leads.json",
        params={
            "filterType": "id",
            "filterValues": ",".join(map(str, range(1, 40))),
            "batchSize": 10,
            "fields": "email,firstName,isCustomer,productInterests,leadScore,updatedAt",
        },
    )
    assert len(page["result"]) == 10
    assert page.get("nextPageToken")
    probe.call(
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "id", "filterValues": "1,2", "nextPageToken": page["nextPageToken"]},
    )
    probe.call(
        "POST",
        "/rest/v1/leads.json",
        params={"_method": "GET"},
        data={"filterType": "email", "filterValues": "nobody@nowhere.example"},
    )
    probe.call(
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "noSuchField", "filterValues": "1"},
        success=False,
    )
    lead = sandbox.objects("leads")[0]
    probe.call("GET", f"/rest/v1/lead/{lead['id']}.json")
    probe.call("GET", "/rest/v1/lead/999999999.json")


@case("syncLeadUsingPOST", "pushToMarketoUsingPOST", "deleteLeadsUsingPOST", "mergeLeadsUsingPOST")
def case_lead_writes(probe: Probe, sandbox: SandboxControl) -> None:
    leads = sandbox.objects("leads")
    existing = next(lead for lead in leads if lead.get("email"))
    body = probe.call(
        "POST",
        "/rest/v1/leads.json",
        json={
            "action": "createOrUpdate",
            "input": [
                {"email": "openapi-new@example.com", "firstName": "Ada"},
                {"email": existing["email"], "title": "Chief Validator"},
                {"noSuchField": 1, "email": "x@example.com"},
            ],
        },
    )
    assert [r["status"] for r in body["result"]] == ["created", "updated", "skipped"]
    probe.call(
        "POST",
        "/rest/v1/leads.json",
        json={"action": "bogus", "input": [{"email": "a@b.c"}]},
        success=False,
    )
    program = sandbox.objects("programs")[0]
    probe.call(
        "POST",
        "/rest/v1/leads/push.json",
        json={"programName": program["name"], "input": [{"email": "openapi-push@example.com"}]},
    )
    winner, loser, victim = (lead["id"] for lead in leads[-3:])
    probe.call("POST", f"/rest/v1/leads/{winner}/merge.json", params={"leadIds": str(loser)})
    probe.call(
        "POST",
        "/rest/v1/leads/999999999/merge.json",
        params={"leadIds": str(winner)},
        success=False,
    )
    body = probe.call(
        "POST", "/rest/v1/leads/delete.json", json={"input": [{"id": victim}, {"id": 999999999}]}
    )
    assert [r["status"] for r in body["result"]] == ["deleted", "skipped"]


@case("getListMembershipUsingGET")
def case_lead_list_membership(probe: Probe, sandbox: SandboxControl) -> None:
    member = sandbox.objects("list_members")[0]
    body = probe.call("GET", f"/rest/v1/leads/{member['leadId']}/listMembership.json")
    assert member["listId"] in {item["listId"] for item in body["result"]}


@case("getProgramMembershipUsingGET", "getLeadsByProgramIdUsingGET")
def case_lead_program_membership(probe: Probe, sandbox: SandboxControl) -> None:
    program_member = sandbox.objects("program_members")[0]
    probe.call("GET", f"/rest/v1/leads/{program_member['leadId']}/programMembership.json")
    probe.call("GET", "/rest/v1/leads/999999999/programMembership.json", success=False)
    probe.call(
        "GET",
        f"/rest/v1/leads/programs/{program_member['programId']}.json",
        params={"fields": "email,firstName"},
    )


# -- activities ------------------------------------------------------------------------


@case(
    "getAllActivityTypesUsingGET",
    "getActivitiesPagingTokenUsingGET",
    "getLeadActivitiesUsingGET",
    "getLeadChangesUsingGET",
    "getDeletedLeadsUsingGET",
)
def case_activities(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/activities/types.json")
    probe.call(
        "GET",
        "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": "yesterday-ish"},
        success=False,
    )
    token = probe.call(
        "GET",
        "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": marketo_time(ago(days=60))},
    )["nextPageToken"]
    # A narrow scan window gives short and EMPTY pages with moreResult true, as Marketo does.
    sandbox.configure(extra={"activity_scan_window": 50})
    shapes = set()
    for _ in range(8):
        page = probe.call(
            "GET",
            "/rest/v1/activities.json",
            params={"nextPageToken": token, "activityTypeIds": "1,12,13,24,32,104"},
        )
        shapes.add("result" in page)
        token = page["nextPageToken"]
    probe.call("GET", "/rest/v1/activities.json", params={"nextPageToken": token}, success=False)
    sandbox.configure(extra={})
    token = probe.call(
        "GET",
        "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": marketo_time(ago(days=30))},
    )["nextPageToken"]
    probe.call(
        "GET",
        "/rest/v1/activities/leadchanges.json",
        params={"nextPageToken": token, "fields": "email,firstName,leadStatus,title"},
    )
    probe.call("GET", "/rest/v1/activities/deletedleads.json", params={"nextPageToken": token})


# -- CRM objects -----------------------------------------------------------------------


@case(
    "describeUsingGET",
    "getCompaniesUsingGET",
    "syncCompaniesUsingPOST",
    "deleteCompaniesUsingPOST",
    "describeUsingGET_5",
    "getSalesPersonUsingGET",
    "syncSalesPersonsUsingPOST",
    "deleteSalesPersonUsingPOST",
)
def case_companies_and_sales_persons(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/companies/describe.json")
    company = sandbox.objects("companies")[0]
    probe.call(
        "GET",
        "/rest/v1/companies.json",
        params={
            "filterType": "externalCompanyId",
            "filterValues": f"{company['externalCompanyId']},nope",
        },
    )
    probe.call(
        "GET",
        "/rest/v1/companies.json",
        params={"filterType": "bogus", "filterValues": "x"},
        success=False,
    )
    body = probe.call(
        "POST",
        "/rest/v1/companies.json",
        json={
            "input": [
                {"externalCompanyId": "OPENAPI-CO-1", "company": "Schema Inc"},
                {"company": "No Key Ltd"},
            ]
        },
    )
    assert [r["status"] for r in body["result"]] == ["created", "skipped"]
    probe.call(
        "POST",
        "/rest/v1/companies/delete.json",
        json={"input": [{"externalCompanyId": "OPENAPI-CO-1"}, {"externalCompanyId": "missing"}]},
    )
    probe.call("GET", "/rest/v1/salespersons/describe.json")
    person = sandbox.objects("salespersons")[0]
    probe.call(
        "GET",
        "/rest/v1/salespersons.json",
        params={"filterType": "id", "filterValues": str(person["id"])},
    )
    probe.call(
        "POST",
        "/rest/v1/salespersons.json",
        json={"input": [{"externalSalesPersonId": "OPENAPI-SP-1", "email": "sp@example.com"}]},
    )
    probe.call(
        "POST",
        "/rest/v1/salespersons/delete.json",
        json={
            "input": [
                {"externalSalesPersonId": "OPENAPI-SP-1"},
                {"externalSalesPersonId": "missing"},
            ]
        },
    )


@case(
    "describeUsingGET_4",
    "getOpportunitiesUsingGET",
    "syncOpportunitiesUsingPOST",
    "deleteOpportunitiesUsingPOST",
    "describeOpportunityRoleUsingGET",
    "getOpportunityRolesUsingGET",
    "syncOpportunityRolesUsingPOST",
    "deleteOpportunityRolesUsingPOST",
)
def case_opportunities_and_roles(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/opportunities/describe.json")
    probe.call("GET", "/rest/v1/opportunities/roles/describe.json")
    role = sandbox.objects("opportunity_roles")[0]
    probe.call(
        "GET",
        "/rest/v1/opportunities.json",
        params={
            "filterType": "externalOpportunityId",
            "filterValues": role["externalOpportunityId"],
        },
    )
    probe.call(
        "GET",
        "/rest/v1/opportunities/roles.json",
        params={"filterType": "leadId", "filterValues": str(role["leadId"])},
    )
    compound = {
        "externalOpportunityId": role["externalOpportunityId"],
        "leadId": role["leadId"],
        "role": role["role"],
    }
    probe.call(
        "POST",
        "/rest/v1/opportunities/roles.json",
        params={"_method": "GET"},
        json={
            "filterType": "dedupeFields",
            "fields": ["marketoGUID", "isPrimary"],
            "input": [compound],
        },
    )
    lead = sandbox.objects("leads")[0]
    probe.call(
        "POST",
        "/rest/v1/opportunities.json",
        json={"input": [{"externalOpportunityId": "OPENAPI-OPP-1", "name": "Schema deal"}]},
    )
    body = probe.call(
        "POST",
        "/rest/v1/opportunities/roles.json",
        json={
            "input": [
                {
                    "externalOpportunityId": "OPENAPI-OPP-1",
                    "leadId": lead["id"],
                    "role": "Champion",
                },
                {"externalOpportunityId": "OPENAPI-OPP-1", "leadId": 999999999, "role": "Champion"},
            ]
        },
    )
    assert [r["status"] for r in body["result"]] == ["created", "skipped"]
    probe.call(
        "POST",
        "/rest/v1/opportunities/roles/delete.json",
        json={
            "input": [
                {"externalOpportunityId": "OPENAPI-OPP-1", "leadId": lead["id"], "role": "Champion"}
            ]
        },
    )
    probe.call(
        "POST",
        "/rest/v1/opportunities/delete.json",
        json={
            "input": [
                {"externalOpportunityId": "OPENAPI-OPP-1"},
                {"externalOpportunityId": "missing"},
            ]
        },
    )


@case(
    "listCustomObjectsUsingGET",
    "describeUsingGET_1",
    "getCustomObjectsUsingGET",
    "syncCustomObjectsUsingPOST",
    "deleteCustomObjectsUsingPOST",
)
def case_custom_objects(probe: Probe, sandbox: SandboxControl) -> None:
    listing = probe.call("GET", "/rest/v1/customobjects.json")
    for item in listing["result"]:
        name = item["name"]
        describe = probe.call("GET", f"/rest/v1/customobjects/{name}/describe.json")["result"][0]
        record = sandbox.objects(f"customobjects/{name}")[0]
        dedupe = describe["dedupeFields"]
        probe.call(
            "GET",
            f"/rest/v1/customobjects/{name}.json",
            params={"filterType": dedupe[0], "filterValues": str(record[dedupe[0]])},
        )
        probe.call(
            "POST",
            f"/rest/v1/customobjects/{name}.json",
            params={"_method": "GET"},
            json={"filterType": "dedupeFields", "input": [{k: record[k] for k in dedupe}]},
        )
        body = probe.call(
            "POST",
            f"/rest/v1/customobjects/{name}.json",
            json={"input": [{k: record[k] for k in dedupe}, {"notAField": 1}]},
        )
        assert [r["status"] for r in body["result"]][:1] == ["updated"]
        probe.call(
            "POST",
            f"/rest/v1/customobjects/{name}/delete.json",
            json={"input": [{k: record[k] for k in dedupe}, {dedupe[0]: "missing-key"}]},
        )
    probe.call("GET", "/rest/v1/customobjects/no_such_c/describe.json", success=False)


# -- programs, members, lists, campaigns -----------------------------------------------


@case(
    "getEmailUsingGET",
    "browseForms2UsingGET",
    "browseLandingPagesUsingGET",
    "getSnippetUsingGET",
    "getFolderUsingGET",
)
def case_design_asset_browses(probe: Probe, sandbox: SandboxControl) -> None:
    for path in ("emails", "forms", "landingPages", "snippets"):
        page = probe.call("GET", f"/rest/asset/v1/{path}.json", params={"maxReturn": 200})
        assert page["result"], path
        probe.call("GET", f"/rest/asset/v1/{path}.json", params={"status": "draft"})
        # Past the last asset: Marketo's "No assets found" warning, no result.
        empty = probe.call("GET", f"/rest/asset/v1/{path}.json", params={"offset": 5000})
        assert "result" not in empty, path
    probe.call(
        "GET",
        "/rest/asset/v1/emails.json",
        params={
            "earliestUpdatedAt": "2020-01-01T00:00:00Z",
            "latestUpdatedAt": "2030-01-01T00:00:00Z",
        },
    )
    folders = probe.call("GET", "/rest/asset/v1/folders.json", params={"maxDepth": 50})
    assert folders["result"]


@case(
    "getEmailTemplatesUsingGET",
    "deleteTemplateUsingPOST",
    "getLandingPageTemplatesUsingGET",
    "deleteLpTemplateUsingPOST",
    "getSmartListsUsingGET",
    "deleteSmartListByIdUsingPOST",
    "getFilesUsingGET",
    "getTagTypesUsingGET",
)
def case_asset_library(probe: Probe, sandbox: SandboxControl) -> None:
    for path in ("emailTemplates", "landingPageTemplates", "smartLists", "files", "tagTypes"):
        page = probe.call("GET", f"/rest/asset/v1/{path}.json", params={"maxReturn": 200})
        assert page["result"], path
        empty = probe.call("GET", f"/rest/asset/v1/{path}.json", params={"offset": 5000})
        assert "result" not in empty, path
    probe.call("GET", "/rest/asset/v1/emailTemplates.json", params={"status": "draft"})
    probe.call(
        "GET",
        "/rest/asset/v1/smartLists.json",
        params={
            "folder": '{"id": 15, "type": "Folder"}',
            "earliestUpdatedAt": "2020-01-01T00:00:00Z",
            "latestUpdatedAt": "2030-01-01T00:00:00Z",
        },
    )
    for path, kind in (
        ("emailTemplate", "email_templates"),
        ("landingPageTemplate", "landing_page_templates"),
        ("smartList", "smart_lists"),
    ):
        asset_id = sandbox.objects(kind)[0]["id"]
        gone = probe.call("POST", f"/rest/asset/v1/{path}/{asset_id}/delete.json")
        assert gone["result"] == [{"id": asset_id}]
        probe.call("POST", f"/rest/asset/v1/{path}/{asset_id}/delete.json", success=False)


@case("getSegmentationUsingGET", "getSegmentsForSegmentationUsingGET")
def case_segmentations(probe: Probe, sandbox: SandboxControl) -> None:
    segmentations = probe.call("GET", "/rest/asset/v1/segmentation.json")["result"]
    probe.call("GET", "/rest/asset/v1/segmentation.json", params={"status": "draft"})
    for segmentation in segmentations:
        page = probe.call(
            "GET",
            f"/rest/asset/v1/segmentation/{segmentation['id']}/segments.json",
            params={"status": segmentation["status"], "maxReturn": 200},
        )
        assert page["result"]
    probe.call("GET", "/rest/asset/v1/segmentation/999999/segments.json")


@case(
    "getTokensByFolderIdUsingGET",
    "deleteTokenByNameUsingPOST",
    "getFormFieldByFormVidUsingGET",
    "deleteFormFieldUsingPOST",
)
def case_tokens_and_form_fields(probe: Probe, sandbox: SandboxControl) -> None:
    token = _one(sandbox, "program_tokens", folderType="Program")
    path = f"/rest/asset/v1/folder/{token['folderId']}/tokens.json"
    found = probe.call("GET", path, params={"folderType": "Program"})
    assert token["name"] in [t["name"] for t in found["result"][0]["tokens"]]
    probe.call("GET", "/rest/asset/v1/folder/15/tokens.json", params={"folderType": "Folder"})
    probe.call(
        "POST",
        f"/rest/asset/v1/folder/{token['folderId']}/tokens/delete.json",
        data={"folderType": "Program", "name": token["name"], "type": token["type"]},
    )
    probe.call("GET", "/rest/asset/v1/folder/999999/tokens.json", success=False)
    form = _one(sandbox, "forms", status="approved")
    fields = probe.call("GET", f"/rest/asset/v1/form/{form['id']}/fields.json")
    assert fields["result"]
    probe.call("GET", f"/rest/asset/v1/form/{form['id']}/fields.json", params={"status": "draft"})
    field = fields["result"][-1]["id"]
    gone = probe.call("POST", f"/rest/asset/v1/form/{form['id']}/field/{field}/delete.json")
    assert gone["result"] == [{"id": form["id"]}]
    probe.call(
        "POST", f"/rest/asset/v1/form/{form['id']}/field/{field}/delete.json", success=False
    )


@case(
    "browseProgramsUsingGET",
    "getProgramByIdUsingGET",
    "getProgramByNameUsingGET",
    "getAllChannelsUsingGET",
    "getChannelByNameUsingGET",
)
def case_programs_and_channels(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/asset/v1/programs.json", params={"maxReturn": 200})
    empty = probe.call("GET", "/rest/asset/v1/programs.json", params={"offset": 5000})
    assert "result" not in empty
    program = sandbox.objects("programs")[0]
    probe.call("GET", f"/rest/asset/v1/program/{program['id']}.json")
    probe.call("GET", "/rest/asset/v1/program/byName.json", params={"name": program["name"]})
    channels = probe.call("GET", "/rest/asset/v1/channels.json", params={"maxReturn": 200})
    probe.call(
        "GET", "/rest/asset/v1/channel/byName.json", params={"name": channels["result"][0]["name"]}
    )


@case(
    "describeProgramMemberUsingGET",
    "describeProgramMemberUsingGET2",
    "getProgramMembersUsingGET",
    "syncProgramMemberStatusUsingPOST",
    "syncProgramMemberDataUsingPOST",
    "deleteProgramMemberUsingPOST",
)
def case_program_members(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/programs/members/describe.json")
    probe.call("GET", "/rest/v1/program/members/describe.json")
    member = sandbox.objects("program_members")[0]
    program_id = member["programId"]
    probe.call(
        "GET",
        f"/rest/v1/programs/{program_id}/members.json",
        params={"filterType": "leadId", "filterValues": str(member["leadId"])},
    )
    probe.call(
        "GET",
        f"/rest/v1/programs/{program_id}/members.json",
        params={
            "filterType": "statusName",
            "filterValues": member["statusName"],
            "fields": "leadId,programId,acquiredBy,reachedSuccess,membershipDate,statusName,"
            "updatedAt,nurtureCadence,registrationCode",
        },
    )
    probe.call(
        "GET",
        f"/rest/v1/programs/{program_id}/members.json",
        params={
            "filterType": "updatedAt",
            "startAt": marketo_time(ago(days=60)),
            "endAt": marketo_time(ago(days=1)),
        },
        success=False,
    )
    members = {
        m["leadId"] for m in sandbox.objects("program_members") if m["programId"] == program_id
    }
    outsider = next(lead["id"] for lead in sandbox.objects("leads") if lead["id"] not in members)
    body = probe.call(
        "POST",
        f"/rest/v1/programs/{program_id}/members/status.json",
        json={
            "statusName": member["statusName"],
            "input": [{"leadId": outsider}, {"leadId": 999999999}],
        },
    )
    assert [r["status"] for r in body["result"]] == ["created", "skipped"]
    assert (104, outsider) in {
        (a["activityTypeId"], a["leadId"]) for a in sandbox.objects("activities")
    }
    again = probe.call(
        "POST",
        f"/rest/v1/programs/{program_id}/members/status.json",
        json={"statusName": member["statusName"], "input": [{"leadId": outsider}]},
    )
    assert again["result"][0]["reasons"][0]["code"] == "1037"  # already at that status
    bogus = probe.call(
        "POST",
        f"/rest/v1/programs/{program_id}/members/status.json",
        json={"statusName": "No Such Status", "input": [{"leadId": outsider}]},
        success=None,
    )
    assert "1025" in {e["code"] for e in bogus.get("errors", [])} | {
        reason["code"] for r in bogus.get("result", []) for reason in r.get("reasons", [])
    }
    probe.call(
        "POST",
        f"/rest/v1/programs/{program_id}/members.json",
        json={
            "input": [{"leadId": outsider, "registrationCode": "abc-123"}, {"leadId": 999999999}]
        },
    )
    probe.call(
        "POST",
        f"/rest/v1/programs/{program_id}/members/delete.json",
        json={"input": [{"leadId": outsider}, {"leadId": 999999999}]},
    )


@case(
    "deleteProgramUsingPOST",
    "deleteSmartCampaignUsingPOST",
    "deleteStaticListByIdUsingPOST",
    "deleteEmailUsingPOST",
)
def case_asset_deletes(probe: Probe, sandbox: SandboxControl) -> None:
    email = sandbox.objects("emails")[0]
    kinds = (
        ("email", email["id"], "emails"),
        ("smartCampaign", sandbox.objects("campaigns")[0]["id"], "campaigns"),
        ("staticList", sandbox.objects("lists")[0]["id"], "lists"),
        ("program", sandbox.objects("programs")[0]["id"], "programs"),
    )
    for path, asset_id, kind in kinds:
        body = probe.call("POST", f"/rest/asset/v1/{path}/{asset_id}/delete.json")
        assert body["result"] == [{"id": asset_id}], body
        assert asset_id not in {item["id"] for item in sandbox.objects(kind)}, kind
        # Deleting what is gone: a request-level failure in the same envelope.
        gone = probe.call("POST", f"/rest/asset/v1/{path}/{asset_id}/delete.json", success=False)
        assert error_code(gone) == "702", gone


@case(
    "getListsUsingGET",
    "getListByIdUsingGET",
    "getLeadsByListIdUsingGET_1",
    "getLeadsByListIdUsingGET",
    "addLeadsToListUsingPOST",
    "removeLeadsFromListUsingDELETE",
    "areLeadsMemberOfListUsingGET",
)
def case_static_lists(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/lists.json")
    member = sandbox.objects("list_members")[0]
    list_id = member["listId"]
    probe.call("GET", f"/rest/v1/lists/{list_id}.json")
    probe.call("GET", f"/rest/v1/lists/{list_id}/leads.json", params={"fields": "email,leadScore"})
    probe.call("GET", f"/rest/v1/list/{list_id}/leads.json")
    lead = sandbox.objects("leads")[-1]["id"]
    probe.call(
        "POST",
        f"/rest/v1/lists/{list_id}/leads.json",
        json={"input": [{"id": lead}, {"id": 999999999}]},
    )
    probe.call(
        "POST",
        f"/rest/v1/lists/{list_id}/leads/ismember.json",
        params={"_method": "GET"},
        json={"input": [{"id": lead}, {"id": member["leadId"]}, {"id": 999999999}]},
    )
    probe.call("DELETE", f"/rest/v1/lists/{list_id}/leads.json", json={"input": [{"id": lead}]})
    probe.call("GET", "/rest/v1/lists/999999999/leads.json", success=False)


@case(
    "getCampaignsUsingGET",
    "getCampaignByIdUsingGET",
    "triggerCampaignUsingPOST",
    "scheduleCampaignUsingPOST",
)
def case_campaigns(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call("GET", "/rest/v1/campaigns.json")
    campaigns = sandbox.objects("campaigns")
    trigger = next(c for c in campaigns if c["type"] == "trigger")
    batch = next(c for c in campaigns if c["type"] == "batch")
    probe.call("GET", f"/rest/v1/campaigns/{trigger['id']}.json")
    lead = sandbox.objects("leads")[0]["id"]
    probe.call(
        "POST",
        f"/rest/v1/campaigns/{trigger['id']}/trigger.json",
        json={"input": {"leads": [{"id": lead}]}},
        success=None,
    )
    probe.call(
        "POST", f"/rest/v1/campaigns/{batch['id']}/schedule.json", json={"input": {}}, success=None
    )


@case(
    "getDailyUsageUsingGET",
    "getLast7DaysUsageUsingGET",
    "getDailyErrorsUsingGET",
    "getLast7DaysErrorsUsingGET",
)
def case_stats(probe: Probe, sandbox: SandboxControl) -> None:
    probe.call(
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "bogus", "filterValues": "1"},
        success=False,
    )
    usage = probe.call("GET", "/rest/v1/stats/usage.json")
    assert usage["result"]
    assert usage["result"][0]["total"] >= 1
    probe.call("GET", "/rest/v1/stats/usage/last7days.json")
    probe.call("GET", "/rest/v1/stats/errors.json")
    probe.call("GET", "/rest/v1/stats/errors/last7days.json")


# -- bulk ------------------------------------------------------------------------------

_WINDOW = {"startAt": marketo_time(ago(days=40)), "endAt": marketo_time(ago(days=10))}
# entity path -> (create body, its operationIds: create, enqueue, status, list, cancel, file)
EXPORTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "leads": (
        {"fields": ["id", "email", "updatedAt"], "format": "CSV", "filter": {"createdAt": _WINDOW}},
        (
            "createExportLeadsUsingPOST",
            "enqueueExportLeadsUsingPOST",
            "getExportLeadsStatusUsingGET",
            "getExportLeadsUsingGET",
            "cancelExportLeadsUsingPOST",
            "getExportLeadsFileUsingGET",
        ),
    ),
    "activities": (
        {"format": "CSV", "filter": {"createdAt": _WINDOW, "activityTypeIds": [1, 12]}},
        (
            "createExportActivitiesUsingPOST",
            "enqueueExportActivitiesUsingPOST",
            "getExportActivitiesStatusUsingGET",
            "getExportActivitiesUsingGET",
            "cancelExportActivitiesUsingPOST",
            "getExportActivitiesFileUsingGET",
        ),
    ),
    "program/members": (
        {"fields": ["leadId", "statusName"], "format": "CSV", "filter": {"programId": 0}},
        (
            "createExportProgramMembersUsingPOST",
            "enqueueExportProgramMembersUsingPOST",
            "getExportProgramMembersStatusUsingGET",
            "getExportProgramMembersUsingGET",
            "cancelExportProgramMembersUsingPOST",
            "getExportProgramMembersFileUsingGET",
        ),
    ),
    "customobjects/car_c": (
        {"fields": ["vin", "make"], "format": "CSV", "filter": {"updatedAt": _WINDOW}},
        (
            "createExportCustomObjectsUsingPOST",
            "enqueueExportCustomObjectsUsingPOST",
            "getExportCustomObjectsStatusUsingGET",
            "getExportCustomObjectsUsingGET",
            "cancelExportCustomObjectsUsingPOST",
            "getExportCustomObjectsFileUsingGET",
        ),
    ),
}


def _export_body(entity: str, sandbox: SandboxControl) -> dict[str, Any]:
    body = dict(EXPORTS[entity][0])
    if entity == "program/members":
        body["filter"] = {"programId": sandbox.objects("program_members")[0]["programId"]}
    return body


def _first_result(probe: Probe, path: str) -> dict[str, Any]:
    result: dict[str, Any] = probe.call("GET", path)["result"][0]
    return result


@case(*(op for _, ops in EXPORTS.values() for op in ops))
def case_bulk_exports(probe: Probe, sandbox: SandboxControl) -> None:
    for entity in EXPORTS:
        base = f"/bulk/v1/{entity}/export"
        created = probe.call("POST", f"{base}/create.json", json=_export_body(entity, sandbox))
        export_id = created["result"][0]["exportId"]
        probe.call("POST", f"{base}/{export_id}/enqueue.json")
        probe.call("POST", f"{base}/{export_id}/enqueue.json", success=False)  # 1029 already queued
        status_path = f"{base}/{export_id}/status.json"
        status = poll(
            functools.partial(_first_result, probe, status_path),
            lambda s: s["status"] == "Completed",
        )
        data = probe.file(f"{base}/{export_id}/file.json").content
        assert status["fileSize"] == len(data)
        assert status["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
        probe.call("GET", f"{base}.json", params={"status": "Completed"})
        probe.call("POST", f"{base}/{export_id}/cancel.json", success=None)
    # A job still queued can be cancelled (the sandbox's job clock held for it).
    sandbox.configure(export_queued_seconds=3600)
    created = probe.call(
        "POST", "/bulk/v1/leads/export/create.json", json=_export_body("leads", sandbox)
    )
    export_id = created["result"][0]["exportId"]
    probe.call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
    cancelled = probe.call("POST", f"/bulk/v1/leads/export/{export_id}/cancel.json")
    assert cancelled["result"][0]["status"] == "Cancelled"
    probe.call("GET", "/bulk/v1/leads/export/not-a-job/status.json", success=False)


@case(
    "importLeadUsingPOST",
    "getImportLeadStatusUsingGET",
    "getImportLeadFailuresUsingGET",
    "getImportLeadWarningsUsingGET",
)
def case_bulk_import(probe: Probe, sandbox: SandboxControl) -> None:
    csv_bytes = (
        b"email,firstName,seatsRequested\n"
        b"openapi-imp1@example.com,Ann,3\n"
        b"openapi-imp2@example.com,Bo,many\n"
    )
    created = probe.call(
        "POST",
        "/bulk/v1/leads.json",
        params={"format": "csv"},
        files={"file": ("leads.csv", csv_bytes, "text/csv")},
    )
    batch_id = created["result"][0]["batchId"]
    poll(
        lambda: probe.call("GET", f"/bulk/v1/leads/batch/{batch_id}.json")["result"][0],
        lambda s: s["status"] in ("Complete", "Failed"),
    )
    probe.file(f"/bulk/v1/leads/batch/{batch_id}/failures.json")
    probe.file(f"/bulk/v1/leads/batch/{batch_id}/warnings.json")
    probe.call("GET", "/bulk/v1/leads/batch/999999.json", success=False)
    probe.call(
        "POST",
        "/bulk/v1/leads.json",
        params={"format": "xml"},
        files={"file": ("leads.csv", csv_bytes, "text/csv")},
        success=False,
    )


@case("changeLeadProgramStatusUsingPOST")
def case_change_lead_program_status(probe: Probe, sandbox: SandboxControl) -> None:
    programs = {p["id"]: p for p in sandbox.objects("programs")}
    channels: dict[str, dict[str, int]] = {}
    for member in sandbox.objects("program_members"):
        channel = programs[member["programId"]]["channel"]
        if channel not in channels:
            found = probe.raw.call(
                "GET", "/rest/asset/v1/channel/byName.json", params={"name": channel}
            ).json()["result"][0]
            channels[channel] = {s["name"]: s["step"] for s in found["progressionStatuses"]}
        steps = channels[channel]
        later = [n for n, step in steps.items() if step > steps[member["statusName"]]]
        if later:
            break
    else:
        raise AssertionError("no seeded member below its channel's last status")
    program_id = member["programId"]
    path = f"/rest/v1/leads/programs/{program_id}/status.json"
    members = {m["leadId"] for m in sandbox.objects("program_members")
               if m["programId"] == program_id}
    outsider = next(lead["id"] for lead in sandbox.objects("leads") if lead["id"] not in members)
    body = probe.call(
        "POST",
        path,
        json={"status": later[0], "input": [{"id": member["leadId"]}, {"id": outsider}]},
    )
    assert [(r["id"], r["status"]) for r in body["result"]] == [
        (member["leadId"], "updated"),
        (outsider, "skipped"),
    ]
    probe.call(
        "POST",
        "/rest/v1/leads/programs/999999/status.json",
        json={"status": later[0], "input": [{"id": member["leadId"]}]},
        success=False,
    )


@case(
    "importProgramMemberUsingPOST",
    "getImportProgramMemberStatusUsingGET",
    "getImportProgramMemberFailuresUsingGET",
    "getImportProgramMemberWarningsUsingGET",
)
def case_program_member_import(probe: Probe, sandbox: SandboxControl) -> None:
    program = _one(sandbox, "programs", channel="Webinar")
    csv_bytes = (
        b"email,firstName,registrationCode,questionsAsked\n"
        b"openapi-pm1@example.com,Ann,R-1,2\n"
        b"openapi-pm2@example.com,Bo,R-2,several\n"
        b",NoEmail,R-3,1\n"
    )
    created = probe.call(
        "POST",
        f"/bulk/v1/program/{program['id']}/members/import.json",
        params={"format": "csv", "programMemberStatus": "Registered"},
        files={"file": ("members.csv", csv_bytes, "text/csv")},
    )
    batch_id = created["result"][0]["batchId"]
    done = poll(
        lambda: probe.call("GET", f"/bulk/v1/program/members/import/{batch_id}/status.json")[
            "result"
        ][0],
        lambda s: s["status"] in ("Complete", "Failed"),
    )
    assert (done["status"], done["numOfRowsFailed"], done["numOfRowsWithWarning"]) == (
        "Complete",
        1,
        1,
    )
    probe.file(f"/bulk/v1/program/members/import/{batch_id}/failures.json")
    probe.file(f"/bulk/v1/program/members/import/{batch_id}/warnings.json")
    probe.call("GET", "/bulk/v1/program/members/import/999999/status.json", success=False)
    probe.call(
        "POST",
        f"/bulk/v1/program/{program['id']}/members/import.json",
        params={"format": "csv", "programMemberStatus": "No Such Status"},
        files={"file": ("members.csv", csv_bytes, "text/csv")},
        success=False,
    )


@case(
    "importCustomObjectUsingPOST",
    "getImportCustomObjectStatusUsingGET",
    "getImportCustomObjectFailuresUsingGET",
    "getImportCustomObjectWarningsUsingGET",
)
def case_custom_object_import(probe: Probe, sandbox: SandboxControl) -> None:
    lead_id = sandbox.objects("leads")[0]["id"]
    csv_bytes = (
        b"vin,leadId,make,year\n"
        b"OPENAPI-VIN-1," + str(lead_id).encode() + b",Tesla,2024\n"
        b"OPENAPI-VIN-2," + str(lead_id).encode() + b",Ford,new\n"
        b"OPENAPI-VIN-3,999999999,Ford,2020\n"
    )
    base = "/bulk/v1/customobjects/car_c/import"
    created = probe.call(
        "POST",
        f"{base}.json",
        params={"format": "csv"},
        files={"file": ("cars.csv", csv_bytes, "text/csv")},
    )
    batch_id = created["result"][0]["batchId"]
    done = poll(
        lambda: probe.call("GET", f"{base}/{batch_id}/status.json")["result"][0],
        lambda s: s["status"] in ("Complete", "Failed"),
    )
    assert (done["status"], done["numOfObjectsProcessed"], done["numOfRowsFailed"]) == (
        "Complete",
        2,
        1,
    )
    probe.file(f"{base}/{batch_id}/failures.json")
    probe.file(f"{base}/{batch_id}/warnings.json")
    probe.call("GET", f"{base}/999999/status.json", success=False)
    probe.call(
        "POST",
        "/bulk/v1/customobjects/no_such_c/import.json",
        params={"format": "csv"},
        files={"file": ("cars.csv", csv_bytes, "text/csv")},
        success=False,
    )


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name, marks=pytest.mark.xfail(strict=True, reason=f"sandbox bug: {SANDBOX_BUGS[name]}")
        )
        if name in SANDBOX_BUGS
        else name
        for name in sorted(CASES)
    ],
)
def test_sandbox_responses_validate_against_adobes_swagger(
    name: str, raw: RawApi, openapi: OpenApi, sandbox: SandboxControl
) -> None:
    operation_ids, run = CASES[name]
    probe = Probe(raw, openapi)
    run(probe, sandbox)
    assert set(operation_ids) <= probe.seen, f"case did not reach {set(operation_ids) - probe.seen}"


def test_every_sandbox_route_in_the_swagger_has_a_validating_case(openapi: OpenApi) -> None:
    covered = {op for operation_ids, _ in CASES.values() for op in operation_ids}
    missing = []
    for route in router.routes:
        if route.kind == "control":
            continue
        for method in route.methods:
            op = openapi.operation(method, sandbox_rule_to_path(route.rule))
            if op is not None and op.operation_id not in covered:
                missing.append(f"{method} {route.rule} ({op.operation_id})")
    assert not missing, "sandbox routes described by Adobe's Swagger without a case:\n" + "\n".join(
        missing
    )


def _called_in(method: str, rule: str, sources: str) -> bool:
    """Whether some fidelity test calls the route: its path spelled with variables as
    f-string fields or literal values (``f"/rest/v1/leads/{lead_id}/listMembership.json"``),
    right after the method name unless the method is GET."""
    pattern = "".join(
        r"(?:\{[^}]*\}|[^/\"'\s{}]+)" if part.startswith("<") else re.escape(part)
        for part in re.split(r"(<[^>]+>)", rule)
    )
    path = r"f?[\"']" + pattern + r"[\"'?]"
    if method != "GET":
        path = rf"[\"']{method}[\"'],\s*" + path
    return re.search(path, sources) is not None


# Fidelity-only routes driven through a marketorestpython method rather than a spelled path.
THROUGH_MARKETORESTPYTHON = {("DELETE", "/rest/v1/leads.json"): "delete_lead"}


def _driven_by_marketorestpython(method: str, rule: str, sources: str) -> bool:
    name = THROUGH_MARKETORESTPYTHON.get((method, rule))
    if name is None:
        return False
    client_code = inspect.getsource(getattr(MarketoClient, name))
    calls_it = f"'{method.lower()}'" in client_code and f'"{rule}"' in client_code
    return calls_it and re.search(rf"\.{name}\(|method=[\"']{name}[\"']", sources) is not None


def test_every_fidelity_only_route_is_exercised_by_the_fidelity_tests(openapi: OpenApi) -> None:
    """Routes flagged ``fidelity_only`` exist for these tests alone: each must be driven
    here, by a validating case (its Swagger operation) or by a test calling its path."""
    covered = {op for operation_ids, _ in CASES.values() for op in operation_ids}
    sources = "\n".join(p.read_text() for p in sorted(Path(__file__).parent.glob("*.py")))
    flagged = [route for route in router.routes if route.fidelity_only]
    assert flagged, "no route is marked fidelity_only"
    missing = []
    for route in flagged:
        for method in route.methods:
            op = openapi.operation(method, sandbox_rule_to_path(route.rule))
            if op is not None and op.operation_id in covered:
                continue
            if _called_in(method, route.rule, sources) or _driven_by_marketorestpython(
                method, route.rule, sources
            ):
                continue
            missing.append(f"{method} {route.rule}")
    assert not missing, "fidelity-only routes no fidelity test exercises:\n" + "\n".join(missing)


def test_each_erratum_changes_the_spec_it_names(openapi: OpenApi) -> None:
    # A patch that matches nothing would be a silent no-op hiding a typo or a fixed spec.
    assert openapi.unknown_skips == []
    assert {e.name for e in SPEC_ERRATA} == set(openapi.applied)
    assert all(openapi.applied[e.name] > 0 for e in SPEC_ERRATA), openapi.applied


def test_unpatched_swagger_rejects_what_each_erratum_allows() -> None:
    """The errata are needed: without them Adobe's files reject Marketo-shaped answers."""
    strict = OpenApi(load_specs(), errata=())
    patched = OpenApi(load_specs())
    samples = {
        "getLeadByIdUsingGET": {"requestId": "a#1", "success": True, "result": [{"id": 1}]},
        "getLeadsByFilterUsingGET": {
            "requestId": "a#1",
            "success": False,
            "errors": [{"code": "1003", "message": "x"}],
        },
        "triggerCampaignUsingPOST": {"requestId": "a#1", "success": True, "result": [{"id": 3712}]},
        "syncProgramMemberStatusUsingPOST": {
            "requestId": "a#1",
            "success": True,
            "result": [
                {"seq": 0, "status": "skipped", "reasons": [{"code": "1037", "message": "x"}]},
                {"seq": 1, "status": "created", "leadId": 1235},
            ],
        },
        "importLeadUsingPOST": {
            "requestId": "a#1",
            "success": True,
            "result": [{"batchId": 3404, "importId": "3404", "status": "Queued"}],
        },
        "browseProgramsUsingGET": {
            "success": True,
            "errors": [],
            "requestId": "a#1",
            "warnings": [],
            "result": [
                {
                    "id": 1035,
                    "name": "n",
                    "type": "Engagement",
                    "channel": "Nurture",
                    "status": "",
                    "folder": {"type": "Folder", "value": 28, "folderName": "Nurturing"},
                }
            ],
        },
    }
    for op_id, body in samples.items():
        assert strict.errors(strict.by_id(op_id), body), f"{op_id}: Adobe's file already accepts it"
        assert patched.errors(patched.by_id(op_id), body) == [], op_id


def test_vendored_swagger_is_adobes_published_copy() -> None:
    """The vendored Swagger files and Adobe's licence still have the recorded SHA-256 digests.

    SHA256SUMS (``sha256sum`` format) was written from Adobe's published copies; a file edited
    by hand, or a spec file loaded by the validator but never recorded, fails here.
    """
    recorded: dict[str, str] = {}
    for line in VENDORED_SHA256SUMS.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        recorded[name.lstrip("*")] = digest
    assert set(recorded) == {"LICENSE", *SPEC_FILES}
    for name, digest in recorded.items():
        actual = hashlib.sha256((VENDORED_DIR / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} differs from the copy recorded in SHA256SUMS"


def test_error_codes_are_strings_on_the_wire(raw: RawApi) -> None:
    body = raw.call(
        "GET", "/rest/v1/leads.json", params={"filterType": "bogus", "filterValues": "1"}
    ).json()
    assert body["success"] is False
    assert isinstance(body["errors"][0]["code"], str)
    assert error_code(body) == "1003"
