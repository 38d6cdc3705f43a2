"""Asset deletes (programs, smart campaigns, static lists, emails): the object leaves every
read and the ground truth, a program takes what it holds with it, and Marketo logs no
activity for any of it (so a client can only find them by comparing ids)."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from sandbox_helpers import error_code


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


def _ids(sandbox: SandboxControl, kind: str) -> set[int]:
    return {int(item["id"]) for item in sandbox.objects(kind)}


def _activity_count(sandbox: SandboxControl) -> int:
    return len(sandbox.objects("activities"))


def test_deleting_a_program_deletes_what_it_holds_and_logs_nothing(
    sandbox: SandboxControl, api: SandboxApi
) -> None:
    programs = sandbox.objects("programs")
    members = sandbox.objects("program_members")
    program = max(programs, key=lambda p: sum(m["programId"] == p["id"] for m in members))
    holds: dict[str, Any] = {
        "campaigns": {
            c["id"] for c in sandbox.objects("campaigns") if c.get("programId") == program["id"]
        },
        "lists": {
            x["id"] for x in sandbox.objects("lists") if x.get("programName") == program["name"]
        },
        "emails": {
            e["id"]
            for e in sandbox.objects("emails")
            if (e.get("folder") or {}).get("type") == "Program"
            and e["folder"]["value"] == program["id"]
        },
        "smart_lists": {
            x["id"]
            for x in sandbox.objects("smart_lists")
            if x["folder"] == {"id": program["id"], "type": "Program"}
        },
    }
    assert holds["smart_lists"], "every seeded program has its audience smart list"
    assert any(m["programId"] == program["id"] for m in members)
    before = {kind: _ids(sandbox, kind) for kind in holds}
    activities = _activity_count(sandbox)

    body = api.post(f"/rest/asset/v1/program/{program['id']}/delete.json")
    assert body["success"] is True, body
    assert body["result"] == [{"id": program["id"]}], body

    assert program["id"] not in _ids(sandbox, "programs")
    assert not [m for m in sandbox.objects("program_members") if m["programId"] == program["id"]]
    for kind, held in holds.items():
        assert _ids(sandbox, kind) == before[kind] - held, kind
    held_lists = holds["lists"]
    assert not [m for m in sandbox.objects("list_members") if m["listId"] in held_lists]
    assert _activity_count(sandbox) == activities  # no activity for any of it
    browse = api.get("/rest/asset/v1/programs.json", maxReturn=200)
    assert program["id"] not in {p["id"] for p in browse["result"]}


@pytest.mark.parametrize(
    ("path", "kind", "read"),
    [
        ("smartCampaign", "campaigns", "/rest/v1/campaigns.json"),
        ("staticList", "lists", "/rest/v1/lists.json"),
        ("email", "emails", "/rest/asset/v1/emails.json"),
    ],
)
def test_a_deleted_asset_is_gone_from_its_read_and_a_second_delete_fails(
    sandbox: SandboxControl, api: SandboxApi, path: str, kind: str, read: str
) -> None:
    target = sandbox.objects(kind)[0]["id"]
    activities = _activity_count(sandbox)
    body = api.post(f"/rest/asset/v1/{path}/{target}/delete.json")
    assert body["result"] == [{"id": target}], body
    assert target not in _ids(sandbox, kind)
    params = {"maxReturn": 200} if read.startswith("/rest/asset") else {"batchSize": 300}
    listed = api.get(read, **params).get("result") or []
    assert target not in {item["id"] for item in listed}  # both versions of an email
    assert _activity_count(sandbox) == activities
    again = api.post(f"/rest/asset/v1/{path}/{target}/delete.json")
    assert error_code(again) == "702", again  # a request-level failure


def test_a_deleted_programs_tokens_and_form_fields_leave_the_ground_truth(
    sandbox: SandboxControl, api: SandboxApi, sandbox_server: SandboxServer
) -> None:
    tokens = sandbox.objects("program_tokens")
    program_id = min(t["folderId"] for t in tokens if t["folderType"] == "Program")
    # A program's local form (the seed files forms in folders): both its versions.
    fixtures = Fixtures(sandbox_server)
    form_id = fixtures.records("forms")[0]["id"]
    for form in fixtures.records("forms"):
        if form["id"] == form_id:
            held = {**form, "folder": {"type": "Program", "value": program_id}}
            fixtures.record("forms", f"{form_id}:{form['status']}", held)
    fields = sandbox.objects("form_fields")
    assert [f for f in fields if f["formId"] == form_id], "the form has fields"
    kept_fields = [f for f in fields if f["formId"] != form_id]
    kept_tokens = [
        t for t in tokens if (t["folderType"], t["folderId"]) != ("Program", program_id)
    ]

    body = api.post(f"/rest/asset/v1/program/{program_id}/delete.json")
    assert body["success"] is True, body

    assert form_id not in _ids(sandbox, "forms")
    assert sandbox.objects("form_fields") == kept_fields
    assert sandbox.objects("program_tokens") == kept_tokens
    # As the API answers: the holder is gone, so are its tokens.
    gone = api.get(f"/rest/asset/v1/folder/{program_id}/tokens.json", folderType="Program")
    assert error_code(gone) == "702", gone
