"""An API role that sees only some lead partitions (sandbox profile ``partitions``: Default
and EMEA, not APAC): no crash and no silent gap. Streams read by bulk export cover every
lead; streams read over REST cover the leads the role sees, as the README states per
stream; and the first-sync probes, which read over REST, never start a sync after a lead
the role cannot see."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox import SandboxServer
from marketo_sandbox.model.leads import LEAD_PARTITIONS
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from tap_helpers import (
    diff_records,
    ground_truth_problems,
    in_role_workspaces,
    merge_records,
    normalize,
    run_tap,
    select_only,
)
from tap_marketo_crm.probe import lead_floor, sees_every_partition

APAC = next(p["id"] for p in LEAD_PARTITIONS if p["name"] == "APAC")
# Streams whose records are about leads and are read over REST: the role's leads only.
REST_LEAD_STREAMS = {"list_memberships": "list_members"}
# Streams of assets, or read through assets: those of the role's workspaces only (the
# asset streams are compared in test_tap_profile_workspaces).
WORKSPACE_STREAMS = {
    "programs": "programs",
    "static_lists": "lists",
    "campaigns": "campaigns",
    "program_memberships": "program_members",
    "list_memberships": "list_members",
}


def _hidden(sandbox: SandboxControl) -> set[int]:
    return {
        lead["id"]
        for lead in sandbox.objects("leads")
        if int(lead.get("leadPartitionId") or 1) == APAC
    }


def _visible_problems(
    records: dict[str, list[dict[str, Any]]],
    sandbox: SandboxControl,
    catalog: dict[str, Any],
    hidden: set[int],
) -> dict[str, list[str]]:
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    problems = {}
    in_workspaces = in_role_workspaces(sandbox)
    for stream, kind in (REST_LEAD_STREAMS | WORKSPACE_STREAMS).items():
        schema, keys = entries[stream]["schema"], entries[stream]["key_properties"]
        truth = [
            normalize(r, schema)
            for r in sandbox.objects(kind)
            if in_workspaces(stream, r)
            and (stream not in REST_LEAD_STREAMS or r["leadId"] not in hidden)
        ]
        live = [r for r in records.get(stream, []) if not r.get("_sdc_deleted_at")]
        found = diff_records(live, truth, keys)
        if found:
            problems[stream] = found
    return problems


def test_full_and_incremental_sync_cover_each_streams_documented_population(
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_info: dict[str, str],
) -> None:
    writer = SandboxApi(sandbox_info)
    hidden = _hidden(fast_sandbox)
    assert hidden, "the seed has APAC leads"
    # Lists of the role's workspaces (one list lives in APAC Marketing, out of its reach).
    in_workspaces = in_role_workspaces(fast_sandbox)
    lists = sorted(
        m["listId"]
        for m in fast_sandbox.objects("list_members")
        if in_workspaces("list_memberships", m)
    )
    hidden_member = next(
        (m for m in fast_sandbox.objects("list_members") if m["leadId"] in hidden), None
    )
    if hidden_member is None:  # make the REST population visibly smaller than the truth
        Fixtures(sandbox_server).list_member(lists[0], min(hidden))
    fast_sandbox.use_profiles(PARTITIONS)

    full = run_tap(config, catalog)
    assert not full.incomplete
    rest_streams = set(REST_LEAD_STREAMS) | set(WORKSPACE_STREAMS)
    problems = ground_truth_problems(full.records, fast_sandbox, catalog)
    # Only the REST lead streams differ from the whole truth, and only by APAC leads.
    assert set(problems) == rest_streams, problems
    assert not _visible_problems(full.records, fast_sandbox, catalog, hidden)
    leads = {r["id"] for r in full.records["leads"]}
    assert hidden <= leads, "the bulk lead export covers every partition"

    # Changes to a lead of each kind, then an incremental run.
    seen_lead = min({lead["id"] for lead in fast_sandbox.objects("leads")} - hidden)
    hidden_lead = min(hidden)
    # The hidden lead is changed by someone whose role sees APAC (the profile off).
    fast_sandbox.use_profiles()
    _retitle(writer, hidden_lead, "Changed out of sight")
    writer.post(f"/rest/v1/lists/{lists[-1]}/leads.json", {"input": [{"id": hidden_lead}]})
    fast_sandbox.use_profiles(PARTITIONS)
    _retitle(writer, seen_lead, "Changed in sight")
    writer.post(f"/rest/v1/lists/{lists[-1]}/leads.json", {"input": [{"id": seen_lead}]})
    incremental = run_tap(config, catalog, full.state)
    assert not incremental.incomplete
    merged = merge_records(full, incremental)
    problems = ground_truth_problems(merged, fast_sandbox, catalog)
    assert set(problems) <= rest_streams, problems
    assert not _visible_problems(merged, fast_sandbox, catalog, hidden)
    changed = {r["id"]: r for r in incremental.records["leads"]}
    assert changed[seen_lead]["title"] == "Changed in sight"
    assert changed[hidden_lead]["title"] == "Changed out of sight"
    memberships = {(r["listId"], r["leadId"]) for r in incremental.records["list_memberships"]}
    assert (lists[-1], seen_lead) in memberships
    assert (lists[-1], hidden_lead) not in memberships


def _retitle(writer: SandboxApi, lead_id: int, title: str) -> None:
    body = writer.post(
        "/rest/v1/leads.json",
        {"action": "updateOnly", "lookupField": "id", "input": [{"id": lead_id, "title": title}]},
    )
    assert body["result"][0]["status"] == "updated", body


def test_a_lowest_lead_out_of_sight_does_not_make_the_first_sync_start_late(
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    config: dict[str, Any],
    catalog: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fixtures = Fixtures(sandbox_server)
    lowest = min(lead["id"] for lead in fast_sandbox.objects("leads"))
    # Months before any other lead, and in a partition the role does not see: a probe
    # trusting what REST shows would start the lead export after it.
    early = "2025-07-01T08:00:00Z"
    data = fixtures.lead_record(lowest)
    assert data is not None
    fixtures.remove_lead(lowest)
    fixtures.lead(**{**data, "leadPartitionId": APAC, "createdAt": early, "updatedAt": early})
    others = [lead["createdAt"] for lead in fast_sandbox.objects("leads") if lead["id"] != lowest]
    assert min(others)[:7] > early[:7]
    fast_sandbox.use_profiles(PARTITIONS)

    with caplog.at_level(logging.INFO):
        run = run_tap(config, select_only(catalog, "leads"))
    emitted = {r["id"] for r in run.records["leads"]}
    assert lowest in emitted
    assert not ground_truth_problems(run.records, fast_sandbox, catalog, {"leads"})
    assert any("REST may not show every partition" in r.getMessage() for r in caplog.records)


def test_the_probes_trust_rest_only_when_every_partition_shows_a_lead(
    fast_sandbox: SandboxControl, config: dict[str, Any]
) -> None:
    log = logging.getLogger("test.probe")
    with MarketoClient(
        config["endpoint"], config["client_id"], config["client_secret"],
        rate_limit_calls=100_000,
    ) as client:  # fmt: skip
        assert sees_every_partition(client, log) is True
        assert lead_floor(client, log) is not None
        fast_sandbox.use_profiles(PARTITIONS)
        assert sees_every_partition(client, log) is False
        lowest_visible = min(
            lead["id"] for lead in fast_sandbox.objects("leads")
            if int(lead.get("leadPartitionId") or 1) != APAC
        )  # fmt: skip
        floor = lead_floor(client, log)
        # Lead 1 visible: nothing is older, whatever the role hides; otherwise no bound.
        assert (floor is not None) == (lowest_visible == 1)
