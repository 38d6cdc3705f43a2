"""Design assets: emails, forms, landing pages, snippets, and the folders that hold them.

An email, form, landing page or snippet has up to two versions: the approved one (what
is live) and a draft (edits not yet approved). Browsing without ``status`` answers both,
one row each with the same ``id``; a never-approved asset has only its draft. Each
version is stored as its own object (pk ``<id>:<status>``) so a draft edit moves only
the draft's ``updatedAt``. Folders have no versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marketo_sandbox.store import Store
from marketo_sandbox.timestamps import asset_ts

# Store kinds; also the ground-truth names (the tap's stream names).
KIND_EMAILS = "emails"
KIND_FORMS = "forms"
KIND_LANDING_PAGES = "landing_pages"
KIND_SNIPPETS = "snippets"
KIND_FOLDERS = "folders"

VERSIONED_KINDS = (KIND_EMAILS, KIND_FORMS, KIND_LANDING_PAGES, KIND_SNIPPETS)
ASSET_KINDS = (*VERSIONED_KINDS, KIND_FOLDERS)

APPROVED = "approved"
DRAFT = "draft"
STATUSES = (APPROVED, DRAFT)


def asset_pk(kind: str, asset: dict[str, Any]) -> str:
    if kind == KIND_FOLDERS:
        return str(asset["id"])
    return f"{asset['id']}:{asset['status']}"


def put_asset(store: Store, kind: str, asset: dict[str, Any]) -> None:
    store.object_put(kind, asset_pk(kind, asset), asset)


def stored_assets(store: Store, kind: str) -> list[dict[str, Any]]:
    """Every stored version of ``kind``, by id then approved before draft (Marketo's
    browse order)."""
    return sorted(
        store.objects(kind),
        key=lambda a: (int(a["id"]), STATUSES.index(a["status"]) if "status" in a else 0),
    )


def render_asset(asset: dict[str, Any]) -> dict[str, Any]:
    """An asset as the asset API answers it: timestamps with the redundant ``+0000``."""
    out = dict(asset)
    for name in ("createdAt", "updatedAt"):
        if name in out:
            out[name] = asset_ts(out[name])
    return out


def folder_depth(folders: dict[int, dict[str, Any]], folder: dict[str, Any]) -> int:
    """1 for a root folder (Marketing Activities, Design Studio), 2 for its children..."""
    depth = 1
    parent = folder.get("parent")
    while parent and int(parent["id"]) in folders and depth <= len(folders):
        depth += 1
        parent = folders[int(parent["id"])].get("parent")
    return depth


def under_root(folders: dict[int, dict[str, Any]], folder: dict[str, Any], root: int) -> bool:
    """True when ``folder`` is ``root`` or lies below it."""
    current: dict[str, Any] | None = folder
    for _ in range(len(folders) + 1):
        if current is None:
            return False
        if int(current["id"]) == root:
            return True
        parent = current.get("parent")
        current = folders.get(int(parent["id"])) if parent else None
    return False


def rendered(store: Store, kind: str) -> Iterator[dict[str, Any]]:
    for asset in stored_assets(store, kind):
        yield render_asset(asset)


def delete_asset(store: Store, kind: str, asset_id: int) -> bool:
    """Delete an asset, both its versions (Marketo's delete takes the id, not a
    version); False when there is no such asset."""
    deleted = False
    with store.transaction():
        for status in STATUSES:
            deleted = store.object_delete(kind, f"{asset_id}:{status}") or deleted
    return deleted


def delete_program_assets(store: Store, program_id: int) -> None:
    """Delete the assets a program holds (its local emails, forms, landing pages and
    snippets: their folder is the program), as deleting the program does."""
    with store.transaction():
        for kind in VERSIONED_KINDS:
            for asset in list(store.objects(kind)):
                folder = asset.get("folder") or {}
                if folder.get("type") == "Program" and int(folder.get("value", -1)) == program_id:
                    store.object_delete(kind, asset_pk(kind, asset))
