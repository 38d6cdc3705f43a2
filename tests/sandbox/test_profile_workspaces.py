"""Profile ``partitions``, the asset side: every asset lives in one workspace, and the API
role reaches the workspaces Default and EMEA Marketing, not APAC Marketing. Asset browses
and the program, static list and campaign reads leave APAC Marketing's assets out; by id
such an asset answers as one that does not exist; ground truth keeps every asset.

The visible subset is computed here from ground truth rows (their ``workspace``, or the
workspace of what holds them), not by the sandbox's own rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marketo_sandbox.domain.leads import API_ROLE_PARTITIONS
from marketo_sandbox.domain.workspaces import API_ROLE_WORKSPACES, WORKSPACES
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.testing import SandboxApi, SandboxControl

APAC = "APAC Marketing"
NO_ASSETS = "No assets found for the given search criteria."

# Asset browses (offset paged) and the ground truth kind each serves.
ASSET_BROWSES = {
    "emails": "/rest/asset/v1/emails.json",
    "forms": "/rest/asset/v1/forms.json",
    "landing_pages": "/rest/asset/v1/landingPages.json",
    "snippets": "/rest/asset/v1/snippets.json",
    "email_templates": "/rest/asset/v1/emailTemplates.json",
    "landing_page_templates": "/rest/asset/v1/landingPageTemplates.json",
    "smart_lists": "/rest/asset/v1/smartLists.json",
    "files": "/rest/asset/v1/files.json",
    "segmentations": "/rest/asset/v1/segmentation.json",
    "programs": "/rest/asset/v1/programs.json",
}
# Lead database reads of assets (nextPageToken paged).
LEAD_DB_READS = {"lists": "/rest/v1/lists.json", "campaigns": "/rest/v1/campaigns.json"}


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


def workspace(row: dict[str, Any]) -> str:
    return str(row.get("workspace") or row.get("workspaceName") or "Default")


def visible_rows(sandbox: SandboxControl, kind: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.objects(kind) if workspace(r) != APAC]


def browse_all(api: SandboxApi, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = api.get(path, offset=len(rows), maxReturn=200, **params)
        assert page["success"] is True, page
        if "result" not in page:
            assert page["warnings"] == [NO_ASSETS]
            return rows
        rows += page["result"]


def browsed(rows: list[dict[str, Any]], truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Truth rows cut to the fields a browse answers (program truth adds by-id fields)."""
    fields = set(rows[0]) if rows else set()
    return [{k: v for k, v in r.items() if k in fields} for r in truth]


