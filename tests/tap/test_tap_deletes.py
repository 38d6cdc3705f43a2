"""Deletes Marketo logs nothing for (programs, smart campaigns, static lists, emails,
smart lists, program members) reach the Singer output: a full sync, deletes through the API, an
incremental sync; the output applied as a loader applies it (a record with
``_sdc_deleted_at`` removes its key, ACTIVATE_VERSION drops older versions) equals the
sandbox's ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxControl
from tap_helpers import TapRun, diff_records, loaded_tables, normalize, run_tap, select_only
from tap_marketo_crm import deletes

# stream -> ground-truth kind
TRUTH = {
    "programs": "programs",
    "campaigns": "campaigns",
    "static_lists": "lists",
    "emails": "emails",
    "smart_lists": "smart_lists",
    "program_memberships": "program_members",
}


@pytest.fixture
def api(config: dict[str, Any]) -> Iterator[MarketoClient]:
    with MarketoClient(
        config["endpoint"], config["client_id"], config["client_secret"], rate_limit_calls=100_000
    ) as client:
        yield client


def _entry(catalog: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in catalog["streams"] if e["tap_stream_id"] == name)


def load(runs: list[TapRun], catalog: dict[str, Any]) -> dict[str, dict[tuple[Any, ...], Any]]:
    return loaded_tables(runs, catalog, TRUTH)


def loaded_problems(
    runs: list[TapRun], sandbox: SandboxControl, catalog: dict[str, Any], *streams: str
) -> dict[str, list[str]]:
    tables = load(runs, catalog)
    problems = {}
    for stream in streams:
        entry = _entry(catalog, stream)
        truth = [normalize(r, entry["schema"]) for r in sandbox.objects(TRUTH[stream])]
        held = [record for _, record in tables.get(stream, {}).values()]
        found = diff_records(held, truth, entry["key_properties"])
        if found:
            problems[stream] = found
    return problems


def deleted(run: TapRun, stream: str) -> list[dict[str, Any]]:
    return [r for r in run.records.get(stream, []) if r.get("_sdc_deleted_at")]


def ids(items: list[dict[str, Any]]) -> set[int]:
    return {int(item["id"]) for item in items}


def _delete(api: MarketoClient, path: str, asset_id: int) -> None:
    body = api.post(f"/rest/asset/v1/{path}/{asset_id}/delete.json")
    assert body["result"] == [{"id": asset_id}], body


def test_deleted_programs_campaigns_and_lists_reach_the_output(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    api: MarketoClient,
) -> None:
    streams = ("programs", "campaigns", "static_lists")
    # Emails and smart lists too: a program's local assets go with it (found by their
    # own scans).
    chosen = select_only(catalog, *streams, "emails", "smart_lists")
    full = run_tap(config, chosen)
    assert not deleted(full, "programs")
    before = {s: ids(fast_sandbox.objects(TRUTH[s])) for s in streams}

    # A campaign and a list of their own, and a program with what it holds.
    programs = fast_sandbox.objects("programs")
    campaigns = fast_sandbox.objects("campaigns")
    lists = fast_sandbox.objects("lists")
    # The program holding the most campaigns and lists (the small seed has a few).
    program = max(
        programs,
        key=lambda p: (
            sum(c.get("programId") == p["id"] for c in campaigns)
            + sum(x.get("programName") == p["name"] for x in lists)
        ),
    )
    held_campaigns = {c["id"] for c in campaigns if c.get("programId") == program["id"]}
    held_lists = {x["id"] for x in lists if x.get("programName") == program["name"]}
    held_emails = {
        e["id"]
        for e in fast_sandbox.objects("emails")
        if e["folder"] == {"type": "Program", "value": program["id"], "folderName": program["name"]}
    }
    held_smart_lists = {
        x["id"]
        for x in fast_sandbox.objects("smart_lists")
        if x["folder"] == {"id": program["id"], "type": "Program"}
    }
    assert held_campaigns or held_lists, "the seed's programs hold no campaign or list"
    assert held_smart_lists, "every seeded program has its audience smart list"
    campaign = next(c for c in campaigns if c["id"] not in held_campaigns)
    static_list = next(x for x in lists if x["id"] not in held_lists)
    _delete(api, "smartCampaign", campaign["id"])
    _delete(api, "staticList", static_list["id"])
    _delete(api, "program", program["id"])
    after = {s: ids(fast_sandbox.objects(TRUTH[s])) for s in streams}
    gone = {s: before[s] - after[s] for s in streams}
    # Deleting a program deletes what it holds.
    assert gone == {
        "programs": {program["id"]},
        "campaigns": {campaign["id"], *held_campaigns},
        "static_lists": {static_list["id"], *held_lists},
    }
    assert not held_smart_lists & ids(fast_sandbox.objects("smart_lists"))

    # Within the scan interval: campaigns and lists are read whole anyway, so their
    # deletes come out; programs are read by updatedAt range and wait for the scan.
    fast_sandbox.reset_calls()
    quiet = run_tap(config, chosen, full.state)
    assert fast_sandbox.calls()["endpoints"].get("GET /rest/asset/v1/programs.json") == 1
    assert ids(deleted(quiet, "campaigns")) == gone["campaigns"]
    assert ids(deleted(quiet, "static_lists")) == gone["static_lists"]
    assert not deleted(quiet, "programs")
    assert not deleted(quiet, "smart_lists")
    for record in deleted(quiet, "campaigns"):
        assert set(record) == {"id", "_sdc_deleted_at"}, record

    # The scan (interval 0: every run) finds the deleted program.
    scan = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, quiet.state)
    assert ids(deleted(scan, "programs")) == gone["programs"]
    (record,) = deleted(scan, "programs")
    assert set(record) == {"id", "_sdc_deleted_at"}
    assert not deleted(scan, "campaigns")  # each delete is emitted once
    assert ids(deleted(scan, "emails")) == held_emails
    assert ids(deleted(scan, "smart_lists")) == held_smart_lists
    assets = ("emails", "smart_lists")
    assert not loaded_problems([full, quiet, scan], fast_sandbox, catalog, *streams, *assets)

    # What the state remembers is what Marketo still has.
    again = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, scan.state)
    assert not any(deleted(again, s) for s in (*streams, *assets))


def test_a_scan_runs_once_per_interval(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    api: MarketoClient,
) -> None:
    chosen = select_only(catalog, "programs")
    full = run_tap(config, chosen)
    scanned_at = full.state["bookmarks"]["programs"]["last_delete_scan"]
    program = fast_sandbox.objects("programs")[-1]
    _delete(api, "program", program["id"])
    # Within the default interval (24 hours): no scan, the delete waits.
    quiet = run_tap(config, chosen, full.state)
    assert quiet.state["bookmarks"]["programs"]["last_delete_scan"] == scanned_at
    assert not deleted(quiet, "programs")
    # Once the interval has passed (the last scan moved back a day), the run scans.
    state = quiet.state
    state["bookmarks"]["programs"]["last_delete_scan"] = "2020-01-01T00:00:00Z"
    fast_sandbox.reset_calls()
    rescan = run_tap(config, chosen, state)
    assert rescan.state["bookmarks"]["programs"]["last_delete_scan"] > "2020-01-01T00:00:00Z"
    assert ids(deleted(rescan, "programs")) == {program["id"]}
    # The scan replaces the range call: one call per 200 programs (the seed has fewer).
    assert fast_sandbox.calls()["endpoints"].get("GET /rest/asset/v1/programs.json") == 1


def test_a_deleted_email_reaches_the_output_with_both_versions(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    api: MarketoClient,
) -> None:
    chosen = select_only(catalog, "emails")
    full = run_tap(config, chosen)
    emails = fast_sandbox.objects("emails")
    drafted = {e["id"] for e in emails if e["status"] == "draft"}
    email = next(e for e in emails if e["status"] == "approved" and e["id"] in drafted)
    _delete(api, "email", email["id"])

    quiet = run_tap(config, chosen, full.state)
    assert not deleted(quiet, "emails")
    scan = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, quiet.state)
    gone = deleted(scan, "emails")
    assert sorted((r["id"], r["status"]) for r in gone) == [
        (email["id"], "approved"),
        (email["id"], "draft"),
    ]
    assert all(set(r) == {"id", "status", "_sdc_deleted_at"} for r in gone)
    assert not loaded_problems([full, quiet, scan], fast_sandbox, catalog, "emails")


def test_an_approved_draft_deletes_the_draft_row_and_updates_the_approved_one(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
) -> None:
    chosen = select_only(catalog, "emails")
    full = run_tap(config, chosen)
    fixtures = Fixtures(sandbox_server)
    emails = fixtures.records("emails")
    draft = next(e for e in emails if e["status"] == "draft")
    # Approving a draft (Marketo): the draft's content becomes the approved version, and
    # the draft row is no longer listed.
    approved = {**draft, "status": "approved", "updatedAt": fixtures.store.now_ts()}
    fixtures.record("emails", f"{draft['id']}:approved", approved)
    assert fixtures.store.object_delete("emails", f"{draft['id']}:draft")

    scan = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, full.state)
    assert [(r["id"], r["status"]) for r in deleted(scan, "emails")] == [(draft["id"], "draft")]
    written = [r for r in scan.records["emails"] if not r.get("_sdc_deleted_at")]
    assert (draft["id"], "approved") in {(r["id"], r["status"]) for r in written}
    assert not loaded_problems([full, scan], fast_sandbox, catalog, "emails")
    known = scan.state["bookmarks"]["emails"]["known_ids"]
    assert draft["id"] not in deletes.unpack(known["draft"])
    assert draft["id"] in deletes.unpack(known["approved"])


def test_a_deleted_smart_list_reaches_the_output_at_the_next_scan(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    api: MarketoClient,
) -> None:
    chosen = select_only(catalog, "smart_lists")
    full = run_tap(config, chosen)
    assert "last_delete_scan" in full.state["bookmarks"]["smart_lists"]
    smart_list = fast_sandbox.objects("smart_lists")[0]
    _delete(api, "smartList", smart_list["id"])
    assert smart_list["id"] not in ids(fast_sandbox.objects("smart_lists"))

    # Within the scan interval the range read cannot see a delete: it waits.
    fast_sandbox.reset_calls()
    quiet = run_tap(config, chosen, full.state)
    assert fast_sandbox.calls()["endpoints"].get("GET /rest/asset/v1/smartLists.json") == 1
    assert not deleted(quiet, "smart_lists")
    # The scan (interval 0) finds it, once, as its key plus the flag.
    scan = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, quiet.state)
    (record,) = deleted(scan, "smart_lists")
    assert record["id"] == smart_list["id"]
    assert set(record) == {"id", "_sdc_deleted_at"}
    assert not loaded_problems([full, quiet, scan], fast_sandbox, catalog, "smart_lists")
    again = run_tap({**config, "delete_scan_interval_hours": 0}, chosen, scan.state)
    assert not deleted(again, "smart_lists")


def test_removed_program_members_are_dropped_by_the_versioned_re_read(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    api: MarketoClient,
) -> None:
    chosen = select_only(catalog, "programs", "program_memberships")
    full = run_tap(config, chosen)
    members = fast_sandbox.objects("program_members")
    member = members[0]
    body = api.post(
        f"/rest/v1/programs/{member['programId']}/members/delete.json",
        json={"input": [{"leadId": member["leadId"]}]},
    )
    assert body["result"][0]["status"] == "deleted", body
    # A program deleted with its members: no activity says so either.
    other = next(m["programId"] for m in members if m["programId"] != member["programId"])
    _delete(api, "program", other)
    assert not [m for m in fast_sandbox.objects("program_members") if m["programId"] == other]
    # And a lead deleted with its memberships (Delete Lead is no program activity).
    lead = next(
        m["leadId"]
        for m in members
        if m["programId"] not in (member["programId"], other)
        and m["leadId"] != member["leadId"]
    )
    body = api.post("/rest/v1/leads/delete.json", json={"input": [{"id": lead}]})
    assert body["result"][0]["status"] == "deleted", body
    assert lead not in {m["leadId"] for m in fast_sandbox.objects("program_members")}

    def of_memberships(run: TapRun) -> list[dict[str, Any]]:
        return [m for m in run.messages if m.get("stream") == "program_memberships"]

    # Between re-reads: changes only, carrying the version of the first sync's read.
    first = of_memberships(full)
    assert first[-1]["type"] == "ACTIVATE_VERSION"
    version = first[-1]["version"]
    assert {m.get("version") for m in first if m["type"] == "RECORD"} == {version}
    quiet = run_tap(config, chosen, full.state)
    assert not [m for m in of_memberships(quiet) if m["type"] == "ACTIVATE_VERSION"]
    assert {m.get("version") for m in of_memberships(quiet) if m["type"] == "RECORD"} <= {version}
    assert load([full, quiet], catalog)["program_memberships"].keys() > {
        (m["programId"], m["leadId"]) for m in fast_sandbox.objects("program_members")
    }, "without a re-read the removed memberships are still held"

    # The re-read (interval 0: every run) is a new version, activated after it.
    rescan = {**config, "membership_rescan_interval_days": 0, "delete_scan_interval_hours": 0}
    reread = run_tap(rescan, chosen, quiet.state)
    messages = of_memberships(reread)
    assert messages[-1]["type"] == "ACTIVATE_VERSION"
    assert messages[-1]["version"] > version
    assert not loaded_problems(
        [full, quiet, reread], fast_sandbox, catalog, "programs", "program_memberships"
    )
    # The next change-only run carries the new version.
    after = run_tap(config, chosen, reread.state)
    memberships_state = after.state["bookmarks"]["program_memberships"]
    assert memberships_state["whole_read_version"] == messages[-1]["version"]


def test_known_ids_are_kept_as_ranges() -> None:
    ids = {1, 2, 3, 7, 9, 10, 1000}
    packed = deletes.pack(ids)
    assert packed == [[1, 3], [7, 7], [9, 10], [1000, 1000]]
    assert deletes.unpack(packed) == ids
    assert deletes.pack([]) == []
    assert deletes.unpack(json.loads(json.dumps(packed))) == ids  # as state stores them
