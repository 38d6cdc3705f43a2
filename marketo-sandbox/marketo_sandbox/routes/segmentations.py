"""Segmentations and their segments (asset API).

Get Segmentations takes only ``status`` and answers every segmentation in one call (no
paging parameters in Adobe's spec); Get Segments pages one segmentation's segments by
``offset``/``maxReturn``. A segmentation is versioned: its draft can hold segments its
approved version does not, so segments are asked for by segmentation and ``status``.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import render_asset
from marketo_sandbox.domain.marketing_assets import KIND_SEGMENTATIONS, KIND_SEGMENTS, stored
from marketo_sandbox.routes.assets import asset_paging, status_arg


@router.route("/rest/asset/v1/segmentation.json", ("GET",))
def get_segmentations(ctx: Ctx) -> dict[str, Any]:
    status = status_arg(ctx)
    found = [
        render_asset(s)
        for s in stored(ctx.store, KIND_SEGMENTATIONS)
        if status is None or s["status"] == status
    ]
    return envelope.asset_ok(found)


@router.route("/rest/asset/v1/segmentation/<int:segmentation_id>/segments.json", ("GET",))
def get_segments(ctx: Ctx, segmentation_id: int) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    status = status_arg(ctx)
    found = [
        s
        for s in stored(ctx.store, KIND_SEGMENTS)
        if int(s["segmentationId"]) == segmentation_id and (status is None or s["status"] == status)
    ]
    return envelope.asset_ok([render_asset(s) for s in found[offset : offset + max_return]])
