"""Seeded marketing assets beside the design assets: the email templates the seeded emails
name (``template`` 1001-1003), the landing page templates the landing pages name (1, 2),
segmentations with their segments, smart lists in every program and a few group lists,
files, the fields of every seeded form version, My Tokens on programs and Marketing
Activities folders, and the tag types the programs' tags use.

Versioned assets get a pending draft now and then, and each kind has one never-approved
draft, as real instances do.
"""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.assets import APPROVED, DRAFT, KIND_FOLDERS, KIND_FORMS
from marketo_sandbox.domain.marketing_assets import (
    KIND_EMAIL_TEMPLATES,
    KIND_FILES,
    KIND_FORM_FIELDS,
    KIND_LANDING_PAGE_TEMPLATES,
    KIND_SEGMENTATIONS,
    KIND_SEGMENTS,
    KIND_SMART_LISTS,
    KIND_TAG_TYPES,
    KIND_TOKENS,
    library_pk,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts, to_epoch

_TABLES = tables("marketing_assets")
_BASE_URL = "https://app-sj01.marketo.com/#"
_FILES_URL = "https://go.example.com/rs/123-ABC-456/images/"
# Folders of the seeded tree (seed/data/assets.json) that hold these assets.
_EMAILS_FOLDER = {"type": "Folder", "value": 40, "folderName": "Emails"}
_PAGES_FOLDER = {"type": "Folder", "value": 42, "folderName": "Landing Pages"}
_MARKETING_ROOT = 15
# Segmentations live in the Database tree, which the folder browse does not list.
_SEGMENTATIONS_FOLDER = {"type": "Folder", "value": 17, "folderName": "Segmentations"}
_FILES_FOLDER = {"id": 16, "name": "Design Studio", "type": "Folder"}
# The smart list ids begin after other asset ids, as in an instance's shared sequence.
_FIRST_SMART_LIST = 4001
_FIRST_FILE = 101
_FIRST_SEGMENT = 2001


class _Clock:
    """Created/updated times inside the seed's span, and later ones for drafts."""

    def __init__(self, rng: random.Random, start: float, now: float) -> None:
        self.rng, self.start, self.now = rng, start, now

    def times(self, earliest: float | None = None) -> tuple[float, float]:
        created = self.rng.uniform(max(earliest or self.start, self.start), self.now - 2 * 86400)
        if self.rng.random() < 0.3:
            return created, created
        updated = self.rng.uniform(created, self.now - 86400)
        return created, updated

    def later(self, after: float) -> float:
        return self.rng.uniform(after, self.now - 60)


def _base(aid: int, name: str, created: float, updated: float, url_code: str) -> dict[str, Any]:
    return {
        "id": aid,
        "name": name,
        "description": "",
        "createdAt": format_ts(created),
        "updatedAt": format_ts(updated),
        "url": f"{_BASE_URL}{url_code}{aid}A1",
    }


def _with_draft(
    clock: _Clock, asset: dict[str, Any], updated: float, share: float
) -> list[dict[str, Any]]:
    """``asset`` and, now and then, a pending draft of it (same id, later updatedAt)."""
    out = [asset]
    if asset["status"] == APPROVED and clock.rng.random() < share:
        out.append({**asset, "status": DRAFT, "updatedAt": format_ts(clock.later(updated))})
    return out


def _templates(
    clock: _Clock, rows: tuple[tuple[Any, ...], ...], url_code: str, extra: Any
) -> list[dict[str, Any]]:
    """Templates from ``rows`` (id, name, one more column ``extra`` turns into fields);
    the first has a pending draft, others now and then; the last was never approved."""
    out = []
    for n, (tid, name, column) in enumerate(rows):
        created, updated = clock.times()
        template = _base(tid, name, created, updated, url_code) | {
            "status": DRAFT if n == len(rows) - 1 else APPROVED,
            "workspace": "Default",
            **extra(column),
        }
        out += _with_draft(clock, template, updated, 1.0 if n == 0 else 0.3)
    return out


def _email_templates(clock: _Clock) -> list[dict[str, Any]]:
    return _templates(
        clock,
        _TABLES["email_templates"],
        "ET",
        lambda version: {"folder": _EMAILS_FOLDER, "version": version},
    )


def _landing_page_templates(clock: _Clock) -> list[dict[str, Any]]:
    return _templates(
        clock,
        _TABLES["landing_page_templates"],
        "LT",
        lambda kind: {"folder": _PAGES_FOLDER, "templateType": kind, "enableMunchkin": True},
    )


def _segmentations(clock: _Clock) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Segmentations and their segments, per version: every segmentation ends with its
    Default segment; a draft of the Region segmentation adds one segment."""
    segmentations: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    next_segment = _FIRST_SEGMENT
    rows = _TABLES["segmentations"]
    for n, (sid, name, names) in enumerate(rows):
        created, updated = clock.times()
        status = DRAFT if n == len(rows) - 1 else APPROVED
        segmentation = _base(sid, name, created, updated, "SG") | {
            "folder": _SEGMENTATIONS_FOLDER,
            "status": status,
            "workspace": "Default",
        }
        versions = [segmentation]
        if name == "Region":
            draft_at = clock.later(updated)
            versions.append({**segmentation, "status": DRAFT, "updatedAt": format_ts(draft_at)})
        segmentations += versions
        ids = {}
        for segment_name in (*names, _TABLES["segment_added_in_draft"], "Default"):
            ids[segment_name] = next_segment
            next_segment += 1
        for version in versions:
            for segment_name, segment_id in ids.items():
                added_in_draft = segment_name == _TABLES["segment_added_in_draft"]
                if added_in_draft and (name != "Region" or version["status"] != DRAFT):
                    continue
                segments.append(
                    _base(segment_id, segment_name, created, updated, "SG")
                    | {
                        "url": None,
                        "segmentationId": sid,
                        "status": version["status"],
                        "updatedAt": version["updatedAt"],
                    }
                )
    return segmentations, segments


def _smart_lists(clock: _Clock, programs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    next_id = _FIRST_SMART_LIST
    for prog in programs:
        for suffix in _TABLES["program_smart_lists"]:
            if suffix != "Audience" and clock.rng.random() < 0.5:
                continue
            # A program's smart lists come with it or after it.
            created, updated = clock.times(to_epoch(prog["createdAt"]))
            out.append(
                _base(next_id, f"{prog['name']} - {suffix}", created, updated, "SL")
                | {"folder": {"id": prog["id"], "type": "Program"}, "workspace": "Default"}
            )
            next_id += 1
    for name in _TABLES["group_smart_lists"]:
        created, updated = clock.times()
        out.append(
            _base(next_id, name, created, updated, "SL")
            | {"folder": {"id": _MARKETING_ROOT, "type": "Folder"}, "workspace": "Default"}
        )
        next_id += 1
    return out


def _files(clock: _Clock) -> list[dict[str, Any]]:
    out = []
    for n, (name, mime) in enumerate(_TABLES["files"]):
        created, updated = clock.times()
        record = _base(_FIRST_FILE + n, name, created, updated, "")
        record |= {
            "url": f"{_FILES_URL}{name}",
            "description": None,
            "size": clock.rng.randrange(2_000, 4_000_000),
            "mimeType": mime,
            "folder": _FILES_FOLDER,
        }
        out.append(record)
    return out


def _field(
    form_id: int, status: str, row: int, spec: tuple[Any, ...], values: dict[str, Any]
) -> dict[str, Any]:
    field_id, label, data_type, required = spec
    field: dict[str, Any] = {
        "formId": form_id,
        "status": status,
        "id": field_id,
        "label": label,
        "dataType": data_type,
        "rowNumber": row,
        "columnNumber": 0,
        "required": required,
        "formPrefill": data_type != "textArea",
        "fieldWidth": 150,
        "labelWidth": 100,
        "maxLength": 2000 if data_type == "textArea" else 255,
        "visibilityRules": {"ruleType": "alwaysShow"},
    }
    if field_id in values:
        options = [{"label": "Select...", "value": "", "isDefault": True, "selected": True}]
        options += [{"label": v, "value": v} for v in values[field_id]]
        field["fieldMetaData"] = {"values": options}
    return field


def _form_fields(forms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = _TABLES["form_fields"]
    values = _TABLES["select_values"]
    out = []
    for form in forms:
        chosen = [*specs["base"], *specs.get(form["name"], ())]
        if form["status"] == DRAFT:
            chosen.append(specs["added_in_draft"])
        out += [_field(form["id"], form["status"], n, f, values) for n, f in enumerate(chosen)]
    return out


def _token(holder: str, holder_id: int, name: str, kind: str, value: str) -> dict[str, Any]:
    code = "PG" if holder == "Program" else "MF"
    return {
        "folderType": holder,
        "folderId": holder_id,
        "name": name,
        "type": kind,
        "value": value,
        "computedUrl": f"{_BASE_URL}{code}{holder_id}A1",
    }


def _token_value(rng: random.Random, prog: dict[str, Any], name: str, kind: str) -> str:
    if kind == "date":
        return str(prog["createdAt"])[:10]
    if kind in ("number", "score"):
        return str(rng.randint(1, 20))
    if kind == "rich text":
        return f"<p>Join us for {prog['name']}.</p>"
    if name == "my.Subject":
        return str(prog["name"])
    return str(rng.choice(("Dana Lee", "Sam Ortiz", "Kai Chen")))


def _tokens(
    rng: random.Random, programs: list[dict[str, Any]], folders: set[int]
) -> list[dict[str, Any]]:
    out = []
    for prog in programs:
        for name, kind in rng.sample(_TABLES["program_tokens"], rng.randint(1, 3)):
            value = _token_value(rng, prog, name, kind)
            out.append(_token("Program", prog["id"], name, kind, value))
    for folder_id, rows in _TABLES["folder_tokens"].items():
        if int(folder_id) in folders:
            out += [_token("Folder", int(folder_id), *row) for row in rows]
    return out


def _tag_types() -> list[dict[str, Any]]:
    return [
        {"tagType": name, "applicableProgramTypes": types, "required": required}
        for name, types, required in _TABLES["tag_types"]
    ]


@seeder(46, "marketo_sandbox.seed.marketing_assets")
def seed_marketing_assets(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    if spec.programs == 0:
        return  # the empty instance has no marketing assets
    clock = _Clock(rng, now - spec.months * 30 * 86400, now)
    programs = sorted(store.objects(KIND_PROGRAMS), key=lambda p: p["id"])
    forms = sorted(store.objects(KIND_FORMS), key=lambda f: (f["id"], f["status"]))
    folders = {int(f["id"]) for f in store.objects(KIND_FOLDERS)}
    segmentations, segments = _segmentations(clock)
    by_kind = {
        KIND_EMAIL_TEMPLATES: _email_templates(clock),
        KIND_LANDING_PAGE_TEMPLATES: _landing_page_templates(clock),
        KIND_SEGMENTATIONS: segmentations,
        KIND_SEGMENTS: segments,
        KIND_SMART_LISTS: _smart_lists(clock, programs),
        KIND_FILES: _files(clock),
        KIND_FORM_FIELDS: _form_fields(forms),
        KIND_TOKENS: _tokens(rng, programs, folders),
        KIND_TAG_TYPES: _tag_types(),
    }
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [
                (kind, library_pk(kind, a), None, a.get("createdAt"), a.get("updatedAt"), dumps(a))
                for kind, items in by_kind.items()
                for a in items
            ],
        )
