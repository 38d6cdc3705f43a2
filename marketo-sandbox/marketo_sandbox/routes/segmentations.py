"""Segmentations and their segments (asset API).

Adobe's spec gives Get Segmentations only ``status``; the sandbox pages it by
``offset``/``maxReturn`` like every other browse (20 by default), the stricter reading for
a client. Get Segments pages one segmentation's segments the same way. A segmentation is
versioned: its draft can hold segments its approved version does not, so segments are
asked for by segmentation and ``status``.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import render_asset
from marketo_sandbox.domain.marketing_assets import KIND_SEGMENTATIONS, KIND_SEGMENTS, stored
from marketo_sandbox.domain.workspaces import visible
from marketo_sandbox.routes.assets import asset_paging, status_arg


@router.route("/rest/asset/v1/segmentation.json", ("GET",))
def get_segmentations(ctx: Ctx) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    status = status_arg(ctx)
    found = [
        render_asset(s)
        for s in visible(ctx.config, ctx.store, KIND_SEGMENTATIONS,
                         stored(ctx.store, KIND_SEGMENTATIONS))
        if status is None or s["status"] == status
    ]
    return envelope.asset_ok(found[offset : offset + max_return])


@router.route("/rest/asset/v1/segmentation/<int:segmentation_id>/segments.json", ("GET",))
def get_segments(ctx: Ctx, segmentation_id: int) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    status = status_arg(ctx)
    found = [
        s
        for s in visible(ctx.config, ctx.store, KIND_SEGMENTS, stored(ctx.store, KIND_SEGMENTS))
        if int(s["segmentationId"]) == segmentation_id and (status is None or s["status"] == status)
    ]
    return envelope.asset_ok([render_asset(s) for s in found[offset : offset + max_return]])
