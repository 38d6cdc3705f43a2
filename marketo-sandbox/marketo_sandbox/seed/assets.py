"""Seeded design assets: the folder tree (holding the programs' folders), emails (the ones
email activities name, by the same ids), forms (the ones Fill Out Form names), landing
pages and snippets; a few carry a draft beside their approved version, a few are drafts
never approved."""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.assets import (
    APPROVED,
    DRAFT,
    KIND_EMAILS,
    KIND_FOLDERS,
    KIND_FORMS,
    KIND_LANDING_PAGES,
    KIND_SNIPPETS,
    asset_pk,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts

_TABLES = tables("assets")
_ACTIVITY_TABLES = tables("activities")
_PROGRAM_FOLDERS = tables("programs")["folders_by_program_type"]

# Emails never approved, after the ones activities name.
_DRAFT_ONLY_EMAILS = ("Holiday Promo (draft)", "Customer Story: Acme (draft)")
_BASE_URL = "https://app-sj01.marketo.com/#"


def _folder_ref(folder: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Folder", "value": folder["id"], "folderName": folder["name"]}


def _folders(created: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_id: dict[int, dict[str, Any]] = {}

    def add(fid: int, name: str, ftype: str, parent: int | None, *, system: bool) -> None:
        path = f"{by_id[parent]['path']}/{name}" if parent is not None else f"/{name}"
        folder = {
            "id": fid,
            "name": name,
            "description": None,
            "createdAt": created,
            "updatedAt": created,
            "url": f"{_BASE_URL}MF{fid}A1",
            "folderId": {"id": fid, "type": "Folder"},
            "folderType": ftype,
            "parent": {"id": parent, "type": "Folder"} if parent is not None else None,
            "path": path,
            "isArchive": name.startswith("Retired"),
            "isSystem": system,
            "accessZoneId": 1,
            "workspace": "Default",
        }
        by_id[fid] = folder
        out.append(folder)

    for fid, name, ftype in _TABLES["root_folders"]:
        add(fid, name, ftype, None, system=True)
    marketing = _TABLES["root_folders"][0][0]
    for fid, name in sorted(set(_PROGRAM_FOLDERS.values())):
        add(fid, name, "Marketing Folder", marketing, system=False)
    for fid, name, ftype, parent in _TABLES["design_folders"]:
        add(fid, name, ftype, parent, system=False)
    return out


def _times(rng: random.Random, start: float, now: float) -> tuple[float, float]:
    created = rng.uniform(start, now - 2 * 86400)
    updated = created if rng.random() < 0.3 else rng.uniform(created, now - 86400)
    return created, updated


def _asset(
    rng: random.Random, window: tuple[float, float], aid: int, name: str, *,
    url_code: str, status: str, folder: dict[str, Any],
) -> tuple[dict[str, Any], float]:
    """The fields every versioned asset has, and when it was last updated (epoch)."""
    created, updated = _times(rng, *window)
    asset = {
        "id": aid,
        "name": name,
        "description": "",
        "createdAt": format_ts(created),
        "updatedAt": format_ts(updated),
        "url": f"{_BASE_URL}{url_code}{aid}A1",
        "status": status,
        "folder": folder,
    }
    return asset, updated


def _draft_of(
    rng: random.Random, asset: dict[str, Any], updated: float, now: float
) -> dict[str, Any]:
    """An unapproved edit of ``asset``: same id, later updatedAt."""
    edited = rng.uniform(updated, now - 60)
    return {**asset, "status": DRAFT, "updatedAt": format_ts(edited)}


def _versions(
    rng: random.Random, asset: dict[str, Any], updated: float, now: float, draft_share: float
) -> list[dict[str, Any]]:
    out = [asset]
    if asset["status"] == APPROVED and rng.random() < draft_share:
        out.append(_draft_of(rng, asset, updated, now))
    return out


def _emails(
    rng: random.Random, start: float, now: float, programs: list[dict[str, Any]],
    folders: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    named = list(_ACTIVITY_TABLES["emails"])
    next_id = max(i for i, _ in named) + 1
    named += [(next_id + i, name) for i, name in enumerate(_DRAFT_ONLY_EMAILS)]
    out = []
    for eid, name in named:
        if programs and rng.random() < 0.7:
            prog = rng.choice(programs)
            folder = {"type": "Program", "value": prog["id"], "folderName": prog["name"]}
        else:
            folder = _folder_ref(folders[44 if name.startswith("Newsletter") else 40])
        status = DRAFT if name in _DRAFT_ONLY_EMAILS else APPROVED
        email, updated = _asset(
            rng, (start, now), eid, name, url_code="EM", status=status, folder=folder
        )
        email |= {
            "subject": {"type": "Text", "value": name.split(":")[-1].strip()},
            "fromName": {"type": "Text", "value": rng.choice(_TABLES["from_names"])},
            "fromEmail": {"type": "Text", "value": "marketing@example.com"},
            "replyEmail": {"type": "Text", "value": "marketing@example.com"},
            "operational": name.startswith("Renewal"),
            "textOnly": False,
            "publishToMSI": False,
            "webView": rng.random() < 0.5,
            "template": rng.choice((1001, 1002, 1003)),
            "workspace": "Default",
            "isOpenTrackingDisabled": False,
            "version": rng.choice((1, 2, 2)),
            "autoCopyToText": True,
            "preHeader": None,
        }
        out += _versions(rng, email, updated, now, 0.25)
    return out


def _forms(
    rng: random.Random, start: float, now: float, folders: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for fid, name in _ACTIVITY_TABLES["forms"]:
        form, updated = _asset(
            rng, (start, now), fid, name, url_code="FO", status=APPROVED,
            folder=_folder_ref(folders[41]),
        )
        form |= {
            "theme": rng.choice(_TABLES["themes"]),
            "language": "English",
            "locale": "en_US",
            "progressiveProfiling": rng.random() < 0.3,
            "labelPosition": "above",
            "fontFamily": "Helvetica",
            "fontSize": "13px",
            "knownVisitor": {"type": "form", "template": None},
            "thankYouList": [
                {"default": True, "followupType": "none", "followupValue": None}
            ],
            "buttonLocation": 120,
            "buttonLabel": "Submit",
            "waitingLabel": "Please Wait",
            "workspace": "Default",
        }
        out += _versions(rng, form, updated, now, 0.25)
    return out


def _landing_pages(
    rng: random.Random, start: float, now: float, folders: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    pages = _TABLES["landing_pages"]
    for n, (pid, name, slug) in enumerate(pages):
        retired = n == len(pages) - 2
        never_approved = n == len(pages) - 1
        page, updated = _asset(
            rng, (start, now), pid, name, url_code="LP",
            status=DRAFT if never_approved else APPROVED,
            folder=_folder_ref(folders[45 if retired else 42]),
        )
        page |= {
            "workspace": "Default",
            "template": rng.choice((1, 2)),
            "title": name,
            "keywords": None,
            "robots": "index, nofollow",
            "customHeadHTML": "",
            "facebookOgTags": "",
            "formPrefill": True,
            "mobileEnabled": True,
            "URL": f"https://go.example.com/lp/{slug}.html",
            "computedUrl": f"https://go.example.com/lp/{slug}.html",
        }
        out += _versions(rng, page, updated, now, 0.3)
    return out


def _snippets(
    rng: random.Random, start: float, now: float, folders: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for sid, name in _TABLES["snippets"]:
        snippet, updated = _asset(
            rng, (start, now), sid, name, url_code="SN", status=APPROVED,
            folder=_folder_ref(folders[43]),
        )
        snippet["workspace"] = "Default"
        out += _versions(rng, snippet, updated, now, 0.2)
    return out


@seeder(45, "marketo_sandbox.api.assets.seed_assets")
def seed_assets(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    if spec.programs == 0:
        return  # the empty instance has no marketing assets
    start = now - spec.months * 30 * 86400
    folder_list = _folders(format_ts(start - 86400))
    folders = {f["id"]: f for f in folder_list}
    programs = sorted(store.objects(KIND_PROGRAMS), key=lambda p: p["id"])
    by_kind = {
        KIND_FOLDERS: folder_list,
        KIND_EMAILS: _emails(rng, start, now, programs, folders),
        KIND_FORMS: _forms(rng, start, now, folders),
        KIND_LANDING_PAGES: _landing_pages(rng, start, now, folders),
        KIND_SNIPPETS: _snippets(rng, start, now, folders),
    }
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [
                (kind, asset_pk(kind, a), None, a["createdAt"], a["updatedAt"], dumps(a))
                for kind, assets in by_kind.items()
                for a in assets
            ],
        )
