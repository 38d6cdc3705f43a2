"""An API role that reads only some workspaces' assets (sandbox profile ``partitions``:
Default and EMEA Marketing, not APAC Marketing): no crash and no silent surprise. A full
and an incremental run of every asset stream, programs, static lists and campaigns (and
program memberships, read per program) load exactly the part of ground truth in the
role's workspaces, and flag nothing deleted while the role stays the same. A role that
loses a workspace looks to the tap as to any API client like a delete of that workspace's
assets (the README says so, and a test pins it down); a role that gains one comes to read
its assets although none is newer than the bookmark."""

from __future__ import annotations

from typing import Any

from marketo_sandbox import SandboxServer
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.testing import Fixtures, SandboxControl
from tap_helpers import (
    TapRun,
    catalog_entry,
    diff_records,
    in_role_workspaces,
    loaded_tables,
    normalize,
    run_tap,
    select_only,
)

APAC = "APAC Marketing"
EMEA = "EMEA Marketing"

# stream -> ground truth kind
TRUTH = {
    name: name
    for name in (
        "emails", "forms", "landing_pages", "snippets", "folders", "email_templates",
        "landing_page_templates", "segmentations", "segments", "smart_lists", "files",
        "form_fields", "program_tags", "program_costs", "program_tokens", "tag_types",
        "channels", "programs", "campaigns",
    )
} | {"static_lists": "lists", "program_memberships": "program_members"}  # fmt: skip
# Streams whose deletes are flagged by comparing ids (docs: README "Deletes").
FLAGGED = ("programs", "campaigns", "static_lists", "emails", "smart_lists")


def _visible_truth(
    sandbox: SandboxControl, catalog: dict[str, Any], stream: str, hidden: str | None
) -> list[Any]:
    """Ground truth of ``stream`` a role without the workspace ``hidden`` reads (all of
    it when ``hidden`` is None)."""
    schema = catalog_entry(catalog, stream)["schema"]
    reads = in_role_workspaces(sandbox, hidden) if hidden else (lambda *_: True)
    return [normalize(r, schema) for r in sandbox.objects(TRUTH[stream]) if reads(stream, r)]


def _loaded_problems(
    runs: list[TapRun],
    sandbox: SandboxControl,
    catalog: dict[str, Any],
    streams: Any,
    hidden: str | None = APAC,
) -> dict[str, list[str]]:
    tables = loaded_tables(runs, catalog, TRUTH)
    problems = {}
    for stream in streams:
        held = [record for _, record in tables.get(stream, {}).values()]
        keys = catalog_entry(catalog, stream)["key_properties"]
        found = diff_records(held, _visible_truth(sandbox, catalog, stream, hidden), keys)
        if found:
            problems[stream] = found
    return problems


def _deleted_ids(run: TapRun, stream: str) -> set[int]:
    return {int(r["id"]) for r in run.records.get(stream, []) if r.get("_sdc_deleted_at")}


def _hidden_ids(sandbox: SandboxControl, stream: str) -> set[int]:
    reads = in_role_workspaces(sandbox)
    return {int(r["id"]) for r in sandbox.objects(TRUTH[stream]) if not reads(stream, r)}


def _touch(fixtures: Fixtures, kind: str, pk: Any, record: dict[str, Any], note: str) -> None:
    """An edit made in Marketo's UI: a new description and updatedAt."""
    now = fixtures.store.now_ts()
    fixtures.record(kind, pk, {**record, "description": note, "updatedAt": now})


