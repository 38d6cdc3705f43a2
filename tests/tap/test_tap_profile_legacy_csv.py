"""The tap on an instance that writes bulk files the older way (sandbox profile legacy-csv).

Program member files write booleans as 1/0, quotes inside quoted text cells are left
unescaped, cells hold U+2028/U+2029, files come as ``text/csv`` without a charset. A full
and an incremental sync must still equal ground truth exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox.profiles import LEGACY_CSV
from marketo_sandbox.testing import SandboxControl
from tap_helpers import ground_truth_problems, merge_records, run_tap, select_only
from tap_marketo_crm.streams import programs

STREAMS = ("leads", "program_memberships", "custom_car_c", "activities_*")


@pytest.fixture
def writer(config: dict[str, Any]) -> Iterator[MarketoClient]:
    with MarketoClient(
        config["endpoint"], config["client_id"], config["client_secret"], rate_limit_calls=100_000
    ) as client:
        yield client


def _bulk_exports(sandbox: SandboxControl) -> dict[str, int]:
    calls = sandbox.calls()["endpoints"]
    return {k: v for k, v in calls.items() if k.startswith("POST /bulk/") and "create" in k}


def test_full_and_incremental_sync_equal_ground_truth_under_legacy_csv(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    writer: MarketoClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast_sandbox.use_profiles(LEGACY_CSV)
    # Memberships of every program through the bulk member export (the 1/0 file).
    monkeypatch.setattr(programs, "BULK_MEMBERS_FROM", 1)
    # The seed holds what the profile changes the spelling of: booleans of memberships,
    # lead notes with quotes and U+2028/U+2029.
    leads = fast_sandbox.objects("leads")
    assert any("\u2028" in str(lead.get("productInterestNotes")) for lead in leads)
    assert any('"ops"' in str(lead.get("productInterestNotes")) for lead in leads)
    members = fast_sandbox.objects("program_members")
    assert {m.get("reachedSuccess") for m in members} >= {True, False}
    # Free text typed by attendees, in a custom member field.
    member = sorted(members, key=lambda m: (m["programId"], m["leadId"]))[0]
    poll = 'Neutral: the "Q&A" part\u2028ran long\u2029"more" next time'
    synced = writer.post(
        f"/rest/v1/programs/{member['programId']}/members.json",
        json={"input": [{"leadId": member["leadId"], "pollResponse": poll}]},
    )["result"][0]
    assert synced["status"] == "updated", synced

    chosen = select_only(catalog, *STREAMS)
    fast_sandbox.reset_calls()
    full = run_tap(config, chosen)
    exports = _bulk_exports(fast_sandbox)
    assert exports.get("POST /bulk/v1/program/members/export/create.json", 0) >= 1, exports
    assert exports.get("POST /bulk/v1/leads/export/create.json", 0) >= 1, exports
    problems = ground_truth_problems(full.records, fast_sandbox, catalog, set(STREAMS))
    assert not problems, problems
    booleans = {r["reachedSuccess"] for r in full.records["program_memberships"]}
    assert booleans == {True, False}
    polls = {r.get("pollResponse") for r in full.records["program_memberships"]}
    assert poll in polls

    # -- writes whose values the legacy file spells with bare quotes and separators ----
    lead = sorted(leads, key=lambda r: r["id"])[20]
    note = 'Called back: "not now"\u2029try again "after" the fair\u2028(Q4)'
    updated = writer.post(
        "/rest/v1/leads.json",
        json={
            "action": "updateOnly",
            "lookupField": "id",
            "input": [{"id": lead["id"], "productInterestNotes": note, "title": 'The "Boss"'}],
        },
    )["result"][0]
    assert updated["status"] == "updated", updated
    program = sorted(fast_sandbox.objects("programs"), key=lambda p: p["id"])[0]
    status = writer.post(
        f"/rest/v1/programs/{program['id']}/members/status.json",
        json={"statusName": "Member", "input": [{"leadId": lead["id"]}]},
    )["result"][0]
    assert status["status"] in ("created", "updated"), status

    run = run_tap(config, chosen, full.state)
    emitted = {r["id"]: r for r in run.records["leads"]}
    assert emitted[lead["id"]]["productInterestNotes"] == note
    assert emitted[lead["id"]]["title"] == 'The "Boss"'
    merged = merge_records(full, run)
    problems = ground_truth_problems(merged, fast_sandbox, catalog, set(STREAMS))
    assert not problems, problems
