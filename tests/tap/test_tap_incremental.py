"""After writes to the sandbox, an incremental sync emits exactly those changes (plus
boundary-second duplicates of the same keys) and the deletes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox.testing import SandboxControl
from tap_helpers import run_tap
from tap_marketo_crm import schemas as s


@pytest.fixture
def writer(config: dict[str, Any]) -> Iterator[MarketoClient]:
    with MarketoClient(
        config["endpoint"],
        config["client_id"],
        config["client_secret"],
        rate_limit_calls=100_000,
    ) as client:
        yield client


def _ids(records: list[dict[str, Any]], key: str = "id") -> set[Any]:
    return {r[key] for r in records}


def test_incremental_sync_emits_exactly_the_changes_and_the_deletes(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    writer: MarketoClient,
) -> None:
    full = run_tap(config, catalog)
    before_activities = {a["marketoGUID"] for a in fast_sandbox.objects("activities")}
    leads = sorted(fast_sandbox.objects("leads"), key=lambda r: r["id"])
    # Leads that carry no opportunity role and no list/program membership, so the test's
    # own changes are the only ones that touch them.
    changed, deleted, winner, loser, member = (leads[i] for i in (10, 11, 12, 13, 14))

    # -- the writes ---------------------------------------------------------------------
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    created = writer.post(
        "/rest/v1/leads.json",
        json={
            "action": "createOnly",
            "input": [{"email": email, "firstName": "Nova"}],
        },
    )["result"][0]
    assert created["status"] == "created", created
    new_lead_id = created["id"]
    updated = writer.post(
        "/rest/v1/leads.json",
        json={
            "action": "updateOnly",
            "lookupField": "id",
            "input": [{"id": changed["id"], "title": "Chief Testing Officer"}],
        },
    )["result"][0]
    assert updated["status"] == "updated", updated
    assert (
        writer.post("/rest/v1/leads/delete.json", json={"input": [{"id": deleted["id"]}]})[
            "result"
        ][0]["status"]
        == "deleted"
    )
    writer.post(f"/rest/v1/leads/{winner['id']}/merge.json", params={"leadIds": loser["id"]})

    opportunity_id = f"006TEST{uuid.uuid4().hex[:8]}"
    writer.post(
        "/rest/v1/opportunities.json",
        json={
            "action": "createOnly",
            "dedupeBy": "dedupeFields",
            "input": [{"externalOpportunityId": opportunity_id, "name": "Test deal"}],
        },
    )
    role = writer.post(
        "/rest/v1/opportunities/roles.json",
        json={
            "action": "createOnly",
            "dedupeBy": "dedupeFields",
            "input": [
                {
                    "externalOpportunityId": opportunity_id,
                    "leadId": member["id"],
                    "role": "Decision Maker",
                }
            ],
        },
    )["result"][0]
    assert role["status"] == "created", role

    program = sorted(fast_sandbox.objects("programs"), key=lambda p: p["id"])[0]
    status = writer.post(
        f"/rest/v1/programs/{program['id']}/members/status.json",
        json={
            "statusName": "Member",
            "input": [{"leadId": member["id"]}],
        },
    )["result"][0]
    assert status["status"] in ("created", "updated"), status

    lists = sorted(fast_sandbox.objects("lists"), key=lambda x: x["id"])
    add_list, remove_list = lists[0]["id"], lists[1]["id"]
    existing = [m for m in fast_sandbox.objects("list_members") if m["listId"] == remove_list]
    removed = existing[0]["leadId"]
    writer.post(f"/rest/v1/lists/{add_list}/leads.json", json={"input": [{"id": member["id"]}]})
    writer.request(
        "DELETE", f"/rest/v1/lists/{remove_list}/leads.json", json={"input": [{"id": removed}]}
    )

    # -- the incremental sync -------------------------------------------------------------
    run = run_tap(config, catalog, full.state)
    boundary = full.state["bookmarks"]["leads"]["replication_key_value"]

    # Leads: the new and the changed one, the merge winner (its record changed) and the
    # deletes; other leads only as boundary-second duplicates.
    live = [r for r in run.records["leads"] if not r.get("_sdc_deleted_at")]
    gone = {r["id"]: r for r in run.records["leads"] if r.get("_sdc_deleted_at")}
    assert {new_lead_id, changed["id"]} <= _ids(live)
    extra = [r for r in live if r["id"] not in {new_lead_id, changed["id"], winner["id"]}]
    assert all(r["updatedAt"] == boundary for r in extra), extra
    assert [r["title"] for r in live if r["id"] == changed["id"]][-1] == "Chief Testing Officer"
    assert set(gone) == {deleted["id"], loser["id"]}
    assert gone[loser["id"]]["_sdc_merged_into_lead_id"] == winner["id"]
    assert set(gone[deleted["id"]]) == {"id", "_sdc_deleted_at"}

    assert [r["leadId"] for r in run.records["deleted_leads"]] == [deleted["id"]]

    # Activities: exactly the ones the writes logged (the deleted lead's history is gone
    # with it, as in Marketo), in their own streams.
    after = {a["marketoGUID"]: a for a in fast_sandbox.objects("activities")}
    new_guids = {
        g for g, a in after.items() if g not in before_activities and a["activityTypeId"] != 37
    }
    emitted = {
        r["marketoGUID"]
        for name, rows in run.records.items()
        if name.startswith("activities_")
        for r in rows
    }
    assert new_guids, "the writes logged no activity"
    assert new_guids <= emitted
    stale = emitted - new_guids
    assert all(after[g]["activityDate"] == boundary for g in stale if g in after), stale

    assert [r["externalOpportunityId"] for r in run.records["opportunities"]] == [opportunity_id]
    assert [
        (r["externalOpportunityId"], r["leadId"]) for r in run.records["opportunity_roles"]
    ] == [(opportunity_id, member["id"])]
    memberships = [(r["programId"], r["leadId"]) for r in run.records["program_memberships"]]
    assert memberships == [(program["id"], member["id"])]

    list_changes = {(r["listId"], r["leadId"]): r for r in run.records["list_memberships"]}
    assert set(list_changes) == {(add_list, member["id"]), (remove_list, removed)}
    assert list_changes[(remove_list, removed)]["_sdc_deleted_at"]
    assert not list_changes[(add_list, member["id"])].get("_sdc_deleted_at")
    assert list_changes[(add_list, member["id"])]["createdAt"]

    # Custom objects, programs, lists, campaigns: nothing changed.
    for name in ("custom_car_c", "custom_subscription_c", "programs", "static_lists", "campaigns"):
        assert not run.records.get(name), (name, run.records.get(name))


def test_incremental_sync_reports_role_removals_by_compound_key(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    writer: MarketoClient,
) -> None:
    """A removed role is emitted as its compound key plus ``_sdc_deleted_at`` (the date of
    the Remove from Opportunity activity); a role removed and added again within the run
    window is emitted live."""
    full = run_tap(config, catalog)
    keys = ("externalOpportunityId", "leadId", "role")
    roles = sorted(fast_sandbox.objects("opportunity_roles"), key=lambda r: r["marketoGUID"])
    gone, back = roles[0], next(r for r in roles[1:] if r["leadId"] != roles[0]["leadId"])

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(record.get(k) for k in keys)

    def delete(role: dict[str, Any]) -> None:
        result = writer.post(
            "/rest/v1/opportunities/roles/delete.json",
            json={"deleteBy": "dedupeFields", "input": [{k: role[k] for k in keys}]},
        )["result"][0]
        assert result["status"] == "deleted", result

    delete(gone)
    delete(back)
    readded = writer.post(
        "/rest/v1/opportunities/roles.json",
        json={
            "action": "createOnly",
            "dedupeBy": "dedupeFields",
            "input": [{k: back[k] for k in (*keys, "isPrimary")}],
        },
    )["result"][0]
    assert readded["status"] == "created", readded
    removals = [
        a
        for a in fast_sandbox.objects("activities")
        if a["activityTypeId"] == 35
        and a["leadId"] == gone["leadId"]
        and s.to_object(a["attributes"]).get("Opportunity ID") == gone["externalOpportunityId"]
    ]
    assert removals

    run = run_tap(config, catalog, full.state)
    emitted = run.records["opportunity_roles"]
    assert {key(r) for r in emitted} == {key(gone), key(back)}
    deleted = [r for r in emitted if key(r) == key(gone)]
    assert len(deleted) == 1
    assert set(deleted[0]) == {*keys, "_sdc_deleted_at"}
    assert deleted[0]["_sdc_deleted_at"] == max(a["activityDate"] for a in removals)
    live = [r for r in emitted if key(r) == key(back)]
    assert len(live) == 1
    assert not live[0].get("_sdc_deleted_at")
    assert live[0]["marketoGUID"] == readded["marketoGUID"] != back["marketoGUID"]

    # The next run (nothing changed) emits no role beyond the lookback's re-reads, and
    # never the removed role as live.
    again = run_tap(config, catalog, run.state)
    assert not [
        r
        for r in again.records["opportunity_roles"]
        if key(r) == key(gone) and not r.get("_sdc_deleted_at")
    ]
