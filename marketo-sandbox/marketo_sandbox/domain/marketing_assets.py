"""Marketing assets beside the design assets: email and landing page templates,
segmentations and their segments, smart lists, files, form fields, My Tokens, tag types.

Templates, segmentations and segments have versions like emails: an approved one and a
draft, one stored object each (pk ``<id>:<status>``). A form's fields belong to one form
version (pk ``<formId>:<status>:<fieldId>``); a My Token to the program or Marketing
Activities folder that holds it (pk ``<Program|Folder>:<id>:<name>``); a tag type is
known by its name. Smart lists and files have no versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marketo_sandbox.domain.assets import (
    APPROVED,
    DRAFT,
    KIND_FORMS,
    STATUSES,
    put_asset,
    render_asset,
    stored_assets,
)
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.store import Store

KIND_EMAIL_TEMPLATES = "email_templates"
KIND_LANDING_PAGE_TEMPLATES = "landing_page_templates"
KIND_SEGMENTATIONS = "segmentations"
KIND_SEGMENTS = "segments"
KIND_SMART_LISTS = "smart_lists"
KIND_FILES = "files"
KIND_FORM_FIELDS = "form_fields"
KIND_TOKENS = "program_tokens"
KIND_TAG_TYPES = "tag_types"

VERSIONED = (KIND_EMAIL_TEMPLATES, KIND_LANDING_PAGE_TEMPLATES, KIND_SEGMENTATIONS, KIND_SEGMENTS)
BY_ID = (*VERSIONED, KIND_SMART_LISTS, KIND_FILES)

# Where a My Token lives: a program, or a folder under Marketing Activities.
TOKEN_HOLDERS = ("Program", "Folder")


def library_pk(kind: str, item: dict[str, Any]) -> str:
    if kind in VERSIONED:
        return f"{item['id']}:{item['status']}"
    if kind == KIND_FORM_FIELDS:
        return f"{item['formId']}:{item['status']}:{item['id']}"
    if kind == KIND_TOKENS:
        return f"{item['folderType']}:{item['folderId']}:{item['name']}"
    if kind == KIND_TAG_TYPES:
        return str(item["tagType"])
    return str(item["id"])


def _order(kind: str, item: dict[str, Any]) -> tuple[Any, ...]:
    """Marketo's browse order: by id, approved before draft."""
    status = STATUSES.index(item["status"]) if "status" in item else 0
    if kind == KIND_FORM_FIELDS:
        return (int(item["formId"]), status, int(item.get("rowNumber") or 0), str(item["id"]))
    if kind == KIND_TOKENS:
        return (TOKEN_HOLDERS.index(item["folderType"]), int(item["folderId"]), item["name"])
    if kind == KIND_TAG_TYPES:
        return (item["tagType"],)
    return (int(item["id"]), status)


def stored(store: Store, kind: str) -> list[dict[str, Any]]:
    return sorted(store.objects(kind), key=lambda item: _order(kind, item))


def stored_one(store: Store, kind: str, item_id: int) -> list[dict[str, Any]]:
    """Every stored version of the asset ``item_id`` of an id-keyed kind."""
    return [a for a in stored(store, kind) if int(a["id"]) == item_id]


def put(store: Store, kind: str, item: dict[str, Any]) -> None:
    store.object_put(kind, library_pk(kind, item), item)


def remove(store: Store, kind: str, items: list[dict[str, Any]]) -> None:
    with store.transaction() as db:
        db.executemany(
            "DELETE FROM objects WHERE kind=? AND pk=?",
            [(kind, library_pk(kind, item)) for item in items],
        )


def folder_matches(ref: dict[str, Any] | None, wanted: tuple[int, str]) -> bool:
    """Whether an asset's folder reference is the folder a browse asked for: references
    come as ``{id, type}`` (smart lists, files) or ``{type, value}`` (templates,
    segmentations), types in any case (Adobe's examples write both "Folder" and "folder")."""
    folder_id = (ref or {}).get("id", (ref or {}).get("value"))
    if folder_id is None or ref is None:
        return False
    return (int(folder_id), str(ref.get("type", "")).lower()) == (wanted[0], wanted[1].lower())


def render_field(field: dict[str, Any]) -> dict[str, Any]:
    """A form field as Get Form Fields answers it (which form version it belongs to is
    the request's, not a field's)."""
    return {k: v for k, v in field.items() if k not in ("formId", "status")}


def form_fields_of(store: Store, form_id: int, status: str) -> list[dict[str, Any]]:
    return [
        f
        for f in stored(store, KIND_FORM_FIELDS)
        if int(f["formId"]) == form_id and f["status"] == status
    ]


def delete_form_field(store: Store, form_id: int, field_id: str) -> None:
    """Take a field off a form. Edits land on the draft: a form with only an approved
    version gets a draft (its copy, fields included) that lacks the field; the approved
    version keeps it until the draft is approved. 702 for an unknown form or field."""
    versions = {f["status"]: f for f in stored_assets(store, KIND_FORMS) if f["id"] == form_id}
    if not versions:
        raise ApiError("702", f"Form {form_id} not found")
    source = DRAFT if DRAFT in versions else APPROVED
    fields = form_fields_of(store, form_id, source)
    if not any(f["id"] == field_id for f in fields):
        raise ApiError("702", f"Field '{field_id}' not found in form {form_id}")
    now = store.now_ts()
    put_asset(store, KIND_FORMS, {**versions[source], "status": DRAFT, "updatedAt": now})
    if source == DRAFT:
        remove(store, KIND_FORM_FIELDS, [f for f in fields if f["id"] == field_id])
        return
    # The approved version keeps its fields until the new draft is approved.
    for field in fields:
        if field["id"] != field_id:
            put(store, KIND_FORM_FIELDS, {**field, "status": DRAFT})


def tokens_of(store: Store, holder: str, holder_id: int) -> list[dict[str, Any]]:
    return [
        t
        for t in stored(store, KIND_TOKENS)
        if t["folderType"] == holder and int(t["folderId"]) == holder_id
    ]


def render_token(token: dict[str, Any]) -> dict[str, Any]:
    return {k: token[k] for k in ("name", "type", "value", "computedUrl")}


def rendered(store: Store, kind: str) -> Iterator[dict[str, Any]]:
    for item in stored(store, kind):
        yield render_asset(item)


def delete_program_library(store: Store, program_id: int) -> None:
    """What goes with a deleted program beside its design assets: its own smart lists
    (their folder is the program), its My Tokens, and the fields of its own forms."""
    held = [
        item
        for item in stored(store, KIND_SMART_LISTS)
        if folder_matches(item.get("folder"), (program_id, "Program"))
    ]
    remove(store, KIND_SMART_LISTS, held)
    remove(store, KIND_TOKENS, tokens_of(store, "Program", program_id))
    forms = {
        int(f["id"])
        for f in stored_assets(store, KIND_FORMS)
        if folder_matches(f.get("folder"), (program_id, "Program"))
    }
    fields = [f for f in stored(store, KIND_FORM_FIELDS) if int(f["formId"]) in forms]
    remove(store, KIND_FORM_FIELDS, fields)
