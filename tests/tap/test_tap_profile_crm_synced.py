"""A CRM-synced instance (sandbox profile ``crm-synced``: native Salesforce sync owns
companies, opportunities, roles and sales persons, and leads carry the CRM's ids): a
full and an incremental run of the lead and CRM streams equal the ground truth exactly,
and the leads carry their CRM ids (docs/MARKETO.md section 9)."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.profiles import CRM_SYNCED
from marketo_sandbox.testing import SandboxApi, SandboxControl
from tap_helpers import catalog_entry, ground_truth_problems, merge_records, run_tap, select_only

STREAMS = ("leads", "companies", "opportunities", "opportunity_roles", "salespersons")
CRM_IDS = ("sfdcLeadId", "sfdcContactId", "sfdcAccountId", "sfdcType")


def _crm_ids(records: list[dict[str, Any]]) -> dict[int, tuple[Any, ...]]:
    return {r["id"]: tuple(r.get(f) for f in CRM_IDS) for r in records if r.get("sfdcType")}


def test_full_and_incremental_runs_equal_ground_truth_on_a_crm_synced_instance(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_info: dict[str, str],
) -> None:
    fast_sandbox.use_profiles(CRM_SYNCED)
    chosen = select_only(catalog, *STREAMS)
    lead_fields = catalog_entry(chosen, "leads")["schema"]["properties"]
    assert set(CRM_IDS) <= set(lead_fields), "the lead schema has the CRM id fields"

    full = run_tap(config, chosen)
    assert not full.incomplete
    assert not ground_truth_problems(full.records, fast_sandbox, chosen, set(STREAMS))
    for stream in STREAMS:
        assert full.records.get(stream), f"the first run wrote no {stream}"
    # The leads carry the CRM's ids: contacts (003...) and CRM leads (00Q...).
    emitted = _crm_ids(full.records["leads"])
    assert emitted == _crm_ids(fast_sandbox.objects("leads"))
    types = {ids[3] for ids in emitted.values()}
    assert types == {"Contact", "Lead"}, types
    contact = next(i for i, ids in sorted(emitted.items()) if ids[3] == "Contact")
    assert emitted[contact][1].startswith("003")

    # A lead changed through the API (leads stay writable); a write of a CRM-owned
    # object is refused with 1018 and changes nothing.
    api = SandboxApi(sandbox_info)
    updated = api.post(
        "/rest/v1/leads.json",
        {
            "action": "updateOnly",
            "lookupField": "id",
            "input": [{"id": contact, "title": "Synced VP"}],
        },
    )
    assert updated["result"][0]["status"] == "updated", updated
    company = fast_sandbox.objects("companies")[0]
    refused = api.post(
        "/rest/v1/companies.json",
        {"input": [{"externalCompanyId": company["externalCompanyId"], "company": "Renamed"}]},
    )
    assert refused["result"][0]["reasons"][0]["code"] == "1018", refused
    # The CRM's own change to an opportunity, written by the native sync (the one writer
    # Marketo lets through: here the profile off for that write), logs Update
    # Opportunity on its roles' leads as any opportunity update does.
    role = fast_sandbox.objects("opportunity_roles")[0]
    opportunity = role["externalOpportunityId"]
    fast_sandbox.use_profiles()
    synced = api.post(
        "/rest/v1/opportunities.json",
        {
            "action": "updateOnly",
            "input": [{"externalOpportunityId": opportunity, "nextStep": "Signed"}],
        },
    )
    fast_sandbox.use_profiles(CRM_SYNCED)
    assert synced["result"][0]["status"] == "updated", synced

    incremental = run_tap(config, chosen, full.state)
    assert not incremental.incomplete
    changed = {r["id"]: r for r in incremental.records.get("leads", [])}
    assert changed[contact]["title"] == "Synced VP"
    opportunities = {r["externalOpportunityId"]: r for r in incremental.records["opportunities"]}
    assert opportunities[opportunity]["nextStep"] == "Signed"
    assert _crm_ids([changed[contact]]) == {contact: emitted[contact]}
    merged = merge_records(full, incremental)
    assert not ground_truth_problems(merged, fast_sandbox, chosen, set(STREAMS))
    assert "Renamed" not in {r.get("company") for r in merged["companies"]}
