"""Design asset streams (emails, forms, landing pages, snippets, folders): a full sync
equals the sandbox's ground truth, an incremental sync sees an update, paging crosses the
200-per-call limit, and the streams stay out of the default selection."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxControl
from tap_helpers import catalog_entry, run_tap, select_only, stream_problems

ASSET_STREAMS = ("emails", "forms", "landing_pages", "snippets", "folders")


def _problems(
    run_records: dict[str, list[dict[str, Any]]],
    sandbox: SandboxControl,
    catalog: dict[str, Any],
    names: tuple[str, ...] = ASSET_STREAMS,
) -> dict[str, list[str]]:
    return stream_problems(run_records, sandbox, catalog, names)


def test_asset_streams_are_discovered_unselected_with_their_keys(catalog: dict[str, Any]) -> None:
    for name in ASSET_STREAMS:
        entry = catalog_entry(catalog, name)
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert root.get("selected-by-default") is False, name
        assert root.get("selected") is not True, name
        expected = ["id"] if name == "folders" else ["id", "status"]
        assert entry["key_properties"] == expected
    assert catalog_entry(catalog, "emails")["replication_key"] == "updatedAt"
    assert catalog_entry(catalog, "forms").get("replication_method") == "FULL_TABLE"


def test_full_sync_of_the_asset_streams_equals_ground_truth(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *ASSET_STREAMS)
    fast_sandbox.reset_calls()
    run = run_tap(config, chosen)
    for name in ASSET_STREAMS:
        assert run.records.get(name), f"nothing emitted for {name}"
    assert not _problems(run.records, fast_sandbox, chosen)
    assert not run.incomplete
    # Both versions of an email with a pending draft are rows, told apart by status.
    ids = [r["id"] for r in run.records["emails"]]
    assert any(ids.count(i) == 2 for i in ids)
    # Folders come from every depth (Marketo's browse stops at 2 by default).
    assert any(r["path"].count("/") >= 3 for r in run.records["folders"])
    # One browse call per stream on the small seed (each holds under 200).
    calls = fast_sandbox.calls()["endpoints"]
    for path in ("emails", "forms", "landingPages", "snippets", "folders"):
        assert calls.get(f"GET /rest/asset/v1/{path}.json") == 1, calls


def test_incremental_sync_sees_an_updated_email_and_form(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
) -> None:
    chosen = select_only(catalog, *ASSET_STREAMS)
    full = run_tap(config, chosen)
    fixtures = Fixtures(sandbox_server)
    now = fixtures.store.now_ts()
    email = next(e for e in fixtures.records("emails") if e["status"] == "approved")
    email = {**email, "subject": {"type": "Text", "value": "Changed subject"}, "updatedAt": now}
    fixtures.record("emails", f"{email['id']}:approved", email)
    form = next(f for f in fixtures.records("forms") if f["status"] == "approved")
    form = {**form, "buttonLabel": "Send it", "updatedAt": now}
    fixtures.record("forms", f"{form['id']}:approved", form)

    quiet = run_tap(config, chosen, full.state)
    emails = quiet.records["emails"]
    changed = [r for r in emails if (r["id"], r["status"]) == (email["id"], "approved")]
    assert changed
    assert changed[-1]["subject"] == {"type": "Text", "value": "Changed subject"}
    # The range read returns only what changed since the bookmark (less the lookback).
    assert len(emails) < len(full.records["emails"])
    forms = {(r["id"], r["status"]): r for r in quiet.records["forms"]}
    assert forms[(form["id"], "approved")]["buttonLabel"] == "Send it"
    merged = {
        name: full.records.get(name, []) + quiet.records.get(name, []) for name in ASSET_STREAMS
    }
    assert not _problems(merged, fast_sandbox, chosen)


@pytest.mark.parametrize("name", ["snippets", "emails"])
def test_paging_crosses_the_200_per_call_limit(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_server: SandboxServer,
    name: str,
) -> None:
    fixtures = Fixtures(sandbox_server)
    now = fixtures.store.now_ts()
    template = next(r for r in fixtures.records(name) if r["status"] == "approved")
    for aid in range(50_000, 50_260):
        fixtures.record(
            name, f"{aid}:approved", {**template, "id": aid, "name": f"Bulk {aid}",
                                      "createdAt": now, "updatedAt": now},
        )
    chosen = select_only(catalog, name)
    fast_sandbox.reset_calls()
    run = run_tap(config, chosen)
    assert len(run.records[name]) > 260
    assert not _problems(run.records, fast_sandbox, chosen, (name,))
    path = "landingPages" if name == "landing_pages" else name
    # 200, then the rest (a short page ends the read).
    assert fast_sandbox.calls()["endpoints"][f"GET /rest/asset/v1/{path}.json"] == 2


def test_a_quiet_run_of_the_asset_streams_costs_one_call_each(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    chosen = select_only(catalog, *ASSET_STREAMS)
    full = run_tap(config, chosen)
    fast_sandbox.reset_calls()
    quiet = run_tap(config, chosen, full.state)
    endpoints = fast_sandbox.calls()["endpoints"]
    asset_calls = {p: n for p, n in endpoints.items() if "/rest/asset/" in p}
    # The README's figure: one browse per stream while each holds under 200 assets (the
    # email range read ends at once with "No assets found").
    assert asset_calls == {
        f"GET /rest/asset/v1/{path}.json": 1
        for path in ("emails", "forms", "landingPages", "snippets", "folders")
    }
    assert not quiet.records.get("emails")
    assert len(quiet.records["forms"]) == len(full.records["forms"])
