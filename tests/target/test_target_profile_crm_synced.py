"""On an instance with native CRM sync (sandbox profile ``crm-synced``) the target writes
the leads, and reports every company, opportunity, role and sales person record as a reject
with Marketo's 1018 "CRM Enabled", saying so once per stream in the log; nothing is lost
silently and nothing crashes (docs/MARKETO.md section 9)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from marketo_sandbox.profiles import CRM_SYNCED
from marketo_sandbox.testing import SandboxControl
from target_helpers import read_rejects, run_target
from target_marketo_crm.target import RejectThresholdExceeded


def _schema(stream: str, *names: str) -> dict[str, Any]:
    return {
        "type": "SCHEMA", "stream": stream, "key_properties": [],
        "schema": {"type": "object",
                   "properties": {n: {"type": ["string", "null"]} for n in names}},
    }


def _rec(stream: str, **record: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


CRM_OWNED_RECORDS = {"salespersons": 2, "companies": 3, "opportunities": 2,
                     "opportunity_roles": 1}


def _messages(deletes: bool = False) -> list[dict[str, Any]]:
    flag = {"IsDeleted": "true"} if deletes else {}
    return [
        _schema("leads", "crmContactId", "email", "lastName"),
        _rec("leads", crmContactId="CS-1", email="cs1@example.com", lastName="Synced"),
        _rec("leads", crmContactId="CS-2", email="cs2@example.com", lastName="Synced"),
        _schema("salespersons", "externalSalesPersonId", "email", "IsDeleted"),
        _rec("salespersons", externalSalesPersonId="SP-CS-1", email="a@crm.example", **flag),
        _rec("salespersons", externalSalesPersonId="SP-CS-2", email="b@crm.example", **flag),
        _schema("companies", "externalCompanyId", "company", "IsDeleted"),
        *(_rec("companies", externalCompanyId=f"ACC-CS-{i}", company=f"Synced {i}", **flag)
          for i in range(3)),
        _schema("opportunities", "externalOpportunityId", "name", "IsDeleted"),
        *(_rec("opportunities", externalOpportunityId=f"OPP-CS-{i}", name=f"Deal {i}", **flag)
          for i in range(2)),
        _schema("opportunity_roles", "externalOpportunityId", "crmContactId", "role",
                "IsDeleted"),
        _rec("opportunity_roles", externalOpportunityId="OPP-CS-0", crmContactId="CS-1",
             role="Champion", **flag),
        {"type": "STATE", "value": {"done": True}},
    ]


def _crm_owned_snapshot(sandbox: SandboxControl) -> dict[str, Any]:
    return {kind: sandbox.objects(kind) for kind in CRM_OWNED_RECORDS}


def test_leads_are_written_and_each_crm_owned_record_is_rejected_with_1018(
    fast_sandbox: SandboxControl,
    target_config: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast_sandbox.use_profiles(CRM_SYNCED)
    before = _crm_owned_snapshot(fast_sandbox)
    config = target_config(fail_on_rejects=False)
    with caplog.at_level(logging.WARNING):
        run = run_target(config, _messages())

    leads = {lead.get("crmContactId"): lead for lead in fast_sandbox.objects("leads")}
    assert leads["CS-1"]["email"] == "cs1@example.com"
    assert leads["CS-2"]["email"] == "cs2@example.com"
    assert _crm_owned_snapshot(fast_sandbox) == before

    rejects = read_rejects(config["reject_file"])
    by_stream: dict[str, int] = {}
    for entry in rejects:
        assert (entry["code"], entry["message"]) == ("1018", "CRM Enabled"), entry
        assert entry["record"], "a reject carries its record"
        by_stream[entry["stream"]] = by_stream.get(entry["stream"], 0) + 1
    assert by_stream == CRM_OWNED_RECORDS

    told = [r.getMessage() for r in caplog.records if "refuses writes of" in r.getMessage()]
    assert sorted(line.split(":")[0] for line in told) == sorted(
        f"Stream {stream}" for stream in CRM_OWNED_RECORDS
    ), "one line per stream, naming it"
    assert all("1018" in line and "CRM Enabled" in line for line in told)
    assert run.target.writer.crm_owned_objects() == dict.fromkeys(CRM_OWNED_RECORDS,
                                                                   "CRM Enabled")
    assert run.states == [{"done": True}], "the run completes and emits its state"


def test_deletes_of_crm_owned_records_are_rejected_the_same_way(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(CRM_SYNCED)
    config = target_config(fail_on_rejects=False, stream_objects={
        stream: {"object": stream, "delete_flag_field": "IsDeleted"}
        for stream in CRM_OWNED_RECORDS
    })
    run_target(config, _messages(deletes=True))
    rejects = read_rejects(config["reject_file"])
    assert {(e["stream"], e["op"], e["code"]) for e in rejects} == {
        (stream, "delete", "1018") for stream in CRM_OWNED_RECORDS
    }
    assert len(rejects) == sum(CRM_OWNED_RECORDS.values())


def test_after_the_first_refusal_the_rest_of_an_object_is_not_sent(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(CRM_SYNCED)
    config = target_config(fail_on_rejects=False, records_per_call=1, max_concurrency=1)
    run = run_target(config, _messages())
    crm_calls = {label: n for label, n in run.calls.items()
                 if label.split(" ")[0] in CRM_OWNED_RECORDS}
    # One record per call, one call at a time: the first answer settles the whole object.
    assert crm_calls == {f"{kind} createOrUpdate": 1 for kind in CRM_OWNED_RECORDS}
    assert len(read_rejects(config["reject_file"])) == sum(CRM_OWNED_RECORDS.values())


def test_by_default_the_run_fails_after_writing_what_it_could(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(CRM_SYNCED)
    config = target_config()
    with pytest.raises(RejectThresholdExceeded, match="rejected"):
        run_target(config, _messages())
    assert {"CS-1", "CS-2"} <= {lead.get("crmContactId") for lead in fast_sandbox.objects("leads")}
