"""Design assets as Marketo's asset API serves them: emails, forms, landing pages, snippets
and folders; offset paging to the "No assets found" warning, approved and draft versions,
the email updatedAt range, and the folder tree's depth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from sandbox_helpers import error_code

NO_ASSETS = "No assets found for the given search criteria."

BROWSE = {
    "emails": "/rest/asset/v1/emails.json",
    "forms": "/rest/asset/v1/forms.json",
    "landing_pages": "/rest/asset/v1/landingPages.json",
    "snippets": "/rest/asset/v1/snippets.json",
    "folders": "/rest/asset/v1/folders.json",
}


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


def browse_all(api: SandboxApi, path: str, max_return: int, **params: Any) -> list[dict]:
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = api.get(path, offset=offset, maxReturn=max_return, **params)
        assert page["success"] is True, page
        assert page["errors"] == []
        if "result" not in page:
            assert page["warnings"] == [NO_ASSETS]
            return rows
        assert len(page["result"]) <= max_return
        rows += page["result"]
        offset += max_return


@pytest.mark.parametrize("kind", list(BROWSE))
def test_browse_pages_to_the_no_assets_warning_and_equals_ground_truth(
    api: SandboxApi, sandbox: SandboxControl, kind: str
) -> None:
    truth = sandbox.objects(kind)
    assert len(truth) >= 5
    extra = {"maxDepth": 10} if kind == "folders" else {}
    rows = browse_all(api, BROWSE[kind], 3, **extra)
    assert rows == truth
    for row in rows:
        assert row["createdAt"].endswith("Z+0000")
        assert row["updatedAt"].endswith("Z+0000")


def test_seeded_assets_are_the_ones_activities_and_programs_name(sandbox: SandboxControl) -> None:
    emails = {e["id"]: e["name"] for e in sandbox.objects("emails")}
    forms = {f["id"]: f["name"] for f in sandbox.objects("forms")}
    sends = [a for a in sandbox.objects("activities") if a["activityTypeId"] in (6, 2)]
    assert sends
    for activity in sends:
        table = emails if activity["activityTypeId"] == 6 else forms
        assert table[activity["primaryAttributeValueId"]] == activity["primaryAttributeValue"]
    folder_ids = {f["id"] for f in sandbox.objects("folders")}
    assert {p["folder"]["value"] for p in sandbox.objects("programs")} <= folder_ids
    program_ids = {p["id"] for p in sandbox.objects("programs")}
    for email in sandbox.objects("emails"):
        ref = email["folder"]
        assert set(ref) == {"type", "value", "folderName"}
        assert ref["value"] in (program_ids if ref["type"] == "Program" else folder_ids)


def test_versions_and_the_status_filter(api: SandboxApi, sandbox: SandboxControl) -> None:
    for kind in ("emails", "forms", "landing_pages", "snippets"):
        truth = sandbox.objects(kind)
        assert {r["status"] for r in truth} <= {"approved", "draft"}
        for status in ("approved", "draft"):
            rows = browse_all(api, BROWSE[kind], 200, status=status)
            assert rows == [r for r in truth if r["status"] == status]
    emails = sandbox.objects("emails")
    ids = [e["id"] for e in emails]
    # Some emails have a draft beside the approved version; some were never approved.
    assert any(ids.count(i) == 2 for i in ids)
    assert any(e["status"] == "draft" and ids.count(e["id"]) == 1 for e in emails)
    assert error_code(api.get(BROWSE["emails"], status="live")) == "1003"


def test_email_updated_range(api: SandboxApi, sandbox: SandboxControl) -> None:
    emails = sandbox.objects("emails")
    stamps = sorted(e["updatedAt"] for e in emails)
    low, high = stamps[2], stamps[-3]
    rows = browse_all(
        api, BROWSE["emails"], 200,
        earliestUpdatedAt=low.replace("Z+0000", "Z"), latestUpdatedAt=high.replace("Z+0000", "Z"),
    )
    assert rows == [e for e in emails if low <= e["updatedAt"] <= high]
    assert 0 < len(rows) < len(emails)
    assert error_code(api.get(BROWSE["emails"], earliestUpdatedAt="yesterday")) == "1001"


def test_max_return_is_200_at_most_and_paging_crosses_it(
    api: SandboxApi, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    assert error_code(api.get(BROWSE["snippets"], maxReturn=201)) == "1003"
    fixtures = Fixtures(sandbox_server)
    now = fixtures.store.now_ts()
    for sid in range(1000, 1250):
        fixtures.record("snippets", f"{sid}:approved", {
            "id": sid, "name": f"Snippet {sid}", "description": None, "createdAt": now,
            "updatedAt": now, "url": None, "status": "approved",
            "folder": {"type": "Folder", "value": 43, "folderName": "Snippets"},
            "workspace": "Default",
        })
    first = api.get(BROWSE["snippets"], maxReturn=200)
    assert len(first["result"]) == 200
    rows = browse_all(api, BROWSE["snippets"], 200)
    assert rows == sandbox.objects("snippets")
    assert len(rows) > 250


def test_folders_depth_root_and_workspace(api: SandboxApi, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("folders")
    by_id = {f["id"]: f for f in truth}

    def depth(folder: dict[str, Any]) -> int:
        return 1 if folder["parent"] is None else 1 + depth(by_id[folder["parent"]["id"]])

    assert max(depth(f) for f in truth) == 3
    # Marketo's default depth is 2: deeper folders need maxDepth.
    assert browse_all(api, BROWSE["folders"], 200) == [f for f in truth if depth(f) <= 2]
    design = next(f for f in truth if f["name"] == "Design Studio")
    under = browse_all(
        api, BROWSE["folders"], 200, maxDepth=10,
        root=json.dumps({"id": design["id"], "type": "Folder"}),
    )
    assert design in under
    assert all(f["path"].startswith("/Design Studio") for f in under)
    assert browse_all(api, BROWSE["folders"], 200, workSpace="Elsewhere") == []