def test_full_and_incremental_runs_load_the_role_workspaces_assets_exactly(
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    config: dict[str, Any],
    catalog: dict[str, Any],
) -> None:
    chosen = select_only(catalog, *TRUTH)
    # The seed puts assets of every kind a program holds out of the role's reach.
    for stream in (*FLAGGED, "forms", "folders", "smart_lists", "form_fields",
                   "program_tags", "program_tokens", "program_memberships"):  # fmt: skip
        reads = in_role_workspaces(fast_sandbox)
        assert any(not reads(stream, r) for r in fast_sandbox.objects(TRUTH[stream])), stream
    fast_sandbox.use_profiles(PARTITIONS)
    # Scans on every run: a delete scan that saw only the role's assets must flag nothing.
    scanning = {**config, "delete_scan_interval_hours": 0}

    full = run_tap(scanning, chosen)
    assert not full.incomplete
    assert not _loaded_problems([full], fast_sandbox, catalog, TRUTH)
    hidden_programs = _hidden_ids(fast_sandbox, "programs")
    assert hidden_programs
    assert not hidden_programs & {r["id"] for r in full.records["programs"]}

    # Edits on each side of the role's reach, then an incremental run.
    fixtures = Fixtures(sandbox_server)
    programs = {p["workspace"]: p for p in fixtures.records("programs")}
    for workspace in (EMEA, APAC):
        prog = programs[workspace]
        _touch(fixtures, "programs", prog["id"], prog, f"edited in {workspace}")
    smart_lists = {s["workspace"]: s for s in fixtures.records("smart_lists")}
    for workspace in (EMEA, APAC):
        item = smart_lists[workspace]
        _touch(fixtures, "smart_lists", item["id"], item, f"edited in {workspace}")
    incremental = run_tap(scanning, chosen, full.state)
    assert not incremental.incomplete
    assert not _loaded_problems([full, incremental], fast_sandbox, catalog, TRUTH)
    for stream in ("programs", "smart_lists"):
        notes = {r.get("description") for r in incremental.records.get(stream, [])}
        assert f"edited in {EMEA}" in notes, stream
        assert f"edited in {APAC}" not in notes, stream
    for stream in FLAGGED:
        assert not _deleted_ids(full, stream), stream
        assert not _deleted_ids(incremental, stream), stream


def test_a_role_that_loses_a_workspace_sees_its_assets_as_deleted(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *TRUTH)
    scanning = {**config, "delete_scan_interval_hours": 0}
    before = run_tap(scanning, chosen)
    assert not before.incomplete
    # The API role is taken out of APAC Marketing: its assets vanish from every read,
    # exactly as deleted ones do, so the tap reports them deleted.
    fast_sandbox.use_profiles(PARTITIONS)
    after = run_tap(scanning, chosen, before.state)
    assert not after.incomplete
    for stream in FLAGGED:
        hidden = _hidden_ids(fast_sandbox, stream)
        assert hidden, stream
        assert _deleted_ids(after, stream) == hidden, stream
    # The streams read whole drop them through ACTIVATE_VERSION; the members of the lost
    # programs stay until the next whole membership re-read, as the members of a deleted
    # program do.
    whole = [s for s in TRUTH if s != "program_memberships"]
    assert not _loaded_problems([before, after], fast_sandbox, catalog, whole)
    tables = loaded_tables([before, after], catalog, TRUTH)
    lost = _hidden_ids(fast_sandbox, "programs")
    assert lost & {key[0] for key in tables["program_memberships"]}
    rescan = run_tap({**scanning, "membership_rescan_interval_days": 0}, chosen, after.state)
    assert not rescan.incomplete
    runs = [before, after, rescan]
    assert not _loaded_problems(runs, fast_sandbox, catalog, ["program_memberships"])


def test_a_role_that_gains_a_workspace_reads_its_assets_from_the_next_run(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *TRUTH)
    fast_sandbox.use_profiles(PARTITIONS)
    before = run_tap(config, chosen)
    gained = {s: _hidden_ids(fast_sandbox, s) for s in FLAGGED}
    # APAC Marketing is given to the role: its assets come into view, none of them new.
    fast_sandbox.use_profiles()
    quiet = run_tap(config, chosen, before.state)
    assert not quiet.incomplete
    tables = loaded_tables([before, quiet], catalog, TRUTH)
    # Read whole on every run, campaigns and static lists write the ids they never wrote.
    for stream in ("campaigns", "static_lists"):
        assert gained[stream] <= {key[0] for key in tables[stream]}, stream
    # The next delete scan does the same for programs, emails and smart lists; the next whole
    # membership re-read brings the members of the gained programs.
    due = {**config, "delete_scan_interval_hours": 0, "membership_rescan_interval_days": 0}
    scan = run_tap(due, chosen, quiet.state)
    assert not scan.incomplete
    runs = [before, quiet, scan]
    assert not _loaded_problems(runs, fast_sandbox, catalog, list(TRUTH), hidden=None)
