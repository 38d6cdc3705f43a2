"""A lead refused with 1021 ("company update not allowed"): its company-type fields come
out and the rest of the lead is written; when the record names its company, those fields
are written to that company instead of being lost."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from target_helpers import read_rejects, run_target
from target_marketo_crm.catalog import Catalog

LEAD_SCHEMA = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["crmContactId"],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": "string"}, "email": {"type": "string"},
        "lastName": {"type": "string"}, "externalCompanyId": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]}, "website": {"type": ["string", "null"]},
    }},
}


def _lead(**fields: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "leads", "record": fields}


@pytest.fixture
def describe_misses_website(monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance whose describes do not show ``website`` as a company-type field, while
    lead sync still refuses it on a linked lead (1021): the planner cannot route it."""
    original = Catalog.company_type_fields

    def fewer(self: Catalog) -> frozenset[str]:
        return original(self) - {"website"}

    monkeypatch.setattr(Catalog, "company_type_fields", fewer)


def _by_crm_id(sandbox: SandboxControl) -> dict[str, dict[str, Any]]:
    return {str(lead.get("crmContactId")): lead for lead in sandbox.objects("leads")}


def test_a_refused_field_of_a_lead_naming_its_company_goes_to_that_company(
    fast_sandbox: SandboxControl, target_config: Any, describe_misses_website: None
) -> None:
    config = target_config()
    run = run_target(config, [
        LEAD_SCHEMA,
        _lead(crmContactId="LL-1", email="ll1@example.com", lastName="Linked",
              externalCompanyId="ACC-LL", company="Linked Inc", website="https://ll.example"),
        {"type": "STATE", "value": {"n": 1}},
    ])

    assert read_rejects(config["reject_file"]) == []
    assert read_rejects(config["reject_file"], severity="warning") == []
    lead = _by_crm_id(fast_sandbox)["LL-1"]
    assert lead["lastName"] == "Linked"
    assert lead["externalCompanyId"] == "ACC-LL"
    company = next(c for c in fast_sandbox.objects("companies")
                   if c.get("externalCompanyId") == "ACC-LL")
    assert company["company"] == "Linked Inc"
    assert company["website"] == "https://ll.example"
    assert run.states == [{"n": 1}]
    outcomes = run.target.writer.tally.outcomes
    assert not any("rejected" in k for k in outcomes), outcomes


def test_a_lead_linked_in_marketo_only_loses_its_company_fields_with_a_warning(
    fast_sandbox: SandboxControl, target_config: Any, describe_misses_website: None
) -> None:
    config = target_config()
    run_target(config, [
        LEAD_SCHEMA,
        _lead(crmContactId="LL-2", email="ll2@example.com", lastName="First",
              externalCompanyId="ACC-LL2", company="Second Inc"),
    ])
    # The CRM's next push does not say which company the lead belongs to.
    run_target(config, [
        LEAD_SCHEMA,
        _lead(crmContactId="LL-2", lastName="Second", website="https://stale.example"),
    ])

    assert read_rejects(config["reject_file"]) == []
    (warning,) = read_rejects(config["reject_file"], severity="warning")
    assert warning["code"] == "1021"
    assert warning["key"] == {"crmContactId": "LL-2"}
    assert "website" in warning["message"]
    lead = _by_crm_id(fast_sandbox)["LL-2"]
    assert lead["lastName"] == "Second"
    company = next(c for c in fast_sandbox.objects("companies")
                   if c.get("externalCompanyId") == "ACC-LL2")
    assert not company.get("website")
