"""Profile ``crm-synced``: with native Salesforce / Dynamics sync the CRM owns companies,
opportunities, opportunity roles and sales persons. Marketo serves them read-only and
refuses each write or delete with 1018 "CRM Enabled"; leads stay writable and carry the
CRM's ids (docs/MARKETO.md section 9)."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox.profiles import CRM_SYNCED
from marketo_sandbox.testing import SandboxApi, SandboxControl
from sandbox_helpers import statuses

# (path, one record to write, the same record addressed for delete)
CRM_OWNED: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "companies": (
        "/rest/v1/companies",
        {"externalCompanyId": "crm-synced-co", "company": "Synced Co"},
        {"externalCompanyId": "crm-synced-co"},
    ),
    "opportunities": (
        "/rest/v1/opportunities",
        {"externalOpportunityId": "crm-synced-opp", "name": "Synced deal"},
        {"externalOpportunityId": "crm-synced-opp"},
    ),
    "opportunity_roles": (
        "/rest/v1/opportunities/roles",
        {"externalOpportunityId": "crm-synced-opp", "leadId": 1, "role": "Champion"},
        {"externalOpportunityId": "crm-synced-opp", "leadId": 1, "role": "Champion"},
    ),
    "salespersons": (
        "/rest/v1/salespersons",
        {"externalSalesPersonId": "crm-synced-rep", "email": "rep@example.com"},
        {"externalSalesPersonId": "crm-synced-rep"},
    ),
}


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


@pytest.mark.parametrize("kind", sorted(CRM_OWNED))
def test_crm_owned_writes_and_deletes_are_refused_with_1018(
    kind: str, api: SandboxApi, sandbox: SandboxControl
) -> None:
    path, record, key = CRM_OWNED[kind]
    before = sandbox.objects(kind)
    sandbox.use_profiles(CRM_SYNCED)

    synced = api.post(f"{path}.json", {"input": [record, record]})
    assert statuses(synced) == [("skipped", "1018"), ("skipped", "1018")]
    assert [r["seq"] for r in synced["result"]] == [0, 1]
    assert synced["result"][0]["reasons"][0]["message"] == "CRM Enabled"

    existing = before[0]
    deleted = api.post(
        f"{path}/delete.json", {"deleteBy": "dedupeFields", "input": [key, _key_of(kind, existing)]}
    )
    assert statuses(deleted) == [("skipped", "1018"), ("skipped", "1018")]
    assert sandbox.objects(kind) == before, "a refused write must change nothing"


def _key_of(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    _, _, key = CRM_OWNED[kind]
    return {name: record[name] for name in key}


@pytest.mark.parametrize("kind", sorted(CRM_OWNED))
def test_crm_owned_objects_stay_readable(
    kind: str, api: SandboxApi, sandbox: SandboxControl
) -> None:
    sandbox.use_profiles(CRM_SYNCED)
    path, _, _ = CRM_OWNED[kind]
    described = api.get(f"{path}/describe.json")
    assert described["success"] is True, described
    first = sandbox.objects(kind)[0]
    id_field = described["result"][0]["idField"]
    body = api.get(f"{path}.json", filterType="idField", filterValues=str(first[id_field]))
    assert body["success"] is True, body
    assert [r[id_field] for r in body["result"]] == [first[id_field]]


def test_without_the_profile_the_same_company_write_succeeds(api: SandboxApi) -> None:
    path, record, _ = CRM_OWNED["companies"]
    assert statuses(api.post(f"{path}.json", {"input": [record]})) == [("created", None)]


def test_leads_stay_writable_and_carry_crm_ids(api: SandboxApi, sandbox: SandboxControl) -> None:
    sandbox.use_profiles(CRM_SYNCED)
    synced = api.post(
        "/rest/v1/leads.json", {"input": [{"email": "synced.lead@example.com", "title": "VP"}]}
    )
    assert statuses(synced) == [("created", None)]
    leads = sandbox.objects("leads")
    contacts = [lead for lead in leads if lead.get("sfdcContactId")]
    crm_leads = [lead for lead in leads if lead.get("sfdcLeadId")]
    assert contacts, "the seed links leads to CRM contacts"
    assert crm_leads, "the seed links leads to CRM leads"
    assert all(lead["sfdcContactId"].startswith("003") for lead in contacts)
    assert {lead.get("sfdcType") for lead in contacts} == {"Contact"}
    assert {lead.get("sfdcType") for lead in crm_leads if not lead.get("sfdcContactId")} == {
        "Lead"
    }
    read = api.get(
        "/rest/v1/leads.json",
        filterType="id",
        filterValues=str(contacts[0]["id"]),
        fields="sfdcContactId,sfdcAccountId,sfdcLeadId,sfdcType",
    )
    assert read["result"][0]["sfdcContactId"] == contacts[0]["sfdcContactId"]
    assert read["result"][0]["sfdcType"] == "Contact"


def test_custom_objects_stay_writable_under_the_profile(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    sandbox.use_profiles(CRM_SYNCED)
    types = api.get("/rest/v1/customobjects.json")["result"]
    lead_linked = next(t for t in types if t.get("relationships"))
    described = api.get(f"/rest/v1/customobjects/{lead_linked['name']}/describe.json")["result"][0]
    assert described["dedupeFields"], described
    # A createOnly with nothing in it is refused for its missing key, not for the CRM.
    body = api.post(
        f"/rest/v1/customobjects/{lead_linked['name']}.json",
        {"action": "createOnly", "input": [{}]},
    )
    assert statuses(body) == [("skipped", "1003")]
