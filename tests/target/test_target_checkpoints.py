"""STATE goes out only once every record before it is in Marketo; dry runs write nothing."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from marketo_sandbox.testing import SandboxControl
from target_helpers import DATA, read_rejects, run_target, singer_lines
from target_marketo_crm import TargetMarketoCRM

LEAD_SCHEMA = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["crmContactId"],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": "string"}, "email": {"type": "string"},
        "lastName": {"type": "string"}}},
}
ROLE_SCHEMA = {
    "type": "SCHEMA", "stream": "opportunity_roles", "key_properties": [],
    "schema": {"type": "object", "properties": {
        "externalOpportunityId": {"type": "string"}, "crmContactId": {"type": "string"},
        "role": {"type": "string"}}},
}


def _checkpointed_file(n: int, every: int) -> list[dict[str, Any]]:
    # Roles come BEFORE their leads in the stream: each drain must still write the
    # leads first.
    messages: list[dict[str, Any]] = [ROLE_SCHEMA, LEAD_SCHEMA]
    for i in range(1, n + 1):
        messages.append({"type": "RECORD", "stream": "opportunity_roles", "record": {
            "externalOpportunityId": "0060000001MaqjWmGY", "crmContactId": f"ST-{i}",
            "role": "Evaluator"}})
        messages.append({"type": "RECORD", "stream": "leads", "record": {
            "crmContactId": f"ST-{i}", "email": f"st{i}@example.com", "lastName": f"S{i}"}})
        if i % every == 0:
            messages.append({"type": "STATE", "value": {"written": i}})
    return messages


def test_each_state_is_emitted_after_the_records_before_it_are_in_marketo(
    fast_sandbox: SandboxControl, target_config: Any
) -> None:
    seen_at_state: list[tuple[dict[str, Any], set[str], int]] = []

    class Observed(TargetMarketoCRM):
        def _write_state_message(self, state: dict) -> None:
            leads = {str(lead.get("crmContactId")) for lead in fast_sandbox.objects("leads")}
            roles = len([r for r in fast_sandbox.objects("opportunity_roles")
                         if r["role"] == "Evaluator" and r["externalOpportunityId"]
                         == "0060000001MaqjWmGY"])
            seen_at_state.append((state, leads, roles))
            super()._write_state_message(state)

    config = target_config(max_buffer_records=6)
    target = Observed(config=config, parse_env_config=False)
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(singer_lines(_checkpointed_file(12, every=4))))

    assert [s for s, _, _ in seen_at_state][-1] == {"written": 12}
    assert len(seen_at_state) >= 3  # several drains, several checkpoints
    baseline_roles = seen_at_state[0][2] - 0
    for state, leads, roles in seen_at_state:
        n = state["written"]
        assert {f"ST-{i}" for i in range(1, n + 1)} <= leads, state
        assert roles >= n, (state, roles, baseline_roles)
    assert read_rejects(config["reject_file"]) == []


def test_dry_run_plans_calls_and_writes_nothing(
    fast_sandbox: SandboxControl, target_config: Any
) -> None:
    before = {kind: fast_sandbox.objects(kind) for kind in (
        "leads", "companies", "salespersons", "opportunities", "opportunity_roles",
        "program_members", "list_members", "campaign_requests")}
    fast_sandbox.reset_calls()

    run = run_target(target_config(dry_run=True), DATA / "crm_day1.singer")

    endpoints = fast_sandbox.calls()["endpoints"]
    assert endpoints, "describe calls are expected"
    assert all(key.startswith("GET ") for key in endpoints), endpoints
    assert {kind: fast_sandbox.objects(kind) for kind in before} == before
    report = run.target.dry_run_report
    assert report["calls"] == {
        "salespersons createOrUpdate": 1,
        "companies createOrUpdate": 1,
        "leads createOrUpdate": 1,
        "program_members status": 2,
        "program_members fields": 1,
        "list_members add": 1,
        "opportunities createOrUpdate": 1,
        "opportunity_roles createOrUpdate": 1,
        "customobjects/car_c createOrUpdate": 1,
        "customobjects/subscription_c createOrUpdate": 1,
        "campaign trigger": 1,
    }
    assert report["records"] == 28
    # The checkpoint is still relayed: a dry run has nothing left to write.
    assert run.states == [{"bookmarks": {"crm": {"day": 1}}}]
