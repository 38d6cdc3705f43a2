"""Asset browses beyond the design assets: email templates, landing page templates, smart
lists, files and tag types, with the deletes Marketo offers for them.

All page by ``offset``/``maxReturn`` (at most 200) and end with the "No assets found"
warning. Templates take ``status`` (approved or draft; both without it); the landing
page template, smart list and file browses take a ``folder`` (``{"id":..,"type":..}``);
only the smart list browse takes an ``updatedAt`` range. Files and tag types have no
delete in the API; a template or smart list delete answers ``[{"id": ..}]``.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import render_asset
from marketo_sandbox.domain.marketing_assets import (
    KIND_EMAIL_TEMPLATES,
    KIND_FILES,
    KIND_LANDING_PAGE_TEMPLATES,
    KIND_SMART_LISTS,
    KIND_TAG_TYPES,
    folder_matches,
    remove,
    stored,
    stored_one,
)
from marketo_sandbox.domain.workspaces import visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.routes.assets import asset_paging, folder_arg, parse_bound, status_arg


def browse_library(
    ctx: Ctx, kind: str, *, status: bool = False, folder: bool = False, updated_range: bool = False
) -> dict[str, Any]:
    """One page of ``kind`` with the filters its endpoint takes (others are ignored, as
    Marketo ignores unknown parameters)."""
    offset, max_return = asset_paging(ctx)
    wanted_status = status_arg(ctx) if status else None
    wanted_folder = folder_arg(ctx, "folder") if folder else None
    earliest = parse_bound(ctx, "earliestUpdatedAt") if updated_range else None
    latest = parse_bound(ctx, "latestUpdatedAt") if updated_range else None
    selected = [
        item
        for item in visible(ctx.config, ctx.store, kind, stored(ctx.store, kind))
        if (wanted_status is None or item.get("status") == wanted_status)
        and (wanted_folder is None or folder_matches(item.get("folder"), wanted_folder))
        and (earliest is None or item["updatedAt"] >= earliest)
        and (latest is None or item["updatedAt"] <= latest)
    ]
    return envelope.asset_ok([render_asset(a) for a in selected[offset : offset + max_return]])


def delete_by_id(ctx: Ctx, kind: str, what: str, item_id: int) -> dict[str, Any]:
    """Delete every version of an asset; 702 when there is none."""
    versions = visible(ctx.config, ctx.store, kind, stored_one(ctx.store, kind, item_id))
    if not versions:
        raise ApiError("702", f"{what} {item_id} not found")
    remove(ctx.store, kind, versions)
    return envelope.asset_ok([{"id": item_id}])


@router.route("/rest/asset/v1/emailTemplates.json", ("GET",))
def browse_email_templates(ctx: Ctx) -> dict[str, Any]:
    return browse_library(ctx, KIND_EMAIL_TEMPLATES, status=True)


@router.route("/rest/asset/v1/emailTemplate/<int:template_id>/delete.json", ("POST",))
def delete_email_template(ctx: Ctx, template_id: int) -> dict[str, Any]:
    return delete_by_id(ctx, KIND_EMAIL_TEMPLATES, "Email template", template_id)


@router.route("/rest/asset/v1/landingPageTemplates.json", ("GET",))
def browse_landing_page_templates(ctx: Ctx) -> dict[str, Any]:
    return browse_library(ctx, KIND_LANDING_PAGE_TEMPLATES, status=True, folder=True)


@router.route("/rest/asset/v1/landingPageTemplate/<int:template_id>/delete.json", ("POST",))
def delete_landing_page_template(ctx: Ctx, template_id: int) -> dict[str, Any]:
    return delete_by_id(ctx, KIND_LANDING_PAGE_TEMPLATES, "Landing page template", template_id)


@router.route("/rest/asset/v1/smartLists.json", ("GET",))
def browse_smart_lists(ctx: Ctx) -> dict[str, Any]:
    return browse_library(ctx, KIND_SMART_LISTS, folder=True, updated_range=True)


@router.route("/rest/asset/v1/smartList/<int:smart_list_id>/delete.json", ("POST",))
def delete_smart_list(ctx: Ctx, smart_list_id: int) -> dict[str, Any]:
    return delete_by_id(ctx, KIND_SMART_LISTS, "Smart list", smart_list_id)


@router.route("/rest/asset/v1/files.json", ("GET",))
def browse_files(ctx: Ctx) -> dict[str, Any]:
    return browse_library(ctx, KIND_FILES, folder=True)


@router.route("/rest/asset/v1/tagTypes.json", ("GET",))
def browse_tag_types(ctx: Ctx) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    items = visible(ctx.config, ctx.store, KIND_TAG_TYPES, stored(ctx.store, KIND_TAG_TYPES))
    items = items[offset : offset + max_return]
    return envelope.asset_ok(items)
