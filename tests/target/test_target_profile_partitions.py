"""Lead partitions (sandbox profile ``partitions``: the API role reaches Default and EMEA,
not APAC). ``partition_name`` puts new leads where it says; a lead the role cannot write
(into APAC, or an existing APAC lead) is a reject with Marketo's 1008, reported with its
record; nothing is lost silently. Also: Request Campaign takes at most 100 leads a call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.testing import SandboxControl
from target_helpers import read_rejects, run_target

EMEA, APAC = 2, 3

LEAD_SCHEMA = {
    "type": "SCHEMA", "stream": "leads", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
        "lastName": {"type": ["string", "null"]},
    }},
}


def _lead(crm_id: str, last_name: str = "Partitioned") -> dict[str, Any]:
    return {"type": "RECORD", "stream": "leads",
            "record": {"crmContactId": crm_id, "email": f"{crm_id.lower()}@example.com",
                       "lastName": last_name}}


def _by_crm_id(sandbox: SandboxControl) -> dict[str, dict[str, Any]]:
    return {lead["crmContactId"]: lead for lead in sandbox.objects("leads")
            if lead.get("crmContactId")}


def test_partition_name_puts_new_leads_in_that_partition(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(PARTITIONS)
    run_target(target_config(partition_name="EMEA"), [LEAD_SCHEMA, _lead("PT-1"), _lead("PT-2")])
    leads = _by_crm_id(fast_sandbox)
    assert leads["PT-1"]["leadPartitionId"] == EMEA
    assert leads["PT-2"]["leadPartitionId"] == EMEA


def test_leads_into_a_partition_the_role_cannot_see_are_rejected_with_1008(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(PARTITIONS)
    before = fast_sandbox.objects("leads")
    config = target_config(partition_name="APAC", fail_on_rejects=False)
    run_target(config, [LEAD_SCHEMA, _lead("PT-3"), _lead("PT-4")])
    rejects = read_rejects(config["reject_file"])
    assert sorted((e["stream"], e["key"]["crmContactId"], e["code"]) for e in rejects) == [
        ("leads", "PT-3", "1008"), ("leads", "PT-4", "1008"),
    ]
    assert all(e["message"] == "Access denied to partition 'APAC'" for e in rejects)
    assert all(e["record"]["crmContactId"] in ("PT-3", "PT-4") for e in rejects)
    assert fast_sandbox.objects("leads") == before


def test_an_existing_lead_outside_the_roles_partitions_is_a_reject_not_a_duplicate(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    hidden = next(lead for lead in fast_sandbox.objects("leads")
                  if lead.get("leadPartitionId") == APAC and lead.get("crmContactId"))
    fast_sandbox.use_profiles(PARTITIONS)
    config = target_config(fail_on_rejects=False)
    run_target(config, [LEAD_SCHEMA, _lead(hidden["crmContactId"], "Renamed"), _lead("PT-5")])
    (reject,) = read_rejects(config["reject_file"])
    assert (reject["key"], reject["code"]) == ({"crmContactId": hidden["crmContactId"]}, "1008")
    leads = _by_crm_id(fast_sandbox)
    assert leads[hidden["crmContactId"]]["lastName"] == hidden["lastName"]
    assert leads["PT-5"]["leadPartitionId"] == 1
    same_id = [lead for lead in fast_sandbox.objects("leads")
               if lead.get("crmContactId") == hidden["crmContactId"]]
    assert len(same_id) == 1


def test_a_bulk_import_into_a_hidden_partition_reports_every_row(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    fast_sandbox.use_profiles(PARTITIONS)
    config = target_config(partition_name="APAC", fail_on_rejects=False,
                           bulk_import_threshold=1, bulk_import_poll_seconds=0.05)
    run_target(config, [LEAD_SCHEMA, _lead("PT-6"), _lead("PT-7")])
    rejects = read_rejects(config["reject_file"])
    # The import's failure file names the reason, not a code.
    assert sorted(e["key"]["crmContactId"] for e in rejects) == ["PT-6", "PT-7"]
    assert all("Access denied to partition 'APAC'" in e["message"] for e in rejects)
    assert not {"PT-6", "PT-7"} & set(_by_crm_id(fast_sandbox))


def test_request_campaign_is_sent_in_calls_of_at_most_100_leads(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    ids = [f"RC-{i:03d}" for i in range(250)]
    requests = [{"type": "RECORD", "stream": "campaign_requests",
                 "record": {"campaignId": 1001, "crmContactId": crm_id}} for crm_id in ids]
    schema = {"type": "SCHEMA", "stream": "campaign_requests", "key_properties": [],
              "schema": {"type": "object", "properties": {
                  "campaignId": {"type": ["integer"]}, "crmContactId": {"type": ["string"]}}}}
    run = run_target(target_config(), [LEAD_SCHEMA, *(_lead(i) for i in ids), schema, *requests])
    assert run.calls["campaign trigger"] == 3
    sent = fast_sandbox.objects("campaign_requests")
    assert sorted(len(r["leadIds"]) for r in sent) == [50, 100, 100]
    lead_ids = {lead["crmContactId"]: lead["id"] for lead in fast_sandbox.objects("leads")
                if lead.get("crmContactId") in set(ids)}
    assert sorted(i for r in sent for i in r["leadIds"]) == sorted(lead_ids.values())


def test_deleting_a_lead_outside_the_roles_partitions_is_reported_not_dropped(
    fast_sandbox: SandboxControl, target_config: Callable[..., dict[str, Any]]
) -> None:
    hidden = next(lead for lead in fast_sandbox.objects("leads")
                  if lead.get("leadPartitionId") == APAC and lead.get("crmContactId"))
    fast_sandbox.use_profiles(PARTITIONS)
    config = target_config(fail_on_rejects=False)
    delete = {"type": "RECORD", "stream": "leads",
              "record": {"crmContactId": hidden["crmContactId"],
                         "_sdc_deleted_at": "2026-01-01T00:00:00Z"}}
    schema = {**LEAD_SCHEMA, "schema": {"type": "object", "properties": {
        **LEAD_SCHEMA["schema"]["properties"], "_sdc_deleted_at": {"type": ["string", "null"]},
    }}}
    run_target(config, [schema, delete])
    assert hidden["id"] in {lead["id"] for lead in fast_sandbox.objects("leads")}
    # The role cannot find the lead at all: not a reject (a re-run's delete of a gone lead
    # looks the same), but a warning line naming the key and both possible reasons.
    assert read_rejects(config["reject_file"]) == []
    (warning,) = read_rejects(config["reject_file"], severity="warning")
    assert (warning["key"], warning["code"]) == ({"crmContactId": hidden["crmContactId"]}, "1004")
    assert "partition" in warning["message"]
    assert warning["record"]["crmContactId"] == hidden["crmContactId"]
