"""The ``two-users`` profile and the target: a bulk import batch belongs to the API user
that submitted it. The target keeps a batch within one run, under one token (it never
resumes a batch id from an earlier run), so a load made with the second API user's
credentials reads its own status, failures and warnings back; the other user cannot."""

from __future__ import annotations

from typing import Any

from marketo_sandbox import SandboxServer
from marketo_sandbox.auth import api_users
from marketo_sandbox.testing import SandboxApi, SandboxControl
from target_helpers import read_rejects, run_target

LEADS = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["crmContactId"],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": "string"}, "email": {"type": "string"},
        "lastName": {"type": "string"}, "seatsRequested": {"type": ["string", "integer"]}}},
}  # fmt: skip


def test_a_bulk_load_with_the_second_users_credentials_reads_its_own_batch(
    fast_sandbox: SandboxControl, sandbox_server: SandboxServer, target_config: Any
) -> None:
    fast_sandbox.use_profiles("two-users")
    first, second = api_users(sandbox_server.config)
    config = target_config(
        client_id=second.client_id,
        client_secret=second.client_secret,
        bulk_import_threshold=3,
        bulk_import_poll_seconds=0.2,
        fail_on_rejects=False,
    )
    records = [
        {"type": "RECORD", "stream": "leads", "record": {
            "crmContactId": f"TU-{i}", "email": f"tu{i}@example.com", "lastName": f"Two {i}",
            "seatsRequested": "many" if i == 3 else i}}
        for i in range(1, 5)
    ]  # fmt: skip
    run_target(config, [LEADS, *records])

    leads = {lead.get("crmContactId"): lead for lead in fast_sandbox.objects("leads")}
    assert all(leads[f"TU-{i}"]["lastName"] == f"Two {i}" for i in range(1, 5))
    # The warning row came back from the batch's warnings file, read with B's token.
    warnings = read_rejects(config["reject_file"], severity="warning")
    assert [(w["code"], w["key"]) for w in warnings] == [
        ("bulk_import_warning", {"crmContactId": "TU-3"})
    ]
    paths = fast_sandbox.calls()["paths"]
    batch_paths = [p for p in paths if p.startswith("/bulk/v1/leads/batch/")]
    assert batch_paths, paths
    batch_id = batch_paths[0].split("/")[5].split(".")[0]

    # The first API user does not see the second one's batch.
    other = SandboxApi(
        {"endpoint": sandbox_server.url, "client_id": first.client_id,
         "client_secret": first.client_secret}
    )  # fmt: skip
    refused = other.get(f"/bulk/v1/leads/batch/{batch_id}.json")
    assert refused["success"] is False
    assert refused["errors"][0]["code"] == "1003"
