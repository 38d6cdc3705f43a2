"""Large lead loads go through bulk lead import; its failures and warnings are read back
into the reject file, and the leads it created are found again for their roles."""

from __future__ import annotations

from typing import Any

from target_helpers import read_rejects, run_target
from test_target_rejects import duplicate_leads  # noqa: F401 - fixture

LEAD_SCHEMA = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["crmContactId"],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": "string"}, "email": {"type": "string"},
        "lastName": {"type": "string"}, "seatsRequested": {"type": ["string", "integer"]}}},
}
ROLE_SCHEMA = {
    "type": "SCHEMA", "stream": "opportunity_roles", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "externalOpportunityId": {"type": "string"}, "crmContactId": {"type": "string"},
        "role": {"type": "string"}}},
}


def _lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "leads", "record": {
        "crmContactId": f"BI-{i}", "email": f"bi{i}@example.com", "lastName": f"Bulk {i}",
        **extra}}


def test_a_large_load_is_imported_in_bulk_with_failures_and_warnings_reported(
    fast_sandbox: Any, target_config: Any, duplicate_leads: None  # noqa: F811
) -> None:
    config = target_config(bulk_import_threshold=5, fail_on_rejects=False,
                           bulk_import_poll_seconds=0.2)
    fast_sandbox.reset_calls()
    messages = [
        LEAD_SCHEMA,
        *(_lead(i, seatsRequested=10 * i) for i in range(1, 6)),
        # Two Marketo leads carry CT-DUP: the import fails that row (ambiguous lookup).
        {"type": "RECORD", "stream": "leads", "record": {
            "crmContactId": "CT-DUP", "lastName": "Which one"}},
        # Not an integer: Marketo imports the row without the value, with a warning.
        _lead(6, seatsRequested="lots"),
        ROLE_SCHEMA,
        {"type": "RECORD", "stream": "opportunity_roles", "record": {
            "externalOpportunityId": "0060000001MaqjWmGY", "crmContactId": "BI-3",
            "role": "Technical Buyer"}},
        {"type": "STATE", "value": {"bulk": "done"}},
    ]
    run = run_target(config, messages)

    endpoints = fast_sandbox.calls()["endpoints"]
    assert endpoints.get("POST /rest/v1/leads.json") is None  # no REST lead sync at all
    assert sum(n for k, n in endpoints.items() if k.startswith("POST /bulk/v1/leads")) == 1

    leads = {lead.get("crmContactId"): lead for lead in fast_sandbox.objects("leads")}
    for i in range(1, 7):
        assert leads[f"BI-{i}"]["lastName"] == f"Bulk {i}"
    assert leads["BI-2"]["seatsRequested"] == 20
    assert leads["BI-6"].get("seatsRequested") is None

    rejects = read_rejects(config["reject_file"])
    assert [(r["code"], r["key"]) for r in rejects] == [
        ("bulk_import_failure", {"crmContactId": "CT-DUP"})
    ]
    assert rejects[0]["stream"] == "leads"
    assert rejects[0]["record"] == {"crmContactId": "CT-DUP", "lastName": "Which one"}
    warnings = read_rejects(config["reject_file"], severity="warning")
    assert [(w["code"], w["key"]) for w in warnings] == [
        ("bulk_import_warning", {"crmContactId": "BI-6"})
    ]
    assert "seatsRequested" in warnings[0]["message"]

    # The role's lead was created by the import (no id came back): looked up, then written.
    roles = [r for r in fast_sandbox.objects("opportunity_roles")
             if r["leadId"] == leads["BI-3"]["id"]]
    assert [r["role"] for r in roles] == ["Technical Buyer"]
    assert run.states == [{"bulk": "done"}]
