"""Records Marketo refuses are reported with stream, key, code and message; the rest of
their batches is written, and the run fails only as the reject settings say."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_core import MarketoClient
from target_helpers import read_rejects, run_target
from target_marketo_crm.target import RejectThresholdExceeded

LEAD_SCHEMA = {
    "type": "SCHEMA", "stream": "leads", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
        "lastName": {"type": ["string", "null"]}, "favoriteColor": {"type": ["string", "null"]},
    }},
}
ROLE_SCHEMA = {
    "type": "SCHEMA", "stream": "opportunity_roles", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "externalOpportunityId": {"type": ["string", "null"]},
        "crmContactId": {"type": ["string", "null"]}, "role": {"type": ["string", "null"]},
    }},
}
COMPANY_SCHEMA = {
    "type": "SCHEMA", "stream": "companies", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "externalCompanyId": {"type": ["string", "null"]}, "company": {"type": ["string", "null"]},
    }},
}


def _rec(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def _messages() -> list[dict[str, Any]]:
    return [
        LEAD_SCHEMA,
        _rec("leads", {"crmContactId": "RJ-1", "email": "rj1@example.com", "lastName": "Good"}),
        _rec("leads", {"email": "nokey@example.com", "lastName": "No Key"}),
        _rec("leads", {"crmContactId": "RJ-2", "email": "rj2@example.com", "lastName": "Good"}),
        _rec("leads", {"crmContactId": "RJ-3", "lastName": "Colorful", "favoriteColor": "red"}),
        _rec("leads", {"crmContactId": "CT-DUP", "lastName": "Ambiguous"}),
        _rec("leads", {"crmContactId": "RJ-4", "email": "rj4@example.com", "lastName": "Good"}),
        COMPANY_SCHEMA,
        _rec("companies", {"company": "No External Id Inc"}),
        _rec("companies", {"externalCompanyId": "ACC-RJ", "company": "Fine Inc"}),
        ROLE_SCHEMA,
        _rec("opportunity_roles", {"externalOpportunityId": "0060000001MaqjWmGY",
                                   "crmContactId": "CT-DUP", "role": "Champion"}),
        _rec("opportunity_roles", {"externalOpportunityId": "0060000001MaqjWmGY",
                                   "crmContactId": "RJ-NOBODY", "role": "Champion"}),
        {"type": "STATE", "value": {"done": True}},
    ]


@pytest.fixture
def duplicate_leads(fast_sandbox: Any, sandbox_info: dict[str, str]) -> None:
    """Two Marketo leads sharing one CRM id: a lookup on it is ambiguous (1007)."""
    with MarketoClient(sandbox_info["endpoint"], sandbox_info["client_id"],
                       sandbox_info["client_secret"], identity=sandbox_info["identity"],
                       rate_limit_calls=1000) as client:
        for email in ("dup1@example.com", "dup2@example.com"):
            body = client.post("/rest/v1/leads.json", json={
                "action": "createDuplicate",
                "input": [{"email": email, "crmContactId": "CT-DUP", "lastName": "Dup"}],
            })
            assert body["result"][0]["status"] == "created"


def _by_key(entries: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    out = {}
    for e in entries:
        key = e["key"] or {}
        label = f"{e['stream']}:" + ",".join(f"{k}={v}" for k, v in sorted(key.items()))
        out[label] = (e["code"], e["message"])
    return out


def test_rejects_are_reported_with_codes_and_their_batches_still_written(
    fast_sandbox: Any, target_config: Any, duplicate_leads: None
) -> None:
    config = target_config(fail_on_rejects=False)
    run = run_target(config, _messages())

    rejects = read_rejects(config["reject_file"])
    codes = {(e["stream"], e["code"]) for e in rejects}
    assert codes == {
        ("leads", "1003"),  # no crmContactId: rejected before sending
        ("leads", "1006"),  # favoriteColor is no Marketo lead field
        ("leads", "1007"),  # two leads match CT-DUP: Marketo refuses to guess
        ("companies", "1003"),  # no externalCompanyId
        ("opportunity_roles", "1007"),  # its lead key is ambiguous too
        ("opportunity_roles", "1004"),  # no lead with that CRM id
    }
    assert len(rejects) == 6
    by_message = {e["code"]: e for e in rejects if e["stream"] == "leads"}
    assert "crmContactId" in by_message["1003"]["message"]
    assert "favoriteColor" in by_message["1006"]["message"]
    assert by_message["1006"]["key"] == {"crmContactId": "RJ-3"}
    assert by_message["1006"]["record"]["favoriteColor"] == "red"
    assert by_message["1007"]["key"] == {"crmContactId": "CT-DUP"}
    assert "Multiple leads" in by_message["1007"]["message"]

    written = {lead.get("crmContactId") for lead in fast_sandbox.objects("leads")}
    assert {"RJ-1", "RJ-2", "RJ-4"} <= written
    assert "RJ-3" not in written
    assert "ACC-RJ" in {c["externalCompanyId"] for c in fast_sandbox.objects("companies")}
    # Rejected records are handled records: the checkpoint after them goes out.
    assert run.states == [{"done": True}]
    assert run.target.rejects.total == 6


def test_unknown_fields_can_be_ignored_instead(
    fast_sandbox: Any, target_config: Any, duplicate_leads: None
) -> None:
    config = target_config(fail_on_rejects=False, unknown_fields="ignore")
    run_target(config, _messages())
    leads = {lead.get("crmContactId"): lead for lead in fast_sandbox.objects("leads")}
    assert leads["RJ-3"]["lastName"] == "Colorful"
    assert "1006" not in {e["code"] for e in read_rejects(config["reject_file"])}


def test_any_reject_fails_the_run_by_default_after_writing_the_rest(
    fast_sandbox: Any, target_config: Any, duplicate_leads: None
) -> None:
    config = target_config()
    with pytest.raises(RejectThresholdExceeded, match="6 of 10 records rejected"):
        run_target(config, _messages())
    written = {lead.get("crmContactId") for lead in fast_sandbox.objects("leads")}
    assert {"RJ-1", "RJ-2", "RJ-4"} <= written


def test_a_reject_share_under_the_threshold_passes(
    fast_sandbox: Any, target_config: Any, duplicate_leads: None
) -> None:
    run = run_target(target_config(max_reject_share=0.6), _messages())
    assert run.target.rejects.total == 6
    with pytest.raises(RejectThresholdExceeded):
        run_target(target_config(max_reject_share=0.5), _messages())


def test_a_missing_list_or_a_batch_campaign_rejects_its_records(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config(fail_on_rejects=False)
    messages = [
        LEAD_SCHEMA,
        _rec("leads", {"crmContactId": "RJ-9", "email": "rj9@example.com", "lastName": "X"}),
        {"type": "SCHEMA", "stream": "list_memberships", "key_properties": [],
         "schema": {"type": "object", "properties": {
             "listId": {"type": "integer"}, "crmContactId": {"type": "string"}}}},
        _rec("list_memberships", {"listId": 999999, "crmContactId": "RJ-9"}),
        _rec("list_memberships", {"listId": 1001, "crmContactId": "RJ-9"}),
        {"type": "SCHEMA", "stream": "campaign_requests", "key_properties": [],
         "schema": {"type": "object", "properties": {
             "campaignId": {"type": "integer"}, "crmContactId": {"type": "string"}}}},
        # 1002 is a batch campaign: it cannot be requested for a lead.
        _rec("campaign_requests", {"campaignId": 1002, "crmContactId": "RJ-9"}),
    ]
    run_target(config, messages)
    rejects = {(e["stream"], e["code"]): e["message"] for e in read_rejects(config["reject_file"])}
    assert set(rejects) == {("list_memberships", "1013"), ("campaign_requests", "1003")}
    assert "Campaign is Requested" in rejects[("campaign_requests", "1003")]
    lead_id = next(lead["id"] for lead in fast_sandbox.objects("leads")
                   if lead.get("crmContactId") == "RJ-9")
    assert {"listId": 1001, "leadId": lead_id} in [
        {"listId": m["listId"], "leadId": m["leadId"]} for m in fast_sandbox.objects("list_members")
    ]


def test_a_request_level_error_is_narrowed_down_to_the_record_that_caused_it(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config(fail_on_rejects=False)
    # The whole call, then the first half (one record), then the second half of three.
    fast_sandbox.fault(path=r"^/rest/v1/companies\.json$", method="POST", code="1001",
                       message="Invalid value for field 'company'", count=3)
    run_target(config, [
        COMPANY_SCHEMA,
        *(_rec("companies", {"externalCompanyId": f"ACC-SPLIT-{i}", "company": f"S{i}"})
          for i in range(3)),
    ])
    rejects = read_rejects(config["reject_file"])
    assert [(r["code"], r["key"]) for r in rejects] == [
        ("1001", {"externalCompanyId": "ACC-SPLIT-0"})
    ]
    written = {c["externalCompanyId"] for c in fast_sandbox.objects("companies")}
    assert {"ACC-SPLIT-1", "ACC-SPLIT-2"} <= written
    assert "ACC-SPLIT-0" not in written
