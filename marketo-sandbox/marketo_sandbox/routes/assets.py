"""Asset browse: emails, forms, landing pages, snippets and folders.

Asset API reads page by ``offset`` and ``maxReturn`` (default 20, at most 200); a page
past the end is a success without ``result`` carrying the "No assets found" warning.
Only the email browse takes an ``updatedAt`` range (``earliestUpdatedAt`` and
``latestUpdatedAt``); forms, landing pages and snippets are browsed whole. ``status``
picks the approved or the draft versions; without it both are answered.
"""

from __future__ import annotations

import json
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import (
    KIND_EMAILS,
    KIND_FOLDERS,
    KIND_FORMS,
    KIND_LANDING_PAGES,
    KIND_SNIPPETS,
    STATUSES,
    delete_asset,
    folder_depth,
    render_asset,
    stored_assets,
    under_root,
)
from marketo_sandbox.domain.workspaces import visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.timestamps import parse_datetime

# Marketo's folder browse stops at this depth unless maxDepth says otherwise.
DEFAULT_FOLDER_DEPTH = 2


def asset_paging(ctx: Ctx) -> tuple[int, int]:
    """(offset, maxReturn) of an asset browse, checked as Marketo checks them."""
    offset = ctx.int_arg("offset", 0) or 0
    max_return = ctx.int_arg("maxReturn", 20) or 20
    if offset < 0:
        raise ApiError("1003", "offset must be zero or positive")
    if max_return < 1 or max_return > ctx.config.max_asset_return:
        raise ApiError("1003", f"maxReturn must be between 1 and {ctx.config.max_asset_return}")
    return offset, max_return


def parse_bound(ctx: Ctx, name: str) -> str | None:
    """A datetime argument as the store's ``...Z`` text; 1001 when it is not a datetime."""
    raw = ctx.arg(name)
    if raw is None:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise ApiError("1001", f"Invalid value '{raw}'. Required of type 'datetime'")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(ctx: Ctx) -> str | None:
    status = ctx.arg("status")
    if status is not None and status not in STATUSES:
        raise ApiError("1003", f"Invalid status '{status}': must be approved or draft")
    return status


def _folder_ref(ctx: Ctx, name: str) -> tuple[int, str] | None:
    """A folder argument: JSON ``{"id": .., "type": "Folder"|"Program"}``."""
    raw = ctx.arg(name)
    if raw is None:
        return None
    try:
        ref = json.loads(raw)
        return int(ref["id"]), str(ref.get("type") or "Folder")
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError("1003", f"Invalid {name} '{raw}'") from exc


def _browse(ctx: Ctx, kind: str, *, updated_range: bool = False) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    status = _status(ctx)
    folder = _folder_ref(ctx, "folder")
    earliest = parse_bound(ctx, "earliestUpdatedAt") if updated_range else None
    latest = parse_bound(ctx, "latestUpdatedAt") if updated_range else None
    selected = []
    for asset in visible(ctx.config, ctx.store, kind, stored_assets(ctx.store, kind)):
        if status is not None and asset["status"] != status:
            continue
        if folder is not None:
            ref = asset.get("folder") or {}
            if (int(ref.get("value", -1)), ref.get("type")) != folder:
                continue
        if earliest is not None and asset["updatedAt"] < earliest:
            continue
        if latest is not None and asset["updatedAt"] > latest:
            continue
        selected.append(asset)
    return envelope.asset_ok([render_asset(a) for a in selected[offset : offset + max_return]])


@router.route("/rest/asset/v1/emails.json", ("GET",))
def browse_emails(ctx: Ctx) -> dict[str, Any]:
    return _browse(ctx, KIND_EMAILS, updated_range=True)


@router.route("/rest/asset/v1/forms.json", ("GET",))
def browse_forms(ctx: Ctx) -> dict[str, Any]:
    return _browse(ctx, KIND_FORMS)


@router.route("/rest/asset/v1/landingPages.json", ("GET",))
def browse_landing_pages(ctx: Ctx) -> dict[str, Any]:
    return _browse(ctx, KIND_LANDING_PAGES)


@router.route("/rest/asset/v1/snippets.json", ("GET",))
def browse_snippets(ctx: Ctx) -> dict[str, Any]:
    return _browse(ctx, KIND_SNIPPETS)


@router.route("/rest/asset/v1/folders.json", ("GET",))
def browse_folders(ctx: Ctx) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    max_depth = ctx.int_arg("maxDepth", DEFAULT_FOLDER_DEPTH) or DEFAULT_FOLDER_DEPTH
    workspace = ctx.arg("workSpace")
    root_ref = _folder_ref(ctx, "root")
    root = root_ref[0] if root_ref else None
    readable_folders = visible(ctx.config, ctx.store, KIND_FOLDERS,
                               stored_assets(ctx.store, KIND_FOLDERS))
    folders = {int(f["id"]): f for f in readable_folders}
    base = 0 if root is None or root not in folders else folder_depth(folders, folders[root]) - 1
    selected = []
    for folder in folders.values():
        if workspace is not None and folder.get("workspace") != workspace:
            continue
        if root is not None and not under_root(folders, folder, root):
            continue
        # Depth counts from the root asked for (or the workspace roots).
        if folder_depth(folders, folder) - base > max_depth:
            continue
        selected.append(folder)
    return envelope.asset_ok([render_asset(f) for f in selected[offset : offset + max_return]])


@router.route("/rest/asset/v1/email/<int:email_id>/delete.json", ("POST",), fidelity_only=True)
def delete_email(ctx: Ctx, email_id: int) -> dict[str, Any]:
    versions = [e for e in stored_assets(ctx.store, KIND_EMAILS) if e["id"] == email_id]
    if not visible(ctx.config, ctx.store, KIND_EMAILS, versions) or not delete_asset(
        ctx.store, KIND_EMAILS, email_id
    ):
        raise ApiError("702", f"Email {email_id} not found")
    return envelope.asset_ok([{"id": email_id}])

# The other asset browses (templates, smart lists, files...) check these arguments alike.
status_arg = _status
folder_arg = _folder_ref
