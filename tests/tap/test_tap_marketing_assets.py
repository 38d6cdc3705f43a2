"""Marketing asset streams beyond the design assets (templates, segmentations and
segments, smart lists, files, form fields, program tags, costs and tokens, tag types,
channels): discovered unselected with their keys; a full and an incremental sync equal
the sandbox's ground truth; whole-table streams end with ACTIVATE_VERSION so deletes
leave the warehouse; paging crosses the 200-per-call limit; and the quiet-run cost of
every asset stream together is the README's figure."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from tap_helpers import (
    activated_versions,
    catalog_entry,
    run_tap,
    select_only,
    stream_problems,
)

WHOLE_TABLE = (
    "email_templates",
    "landing_page_templates",
    "segmentations",
    "segments",
    "files",
    "form_fields",
    "program_tags",
    "program_costs",
    "program_tokens",
    "tag_types",
    "channels",
)
INCREMENTAL = ("smart_lists",)
NEW_STREAMS = (*WHOLE_TABLE, *INCREMENTAL)
KEYS = {
    "email_templates": ["id", "status"],
    "landing_page_templates": ["id", "status"],
    "segmentations": ["id", "status"],
    "segments": ["id", "status"],
    "smart_lists": ["id"],
    "files": ["id"],
    "form_fields": ["formId", "status", "id"],
    "program_tags": ["programId", "tagType"],
    "program_costs": ["programId", "index"],
    "program_tokens": ["folderType", "folderId", "name"],
    "tag_types": ["tagType"],
    "channels": ["id"],
}
# Every asset stream, the first slice's included: what "all asset streams" costs.
ALL_ASSET_STREAMS = ("emails", "forms", "landing_pages", "snippets", "folders", *NEW_STREAMS)


def test_streams_are_discovered_unselected_with_their_keys(catalog: dict[str, Any]) -> None:
    for name in NEW_STREAMS:
        entry = catalog_entry(catalog, name)
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert root.get("selected-by-default") is False, name
        assert root.get("selected") is not True, name
        assert entry["key_properties"] == KEYS[name], name
    assert catalog_entry(catalog, "smart_lists")["replication_key"] == "updatedAt"
    for name in WHOLE_TABLE:
        assert catalog_entry(catalog, name).get("replication_method") == "FULL_TABLE", name


def test_full_sync_equals_ground_truth_and_whole_tables_activate_their_version(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *NEW_STREAMS)
    run = run_tap(config, chosen)
    assert not run.incomplete
    for name in NEW_STREAMS:
        assert run.records.get(name), f"nothing emitted for {name}"
    assert not stream_problems(run.records, fast_sandbox, chosen, NEW_STREAMS)
    for name in WHOLE_TABLE:
        (version,) = activated_versions(run.messages, name)
        assert version > 0, name
    assert not activated_versions(run.messages, "smart_lists")
    # Draft and approved versions are rows of their own, told apart by status.
    for name in ("email_templates", "segmentations", "segments", "form_fields"):
        assert {r["status"] for r in run.records[name]} == {"approved", "draft"}, name
    channel = next(c for c in run.records["channels"] if c["name"] == "Webinar")
    assert any(s["success"] for s in channel["progressionStatuses"])


def test_incremental_sync_sees_changes_and_whole_tables_drop_deletes(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
    sandbox_info: dict[str, str],
) -> None:
    chosen = select_only(catalog, *NEW_STREAMS)
    full = run_tap(config, chosen)
    fixtures = Fixtures(sandbox_server)
    now = fixtures.store.now_ts()
    smart_list = fixtures.records("smart_lists")[0]
    changed = {**smart_list, "name": "Renamed audience", "updatedAt": now}
    fixtures.record("smart_lists", str(smart_list["id"]), changed)
    api = SandboxApi(sandbox_info)
    template = next(t for t in fast_sandbox.objects("email_templates") if t["status"] == "draft")
    assert api.post(f"/rest/asset/v1/emailTemplate/{template['id']}/delete.json")["success"]
    token = fast_sandbox.objects("program_tokens")[0]
    gone = api.request(
        "POST",
        f"/rest/asset/v1/folder/{token['folderId']}/tokens/delete.json",
        data={"folderType": token["folderType"], "name": token["name"], "type": token["type"]},
    ).json()
    assert gone["success"], gone
    field = fast_sandbox.objects("form_fields")[0]
    form_id, field_id = field["formId"], field["id"]
    assert api.post(f"/rest/asset/v1/form/{form_id}/field/{field_id}/delete.json")["success"]

    quiet = run_tap(config, chosen, full.state)
    assert not quiet.incomplete
    # The smart list range read returns what changed since the bookmark (less lookback).
    lists = quiet.records["smart_lists"]
    assert [r["name"] for r in lists if r["id"] == smart_list["id"]] == ["Renamed audience"]
    assert len(lists) < len(full.records["smart_lists"])
    merged = {"smart_lists": full.records["smart_lists"] + lists}
    assert not stream_problems(merged, fast_sandbox, chosen, INCREMENTAL)
    # A whole-table stream's new version holds exactly what Marketo lists now: the
    # deleted template and token are absent, and ACTIVATE_VERSION retires them.
    assert not stream_problems(quiet.records, fast_sandbox, chosen, WHOLE_TABLE)
    assert template["id"] not in {t["id"] for t in quiet.records["email_templates"]}
    assert (token["folderId"], token["name"]) not in {
        (t["folderId"], t["name"]) for t in quiet.records["program_tokens"]
    }
    # The field is off the form's draft (made by the delete), still on its approved version.
    assert (form_id, "draft", field_id) not in {
        (f["formId"], f["status"], f["id"]) for f in quiet.records["form_fields"]
    }
    assert (form_id, "approved", field_id) in {
        (f["formId"], f["status"], f["id"]) for f in quiet.records["form_fields"]
    }
    for name in WHOLE_TABLE:
        (version,) = activated_versions(quiet.messages, name)
        assert version > activated_versions(full.messages, name)[0]


@pytest.mark.parametrize(
    ("name", "kind_pk", "path"),
    [
        ("smart_lists", "{id}", "smartLists"),
        ("email_templates", "{id}:approved", "emailTemplates"),
        ("files", "{id}", "files"),
    ],
)
def test_paging_crosses_the_200_per_call_limit(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
    name: str,
    kind_pk: str,
    path: str,
) -> None:
    fixtures = Fixtures(sandbox_server)
    now = fixtures.store.now_ts()
    template = fixtures.records(name)[0]
    for aid in range(60_000, 60_260):
        fixtures.record(
            name,
            kind_pk.format(id=aid),
            {**template, "id": aid, "name": f"Bulk {aid}", "createdAt": now, "updatedAt": now},
        )
    chosen = select_only(catalog, name)
    fast_sandbox.reset_calls()
    run = run_tap(config, chosen)
    assert len(run.records[name]) > 260
    assert not stream_problems(run.records, fast_sandbox, chosen, (name,))
    # 200, then the rest (a short page ends the read).
    assert fast_sandbox.calls()["endpoints"][f"GET /rest/asset/v1/{path}.json"] == 2


def test_segments_page_within_a_segmentation(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
) -> None:
    fixtures = Fixtures(sandbox_server)
    segment = next(s for s in fixtures.records("segments") if s["status"] == "approved")
    for sid in range(70_000, 70_210):
        fixtures.record(
            "segments", f"{sid}:approved", {**segment, "id": sid, "name": f"Segment {sid}"}
        )
    chosen = select_only(catalog, "segments")
    run = run_tap(config, chosen)
    ours = [r for r in run.records["segments"] if r["segmentationId"] == segment["segmentationId"]]
    assert len(ours) > 210
    assert not stream_problems(run.records, fast_sandbox, chosen, ("segments",))


def test_quiet_run_of_every_asset_stream_costs_the_readmes_figure(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *ALL_ASSET_STREAMS)
    full = run_tap(config, chosen)
    programs = len(fast_sandbox.objects("programs"))
    marketing_folders = sum(
        1
        for f in fast_sandbox.objects("folders")
        if f["folderType"] == "Marketing Folder" and f["path"].startswith("/Marketing Activities")
    )
    form_versions = len(fast_sandbox.objects("forms"))
    segmentation_versions = len(fast_sandbox.objects("segmentations"))
    fast_sandbox.reset_calls()
    quiet = run_tap(config, chosen, full.state)
    assert not quiet.incomplete
    endpoints = fast_sandbox.calls()["endpoints"]
    asset_calls = sum(n for p, n in endpoints.items() if "/rest/asset/" in p)
    # One browse per stream while each holds under 200 (the first slice's five, templates,
    # segmentations, smart lists, files, tag types, channels: 12), the programs browse the
    # program streams share (1), one Get Program by Id per program (tags and costs share
    # them), one token read per program and per Marketing Activities folder, one segments
    # page per segmentation version, one fields read per form version: the folders,
    # segmentations and forms browses those start from are the streams' own, read once.
    expected = (
        5 + 2 + 1 + 1 + 1 + 1 + 1
        + 1
        + programs
        + programs + marketing_folders
        + segmentation_versions
        + form_versions
    )
    assert asset_calls == expected, endpoints
    # On the small seed (8 programs, 10 Marketing Activities folders over its three
    # workspaces, 4 segmentation and 5 form versions): the figure the README states.
    assert (programs, marketing_folders, segmentation_versions) == (8, 10, 4)
    assert asset_calls == 48


def test_an_asset_gone_between_browse_and_read_is_skipped_not_fatal(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    # Marketo answers 702 for an asset deleted after the browse listed it.
    gone = fast_sandbox.objects("program_tags")[0]["programId"]
    fast_sandbox.fault(path=rf"/rest/asset/v1/program/{gone}\.json", code="702", count=1)
    fast_sandbox.fault(path=rf"/rest/asset/v1/folder/{gone}/tokens\.json", code="702", count=1)
    form = fast_sandbox.objects("form_fields")[0]["formId"]
    fast_sandbox.fault(path=rf"/rest/asset/v1/form/{form}/fields\.json", code="702", count=1)
    chosen = select_only(catalog, "program_tags", "program_tokens", "form_fields")
    run = run_tap(config, chosen)
    assert not run.incomplete
    # The browse lists a form's approved version first: that read is the one refused.
    assert {"id": form, "status": "approved"}.items() <= fast_sandbox.objects("forms")[0].items()
    fields = {(r["formId"], r["status"]) for r in run.records["form_fields"]}
    assert (form, "approved") not in fields
    assert len(fields) == len(fast_sandbox.objects("forms")) - 1
    tagged = {r["programId"] for r in run.records["program_tags"]}
    assert gone not in tagged
    assert tagged == {t["programId"] for t in fast_sandbox.objects("program_tags")} - {gone}
    holders = {(r["folderType"], r["folderId"]) for r in run.records["program_tokens"]}
    assert ("Program", gone) not in holders
    assert holders
