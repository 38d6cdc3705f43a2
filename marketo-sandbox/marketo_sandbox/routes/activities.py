"""``/rest/v1/activities``: types, paging tokens, activities, lead changes, deleted leads.

A paging token is a position in the activity id space (ids grow with time, see the
renumbering seeder). Like Marketo, a read scans a bounded range of ids per call and
returns what matches in it: a page can be short or EMPTY while ``moreResult`` is true,
and every response carries ``nextPageToken`` and ``moreResult`` so a client can resume
later from where it stopped. An empty page has no ``result`` key at all, as in Marketo.
"""

from __future__ import annotations

import json
from typing import Any

from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.activities import (
    deleted_lead,
    last_activity_id,
    lead_change,
    position_at,
    present,
)
from marketo_sandbox.domain.leads import decode_token, encode_token, visible_lead_rows_clause
from marketo_sandbox.envelope import ApiError, ok
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.activity_types import ACTIVITY_TYPES, ACTIVITY_TYPES_BY_ID
from marketo_sandbox.model.leads import (
    FIELD_SPECS,
    canonical_field,
)
from marketo_sandbox.timestamps import parse_datetime

TOKEN_KIND = "act"  # noqa: S105 - a paging token prefix, not a secret

MAX_TYPE_IDS = 10

MAX_LEAD_IDS = 30

# Activity ids one call scans (Marketo pages through its activity store by range, so
# sparse types give empty pages). Tests shrink it with config extra.activity_scan_window.
DEFAULT_SCAN_WINDOW = 10_000


def _scan_window(ctx: Ctx) -> int:
    try:
        return max(1, int(ctx.config.extra.get("activity_scan_window", DEFAULT_SCAN_WINDOW)))
    except (TypeError, ValueError):
        return DEFAULT_SCAN_WINDOW


def _int_list(ctx: Ctx, name: str) -> list[int]:
    try:
        return [int(v) for v in ctx.list_arg(name)]
    except ValueError:
        raise ApiError("1003", f"Invalid value for {name}") from None


def _scan(ctx: Ctx, where: list[str], params: list[Any]) -> tuple[list[dict[str, Any]], int, bool]:
    """One call's range scan: (matching docs in id order, next position, more to read)."""
    position = decode_token(ctx.require("nextPageToken"), TOKEN_KIND)
    batch = ctx.batch_size()
    end = position + _scan_window(ctx)
    lead_ids = _int_list(ctx, "leadIds")
    if len(lead_ids) > MAX_LEAD_IDS:
        raise ApiError("1003", f"Number of leadIds exceeds {MAX_LEAD_IDS}")
    if lead_ids:
        where.append(f"leadId IN ({','.join('?' * len(lead_ids))})")
        params.extend(lead_ids)
    kept = ctx.store.activities_kept()
    if kept is not None:
        # Retention: Marketo no longer serves pruned activities (docs/MARKETO.md section 9).
        where.append(kept[0])
        params.extend(kept[1])
    list_id = ctx.int_arg("listId")
    if list_id is not None:
        where.append("leadId IN (SELECT leadId FROM list_members WHERE listId=?)")
        params.append(list_id)
    visible, visible_params = visible_lead_rows_clause(ctx.config)
    where.append(visible)
    params.extend(visible_params)
    rows = ctx.store.query(
        f"SELECT id, data FROM activities WHERE id >= ? AND id < ? AND {' AND '.join(where)} "  # noqa: S608
        "ORDER BY id LIMIT ?",
        [position, end, *params, batch],
    )
    next_position = rows[-1]["id"] + 1 if len(rows) == batch else end
    last = last_activity_id(ctx.store)
    next_position = max(position, min(next_position, last + 1))
    return [json.loads(r["data"]) for r in rows], next_position, next_position <= last


def _page(result: list[dict[str, Any]], position: int, more: bool) -> dict[str, Any]:
    return ok(result or None, nextPageToken=encode_token(TOKEN_KIND, position), moreResult=more)


@router.route("/rest/v1/activities/types.json", ("GET",))
def types(ctx: Ctx) -> dict[str, Any]:
    return ok(ACTIVITY_TYPES)


@router.route("/rest/v1/activities/pagingtoken.json", ("GET",))
def paging_token(ctx: Ctx) -> dict[str, Any]:
    text = ctx.require("sinceDatetime")
    since = parse_datetime(text)
    if since is None:
        raise ApiError("1001", f"Invalid value '{text}'. Required of type 'datetime'")
    position = position_at(ctx.store, since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return ok(None, nextPageToken=encode_token(TOKEN_KIND, position))


@router.route("/rest/v1/activities.json", ("GET",))
def activities(ctx: Ctx) -> dict[str, Any]:
    type_ids = _int_list(ctx, "activityTypeIds")
    if not type_ids:
        raise ApiError("1003", "activityTypeIds cannot be blank")
    if len(set(type_ids)) > MAX_TYPE_IDS:
        raise ApiError("1003", f"Number of activityTypeIds exceeds {MAX_TYPE_IDS}")
    unknown = [t for t in type_ids if t not in ACTIVITY_TYPES_BY_ID]
    if unknown:
        raise ApiError("1003", f"Invalid activity type id '{unknown[0]}'")
    where = [f"activityTypeId IN ({','.join('?' * len(set(type_ids)))})"]
    params: list[Any] = list(dict.fromkeys(type_ids))
    asset_ids = _int_list(ctx, "assetIds")
    if asset_ids:
        if len(set(type_ids)) != 1:
            raise ApiError("1003", "assetIds can only be used with a single activity type id")
        where.append(
            f"json_extract(data, '$.primaryAttributeValueId') IN ({','.join('?' * len(asset_ids))})"
        )
        params.extend(asset_ids)
    docs, position, more = _scan(ctx, where, params)
    return _page([present(d) for d in docs], position, more)


@router.route("/rest/v1/activities/leadchanges.json", ("GET",), fidelity_only=True)
def lead_changes(ctx: Ctx) -> dict[str, Any]:
    requested = ctx.list_arg("fields")
    if not requested:
        raise ApiError("1003", "fields cannot be blank")
    field_ids = []
    for name in requested:
        canonical = canonical_field(name)
        if canonical is None:
            raise ApiError("1006", f"Field '{name}' not found")
        field_ids.append(FIELD_SPECS[canonical].id)
    marks = ",".join("?" * len(field_ids))
    where = [
        f"(activityTypeId = ? OR (activityTypeId = ? AND "
        f"json_extract(data, '$.primaryAttributeValueId') IN ({marks})))"
    ]
    docs, position, more = _scan(ctx, where, [at.NEW_LEAD, at.CHANGE_DATA_VALUE, *field_ids])
    return _page([lead_change(d) for d in docs], position, more)


@router.route("/rest/v1/activities/deletedleads.json", ("GET",))
def deleted_leads(ctx: Ctx) -> dict[str, Any]:
    docs, position, more = _scan(ctx, ["activityTypeId = ?"], [at.DELETE_LEAD])
    return _page([deleted_lead(d) for d in docs], position, more)