def read_all(api: SandboxApi, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = api.get(path, **({"nextPageToken": token} if token else {}))
        assert page["success"] is True, page
        rows += page.get("result") or []
        token = page.get("nextPageToken")
        if not token:
            return rows


def _apac_program(sandbox: SandboxControl) -> dict[str, Any]:
    return next(p for p in sandbox.objects("programs") if p["workspace"] == APAC)


def test_the_seed_places_whole_program_trees_in_three_workspaces(
    sandbox: SandboxControl,
) -> None:
    programs = {p["id"]: p for p in sandbox.objects("programs")}
    assert {p["workspace"] for p in programs.values()} == set(WORKSPACES)
    folders = {f["id"]: f for f in sandbox.objects("folders")}
    for prog in programs.values():
        assert folders[prog["folder"]["value"]]["workspace"] == prog["workspace"]
    # What a program holds lives in the program's workspace.
    for email in sandbox.objects("emails"):
        if email["folder"]["type"] == "Program":
            assert email["workspace"] == programs[email["folder"]["value"]]["workspace"]
    for smart_list in sandbox.objects("smart_lists"):
        if smart_list["folder"]["type"] == "Program":
            assert smart_list["workspace"] == programs[smart_list["folder"]["id"]]["workspace"]
    for item in sandbox.objects("campaigns"):
        if item.get("programId") in programs:
            assert item["workspaceName"] == programs[item["programId"]]["workspace"]
    by_name = {p["name"]: p for p in programs.values()}
    for item in sandbox.objects("lists"):
        if item.get("programName") in by_name:
            assert item["workspaceName"] == by_name[item["programName"]]["workspace"]
    for kind in ("programs", "emails", "forms", "folders", "smart_lists", "lists", "campaigns"):
        assert any(workspace(r) == APAC for r in sandbox.objects(kind)), kind
    # The role's workspaces reach exactly the lead partitions it reads leads of.
    reached = {p for w in API_ROLE_WORKSPACES for p in WORKSPACES[w]}
    assert reached == set(API_ROLE_PARTITIONS)


def test_without_the_profile_every_workspace_is_read(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    for kind in ("programs", "emails", "forms"):
        rows = browse_all(api, ASSET_BROWSES[kind])
        assert rows == browsed(rows, sandbox.objects(kind))
    assert read_all(api, LEAD_DB_READS["campaigns"]) == sandbox.objects("campaigns")


@pytest.mark.parametrize("kind", list(ASSET_BROWSES))
def test_asset_browses_leave_the_other_workspace_out(
    api: SandboxApi, sandbox: SandboxControl, kind: str
) -> None:
    sandbox.use_profiles(PARTITIONS)
    rows = browse_all(api, ASSET_BROWSES[kind])
    assert rows == browsed(rows, visible_rows(sandbox, kind))
    assert rows


def test_folder_browse_leaves_the_other_workspace_out(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    sandbox.use_profiles(PARTITIONS)
    assert browse_all(api, "/rest/asset/v1/folders.json", maxDepth=10) == visible_rows(
        sandbox, "folders"
    )
    assert browse_all(api, "/rest/asset/v1/folders.json", workSpace=APAC) == []


@pytest.mark.parametrize("kind", list(LEAD_DB_READS))
def test_list_and_campaign_reads_leave_the_other_workspace_out(
    api: SandboxApi, sandbox: SandboxControl, kind: str
) -> None:
    sandbox.use_profiles(PARTITIONS)
    assert read_all(api, LEAD_DB_READS[kind]) == visible_rows(sandbox, kind)


def test_a_hidden_asset_by_id_answers_as_one_that_does_not_exist(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    hidden = _apac_program(sandbox)
    form = next(f for f in sandbox.objects("forms") if f["workspace"] == APAC)
    item = next(c for c in sandbox.objects("campaigns") if c["workspaceName"] == APAC)
    static = next(x for x in sandbox.objects("lists") if x["workspaceName"] == APAC)
    seen = next(p for p in sandbox.objects("programs") if p["workspace"] == "EMEA Marketing")
    # Readable before the role is restricted...
    assert api.get(f"/rest/asset/v1/program/{hidden['id']}.json")["result"]
    sandbox.use_profiles(PARTITIONS)
    # ... and then answered as an unknown id is, endpoint by endpoint.
    for program_id in (hidden["id"], 999_999):
        body = api.get(f"/rest/asset/v1/program/{program_id}.json")
        assert "result" not in body, body
        assert body["warnings"] == [NO_ASSETS]
    assert "result" not in api.get("/rest/asset/v1/program/byName.json", name=hidden["name"])
    assert api.get(f"/rest/asset/v1/program/{seen['id']}.json")["result"][0]["id"] == seen["id"]
    assert _code(api.get(f"/rest/asset/v1/form/{form['id']}/fields.json")) == "702"
    assert _code(api.get(
        f"/rest/asset/v1/folder/{hidden['id']}/tokens.json", folderType="Program"
    )) == "702"  # fmt: skip
    assert _code(api.get(f"/rest/v1/campaigns/{item['id']}.json")) == "1013"
    assert _code(api.get(f"/rest/v1/lists/{static['id']}.json")) == "1013"
    assert _code(api.get(f"/rest/v1/lists/{static['id']}/leads.json")) == "1013"
    members = api.get(
        f"/rest/v1/programs/{hidden['id']}/members.json", filterType="leadId", filterValues="1"
    )
    assert _code(members) == "1013"


def test_a_hidden_asset_cannot_be_deleted_and_ground_truth_keeps_it(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    hidden = _apac_program(sandbox)
    smart_list = next(s for s in sandbox.objects("smart_lists") if s["workspace"] == APAC)
    campaign = next(c for c in sandbox.objects("campaigns") if c["workspaceName"] == APAC)
    sandbox.use_profiles(PARTITIONS)
    assert _code(api.post(f"/rest/asset/v1/smartList/{smart_list['id']}/delete.json", {})) == "702"
    path = f"/rest/asset/v1/smartCampaign/{campaign['id']}/delete.json"
    assert _code(api.post(path, {})) == "702"
    assert hidden in sandbox.objects("programs")
    assert smart_list in sandbox.objects("smart_lists")
    assert campaign in sandbox.objects("campaigns")
    assert any(workspace(r) == APAC for r in sandbox.objects("emails"))


def test_what_a_hidden_asset_holds_is_left_out_too(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    hidden = _apac_program(sandbox)
    sandbox.use_profiles(PARTITIONS)
    folder = json.dumps({"id": hidden["id"], "type": "Program"})
    in_program = browse_all(api, ASSET_BROWSES["smart_lists"], folder=folder)
    assert in_program == []
    # The workspace's folders are neither browsed nor asked for by root.
    root = next(f for f in sandbox.objects("folders") if f["workspace"] == APAC)
    assert browse_all(
        api, "/rest/asset/v1/folders.json", root=json.dumps({"id": root["id"], "type": "Folder"})
    ) == []  # fmt: skip


def _code(body: dict[str, Any]) -> str:
    assert body["success"] is False, body
    return str(body["errors"][0]["code"])
