"""Marketing assets beside the design assets as the sandbox serves them: templates, smart
lists, files and tag types paged to the "No assets found" warning; segments per
segmentation version; My Tokens per program and folder; fields per form version; the
deletes Marketo offers; and seed data linked to what emails, pages and programs name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxApi, SandboxControl
from sandbox_helpers import error_code
from test_assets import NO_ASSETS, browse_all

BROWSE = {
    "email_templates": "/rest/asset/v1/emailTemplates.json",
    "landing_page_templates": "/rest/asset/v1/landingPageTemplates.json",
    "smart_lists": "/rest/asset/v1/smartLists.json",
    "files": "/rest/asset/v1/files.json",
    "tag_types": "/rest/asset/v1/tagTypes.json",
    "segmentations": "/rest/asset/v1/segmentation.json",
}


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


@pytest.mark.parametrize("kind", list(BROWSE))
def test_browse_pages_to_the_no_assets_warning_and_equals_ground_truth(
    api: SandboxApi, sandbox: SandboxControl, kind: str
) -> None:
    truth = sandbox.objects(kind)
    assert len(truth) >= 2
    assert browse_all(api, BROWSE[kind], 2) == truth
    for row in truth:
        if "createdAt" in row:
            assert row["createdAt"].endswith("Z+0000")


def test_versioned_assets_have_drafts_and_drafts_never_approved(sandbox: SandboxControl) -> None:
    for kind in ("email_templates", "landing_page_templates", "segmentations"):
        rows = sandbox.objects(kind)
        statuses: dict[int, list[str]] = {}
        for row in rows:
            statuses.setdefault(row["id"], []).append(row["status"])
        assert ["approved", "draft"] in statuses.values(), kind
        assert ["draft"] in statuses.values(), kind


def test_status_and_folder_filters(api: SandboxApi, sandbox: SandboxControl) -> None:
    drafts = api.get(BROWSE["email_templates"], status="draft", maxReturn=200)["result"]
    assert drafts == [r for r in sandbox.objects("email_templates") if r["status"] == "draft"]
    in_root = api.get(
        BROWSE["smart_lists"], folder=json.dumps({"id": 15, "type": "Folder"}), maxReturn=200
    )["result"]
    assert in_root
    assert all(r["folder"] == {"id": 15, "type": "Folder"} for r in in_root)
    bad = api.get(BROWSE["email_templates"], status="live")
    assert error_code(bad) == "1003"


def test_smart_list_updated_range(api: SandboxApi, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("smart_lists")
    cut = sorted(r["updatedAt"] for r in truth)[len(truth) // 2].removesuffix("+0000")
    found = api.get(
        BROWSE["smart_lists"],
        earliestUpdatedAt=cut,
        latestUpdatedAt="2100-01-01T00:00:00Z",
        maxReturn=200,
    )["result"]
    assert found == [r for r in truth if r["updatedAt"].removesuffix("+0000") >= cut]
    assert 0 < len(found) < len(truth)


def test_segments_per_segmentation_version_equal_ground_truth(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    segmentations = api.get("/rest/asset/v1/segmentation.json")["result"]
    assert segmentations == sandbox.objects("segmentations")
    segments = []
    for seg in segmentations:
        path = f"/rest/asset/v1/segmentation/{seg['id']}/segments.json"
        segments += browse_all(api, path, 2, status=seg["status"])
    assert sorted(segments, key=lambda s: (s["id"], s["status"])) == sorted(
        sandbox.objects("segments"), key=lambda s: (s["id"], s["status"])
    )
    # A draft adds a segment its approved version does not have; every one has Default.
    by_version: dict[tuple[int, str], set[str]] = {}
    for s in segments:
        by_version.setdefault((s["segmentationId"], s["status"]), set()).add(s["name"])
    assert all("Default" in names for names in by_version.values())
    assert by_version[(1002, "draft")] - by_version[(1002, "approved")] == {"LATAM"}


def test_tokens_per_program_and_folder_equal_ground_truth(
    api: SandboxApi, sandbox: SandboxControl
) -> None:
    truth = sandbox.objects("program_tokens")
    holders = list(dict.fromkeys((t["folderType"], t["folderId"]) for t in truth))
    assert {h[0] for h in holders} == {"Program", "Folder"}
    rows = []
    for holder, holder_id in holders:
        page = api.get(f"/rest/asset/v1/folder/{holder_id}/tokens.json", folderType=holder)
        (item,) = page["result"]
        assert item["folder"] == {"type": holder, "value": holder_id}
        rows += [{"folderType": holder, "folderId": holder_id, **t} for t in item["tokens"]]
    assert rows == truth
    missing = api.get("/rest/asset/v1/folder/999999/tokens.json", folderType="Program")
    assert error_code(missing) == "702"


def test_form_fields_per_form_version(api: SandboxApi, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("form_fields")
    rows = []
    for form in sandbox.objects("forms"):
        fields = api.get(f"/rest/asset/v1/form/{form['id']}/fields.json", status=form["status"])
        rows += [
            {"formId": form["id"], "status": form["status"], **f} for f in fields["result"]
        ]
    key = lambda f: (f["formId"], f["status"], f["rowNumber"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(truth, key=key)
    assert all(any(f["id"] == "Email" and f["required"] for f in rows if f["formId"] == form)
               for form in {f["formId"] for f in rows})
    assert error_code(api.get("/rest/asset/v1/form/999999/fields.json")) == "702"


def test_seed_links_to_what_emails_pages_and_programs_name(sandbox: SandboxControl) -> None:
    templates = {t["id"] for t in sandbox.objects("email_templates")}
    assert {e["template"] for e in sandbox.objects("emails")} <= templates
    page_templates = {t["id"] for t in sandbox.objects("landing_page_templates")}
    assert {p["template"] for p in sandbox.objects("landing_pages")} <= page_templates
    programs = {p["id"] for p in sandbox.objects("programs")}
    smart_lists = sandbox.objects("smart_lists")
    in_programs = {s["folder"]["id"] for s in smart_lists if s["folder"]["type"] == "Program"}
    assert in_programs == programs
    tag_types = {t["tagType"] for t in sandbox.objects("tag_types")}
    assert {t["tagType"] for t in sandbox.objects("program_tags")} <= tag_types
    forms = {f["id"] for f in sandbox.objects("forms")}
    assert {f["formId"] for f in sandbox.objects("form_fields")} == forms


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("emailTemplate", "email_templates"),
        ("landingPageTemplate", "landing_page_templates"),
        ("smartList", "smart_lists"),
    ],
)
def test_delete_removes_every_version(
    api: SandboxApi, sandbox: SandboxControl, path: str, kind: str
) -> None:
    before = sandbox.objects(kind)
    ids = [r["id"] for r in before]
    victim = max(set(ids), key=ids.count)  # one with a draft, where there is one
    gone = api.post(f"/rest/asset/v1/{path}/{victim}/delete.json")
    assert gone["result"] == [{"id": victim}]
    after = sandbox.objects(kind)
    assert after == [r for r in before if r["id"] != victim]
    again = api.post(f"/rest/asset/v1/{path}/{victim}/delete.json")
    assert error_code(again) == "702"


def _post_form(api: SandboxApi, path: str, form: dict[str, Any]) -> dict[str, Any]:
    """Token writes are form posts (x-www-form-urlencoded), not JSON."""
    body: dict[str, Any] = api.request("POST", path, data=form).json()
    return body


def test_token_delete_by_name_and_type(api: SandboxApi, sandbox: SandboxControl) -> None:
    token = sandbox.objects("program_tokens")[0]
    path = f"/rest/asset/v1/folder/{token['folderId']}/tokens/delete.json"
    form = {"folderType": token["folderType"], "name": token["name"], "type": "date"}
    if token["type"] == "date":
        form["type"] = "text"
    assert error_code(_post_form(api, path, form)) == "702"  # the type must match too
    done = _post_form(api, path, {**form, "type": token["type"]})
    assert done["result"] == [{"id": token["folderId"]}]
    assert token not in sandbox.objects("program_tokens")


def test_empty_pages_carry_the_warning(api: SandboxApi) -> None:
    for path in BROWSE.values():
        page = api.get(path, offset=10_000)
        assert page["success"] is True
        assert "result" not in page
        assert page["warnings"] == [NO_ASSETS]


def test_deleting_a_form_field_edits_the_draft(api: SandboxApi, sandbox: SandboxControl) -> None:
    forms = sandbox.objects("forms")
    versions: dict[int, list[str]] = {}
    for form in forms:
        versions.setdefault(form["id"], []).append(form["status"])
    approved_only = next(i for i, v in versions.items() if v == ["approved"])
    before = sandbox.objects("form_fields")
    approved = [f for f in before if (f["formId"], f["status"]) == (approved_only, "approved")]
    field = approved[-1]["id"]
    done = api.post(f"/rest/asset/v1/form/{approved_only}/field/{field}/delete.json")
    assert done["result"] == [{"id": approved_only}]
    # A draft now exists without the field; the approved version still has it.
    after = sandbox.objects("form_fields")
    draft = [f["id"] for f in after if (f["formId"], f["status"]) == (approved_only, "draft")]
    assert draft == [f["id"] for f in approved if f["id"] != field]
    assert [f for f in after if f["status"] == "approved"] == [
        f for f in before if f["status"] == "approved"
    ]
    assert {"id": approved_only, "status": "draft"}.items() <= next(
        f for f in sandbox.objects("forms") if (f["id"], f["status"]) == (approved_only, "draft")
    ).items()
    # A second delete edits that draft; a field it no longer has is 702.
    again = api.post(f"/rest/asset/v1/form/{approved_only}/field/{field}/delete.json")
    assert error_code(again) == "702"
    other = draft[0]
    api.post(f"/rest/asset/v1/form/{approved_only}/field/{other}/delete.json")
    left = [
        f["id"]
        for f in sandbox.objects("form_fields")
        if (f["formId"], f["status"]) == (approved_only, "draft")
    ]
    assert left == draft[1:]
    assert error_code(api.post("/rest/asset/v1/form/999999/field/Email/delete.json")) == "702"
