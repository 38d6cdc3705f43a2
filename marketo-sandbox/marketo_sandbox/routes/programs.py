"""Programs (asset API), channels, and program membership (lead database API).

Programs are assets: browsed by offset with ``maxReturn`` and answered in the asset
envelope, where the end of the data is a "No assets found" warning and timestamps carry
a redundant offset (``2026-07-27T01:38:33Z+0000``). Membership is lead-database data:
paged by ``nextPageToken`` and changed through status progression, where a member only
moves forward (a lower step is skipped with 1037) and every change is a Change Status in
Progression activity on the lead.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.leads import visible_lead_rows_clause
from marketo_sandbox.domain.objects import (
    as_int,
    decode_page_token,
    encode_page_token,
    lead_rows,
    render_lead,
)
from marketo_sandbox.domain.programs import (
    LIVE_LEAD,
    change_status,
    delete_program,
    is_engagement,
    program,
    programs,
    remove_members,
    render_program,
    update_member_fields,
)
from marketo_sandbox.domain.workspaces import in_reach, visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.objects import (
    CHANNELS,
    PROGRAM_MEMBER_CUSTOM_FIELDS,
    PROGRAM_MEMBER_FIELDS,
    TYPES_CREATED_AT,
    TYPES_UPDATED_AT,
    program_member_field,
    program_member_searchable,
    render_membership,
    render_program_member,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.routes.assets import asset_paging, parse_bound
from marketo_sandbox.routes.objects import lead_fields_arg
from marketo_sandbox.timestamps import parse_datetime

# Marketo refuses non-leadId member filters over programs this large (1003).
DEFAULT_MEMBER_FILTER_LIMIT = 100_000


@router.route("/rest/asset/v1/programs.json", ("GET",))
def browse_programs(ctx: Ctx) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    earliest = parse_bound(ctx, "earliestUpdatedAt")
    latest = parse_bound(ctx, "latestUpdatedAt")
    if (earliest is None) != (latest is None):
        raise ApiError("1003", "earliestUpdatedAt and latestUpdatedAt must be used together")
    status = ctx.arg("status")
    filter_type = ctx.arg("filterType")
    filter_values = ctx.list_arg("filterValues")
    if filter_type is not None and not filter_values:
        raise ApiError("1003", "filterValues cannot be blank")

    selected = []
    for prog in _programs(ctx):
        if earliest is not None and latest is not None:
            # Adobe: the range returns programs created OR updated within it.
            created_in = earliest <= prog["createdAt"] <= latest
            updated_in = earliest <= prog["updatedAt"] <= latest
            if not (created_in or updated_in):
                continue
        if status is not None and prog.get("status") != status:
            continue
        if filter_type is not None and not _browse_filter(prog, filter_type, filter_values):
            continue
        selected.append(prog)
    page = selected[offset : offset + max_return]
    return envelope.asset_ok([render_program(p) for p in page])


def _programs(ctx: Ctx) -> list[dict[str, Any]]:
    return visible(ctx.config, ctx.store, KIND_PROGRAMS, programs(ctx.store))


def _program(ctx: Ctx, program_id: int) -> dict[str, Any] | None:
    """The program the API user reads by id: one out of its role's workspaces is as
    absent as one that does not exist."""
    return in_reach(ctx.config, ctx.store, KIND_PROGRAMS, program(ctx.store, program_id))


def _browse_filter(prog: dict[str, Any], filter_type: str, values: list[str]) -> bool:
    if filter_type in ("id", "programId"):
        return str(prog["id"]) in values
    if filter_type == "folderId":
        return str(prog["folder"]["value"]) in values
    if filter_type == "workspace":
        return prog.get("workspace") in values
    raise ApiError("1003", f"Invalid filterType '{filter_type}'")


@router.route("/rest/asset/v1/program/<int:program_id>.json", ("GET",))
def get_program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    prog = _program(ctx, program_id)
    return envelope.asset_ok([render_program(prog, full=True)] if prog else [])


@router.route("/rest/asset/v1/program/byName.json", ("GET",), fidelity_only=True)
def get_program_by_name(ctx: Ctx) -> dict[str, Any]:
    name = ctx.require("name")
    found = [p for p in _programs(ctx) if p["name"] == name]
    return envelope.asset_ok([render_program(p, full=True) for p in found])


@router.route("/rest/asset/v1/channels.json", ("GET",))
def browse_channels(ctx: Ctx) -> dict[str, Any]:
    offset, max_return = asset_paging(ctx)
    items = [c.as_asset() for c in CHANNELS.values()][offset : offset + max_return]
    return envelope.asset_ok(items)


@router.route("/rest/asset/v1/channel/byName.json", ("GET",), fidelity_only=True)
def channel_by_name(ctx: Ctx) -> dict[str, Any]:
    found = CHANNELS.get(ctx.require("name"))
    return envelope.asset_ok([found.as_asset()] if found else [])


def _describe_members() -> dict[str, Any]:
    return {
        "name": "API Program Membership",
        "description": "Map for API program membership fields",
        "createdAt": TYPES_CREATED_AT,
        "updatedAt": TYPES_UPDATED_AT,
        "dedupeFields": ["leadId", "programId"],
        "searchableFields": program_member_searchable(),
        "fields": [dict(f) for f in PROGRAM_MEMBER_FIELDS],
    }


@router.route("/rest/v1/programs/members/describe.json", ("GET",))
def describe_members(ctx: Ctx) -> dict[str, Any]:
    return envelope.ok([_describe_members()])


@router.route("/rest/v1/program/members/describe.json", ("GET",), fidelity_only=True)
def describe_members_legacy(ctx: Ctx) -> dict[str, Any]:
    # The superseded endpoint answers the older, smaller shape.
    full = _describe_members()
    return envelope.ok([
        {"name": "API Program Member", "searchableFields": full["searchableFields"],
         "fields": full["fields"]}
    ])


def _require_program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    prog = _program(ctx, program_id)
    if prog is None:
        raise ApiError("1013", f"Program '{program_id}' not found")
    return prog


def _member_fields(ctx: Ctx) -> list[str] | None:
    names = ctx.list_arg("fields")
    if not names:
        return None
    out = []
    for name in names:
        fdef = program_member_field(name)
        if fdef is None:
            raise ApiError("1006", f"Field '{name}' not found")
        if fdef["name"] not in out:
            out.append(fdef["name"])
    return out


@router.route("/rest/v1/programs/<int:program_id>/members.json", ("GET",))
def get_members(ctx: Ctx, program_id: int) -> dict[str, Any]:
    _require_program(ctx, program_id)
    filter_type = ctx.require("filterType")
    fields = _member_fields(ctx)
    batch = ctx.batch_size()
    where = ["pm.programId = ?", LIVE_LEAD]
    params: list[Any] = [program_id]
    if filter_type == "updatedAt":
        start = parse_bound(ctx, "startAt")
        end = parse_bound(ctx, "endAt")
        if start is None or end is None:
            raise ApiError("1003", "startAt and endAt are required with filterType updatedAt")
        start_dt, end_dt = parse_datetime(start), parse_datetime(end)
        assert start_dt is not None
        assert end_dt is not None
        if end_dt < start_dt:
            raise ApiError("1003", "endAt must not be before startAt")
        if end_dt - start_dt > timedelta(days=ctx.config.program_member_max_window_days):
            raise ApiError(
                "1003",
                f"Date range exceeds {ctx.config.program_member_max_window_days} days",
            )
        where.append("pm.updatedAt BETWEEN ? AND ?")
        params += [start, end]
    else:
        values = ctx.list_arg("filterValues")
        if not values:
            raise ApiError("1003", "filterValues cannot be blank")
        if len(values) > ctx.config.max_filter_values:
            raise ApiError(
                "1003", f"Number of filter values exceeds {ctx.config.max_filter_values}"
            )
        clause, extra = _member_filter(filter_type, values)
        where.append(clause)
        params += extra
    if filter_type != "leadId":
        limit = int(
            ctx.config.extra.get("program_member_filter_limit", DEFAULT_MEMBER_FILTER_LIMIT)
        )
        total = ctx.store.query(
            "SELECT COUNT(*) AS n FROM program_members WHERE programId = ?", [program_id]
        )[0]["n"]
        if total > limit:
            raise ApiError(
                "1003",
                f"Total membership size: {total:,} exceeds the limit allowed ({limit:,}) "
                "for the filter",
            )

    visible, visible_params = visible_lead_rows_clause(ctx.config, "pm.leadId")
    where.append(visible)
    params += visible_params
    state = decode_page_token(ctx.arg("nextPageToken"), f"pm:{program_id}")
    offset = int(state.get("o", 0)) if state else 0
    rows = ctx.store.query(
        f"SELECT data FROM program_members pm WHERE {' AND '.join(where)} "  # noqa: S608
        "ORDER BY pm.leadId LIMIT ? OFFSET ?",
        [*params, batch + 1, offset],
    )
    more = len(rows) > batch
    result = [
        {"seq": offset + i, **render_program_member(json.loads(r["data"]), fields)}
        for i, r in enumerate(rows[:batch])
    ]
    extra_out: dict[str, Any] = {"moreResult": more}
    if more:
        extra_out["nextPageToken"] = encode_page_token(
            {"s": f"pm:{program_id}", "o": offset + batch}
        )
    return envelope.ok(result, **extra_out)


def _member_filter(filter_type: str, values: list[str]) -> tuple[str, list[Any]]:
    marks = ",".join("?" * len(values))
    if filter_type == "leadId":
        ids = [as_int(v) for v in values]
        if any(i is None for i in ids):
            raise ApiError("1003", "leadId filter values must be integers")
        return f"pm.leadId IN ({marks})", ids
    if filter_type == "statusName":
        return f"json_extract(pm.data, '$.statusName') IN ({marks})", list(values)
    if filter_type == "reachedSuccess":
        flags = []
        for v in values:
            low = v.strip().lower()
            if low not in ("true", "false"):
                raise ApiError("1003", f"Invalid value '{v}' for reachedSuccess")
            flags.append(1 if low == "true" else 0)
        return f"json_extract(pm.data, '$.reachedSuccess') IN ({marks})", flags
    fdef = program_member_field(filter_type)
    custom = {
        f["name"] for f in PROGRAM_MEMBER_CUSTOM_FIELDS if f["dataType"] in ("string", "integer")
    }
    if fdef is None or fdef["name"] not in custom:
        raise ApiError("1003", f"Invalid filterType '{filter_type}'")
    path = f"$.{fdef['name']}"
    return f"CAST(json_extract(pm.data, '{path}') AS TEXT) IN ({marks})", list(values)


def _input_list(ctx: Ctx) -> list[Any]:
    body = ctx.body()
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    return items


@router.route("/rest/v1/programs/<int:program_id>/members/status.json", ("POST",))
def change_member_status(ctx: Ctx, program_id: int) -> dict[str, Any]:
    prog = _require_program(ctx, program_id)
    status_name = ctx.body().get("statusName")
    if not status_name:
        raise ApiError("1003", "statusName cannot be blank")
    items = _input_list(ctx)
    lead_ids = [as_int(i.get("leadId")) if isinstance(i, dict) else None for i in items]
    outcomes = change_status(ctx.store, prog, lead_ids, str(status_name))
    return envelope.ok([{"seq": seq, **outcome} for seq, outcome in enumerate(outcomes)])


@router.route("/rest/v1/leads/programs/<int:program_id>/status.json", ("POST",), fidelity_only=True)
def change_lead_program_status(ctx: Ctx, program_id: int) -> dict[str, Any]:
    """The superseded Change Lead Program Status: ``{"status", "input":[{"id"}]}``, only
    for existing members (swagger: "Only existing members of the program may have their
    status changed"), answering ``[{"id", "status"}]`` with the same progression rules."""
    prog = _require_program(ctx, program_id)
    status_name = ctx.body().get("status")
    if not status_name:
        raise ApiError("1003", "status cannot be blank")
    items = _input_list(ctx)
    lead_ids = [as_int(i.get("id")) if isinstance(i, dict) else None for i in items]
    outcomes = change_status(ctx.store, prog, lead_ids, str(status_name), members_only=True)
    results = []
    for outcome in outcomes:
        item: dict[str, Any] = {}
        if outcome.get("leadId") is not None:
            item["id"] = outcome["leadId"]
        if outcome["status"] == "skipped":
            item.update(status="skipped", reasons=outcome["reasons"])
        else:
            item["status"] = "updated"
        results.append(item)
    return envelope.ok(results)


@router.route("/rest/v1/programs/<int:program_id>/members.json", ("POST",))
def sync_member_data(ctx: Ctx, program_id: int) -> dict[str, Any]:
    _require_program(ctx, program_id)
    return envelope.ok(update_member_fields(ctx.store, program_id, _input_list(ctx)))


@router.route("/rest/v1/programs/<int:program_id>/members/delete.json", ("POST",))
def delete_members(ctx: Ctx, program_id: int) -> dict[str, Any]:
    _require_program(ctx, program_id)
    return envelope.ok(remove_members(ctx.store, program_id, _input_list(ctx)))


@router.route("/rest/v1/leads/programs/<int:program_id>.json", ("GET",), fidelity_only=True)
def leads_by_program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    engagement = is_engagement(_require_program(ctx, program_id))
    fields = lead_fields_arg(ctx)
    batch = ctx.batch_size()
    state = decode_page_token(ctx.arg("nextPageToken"), f"lp:{program_id}")
    after = int(state.get("a", 0)) if state else 0
    visible, visible_params = visible_lead_rows_clause(ctx.config, "pm.leadId")
    rows = ctx.store.query(
        f"SELECT pm.leadId, pm.data FROM program_members pm WHERE pm.programId = ? AND {LIVE_LEAD} "  # noqa: S608
        f"AND {visible} AND pm.leadId > ? ORDER BY pm.leadId LIMIT ?",
        [program_id, *visible_params, after, batch + 1],
    )
    more = len(rows) > batch
    rows = rows[:batch]
    leads = lead_rows(ctx.store, [int(r["leadId"]) for r in rows])
    result = []
    for r in rows:
        lead = render_lead(leads[int(r["leadId"])], fields)
        lead["membership"] = render_membership(json.loads(r["data"]), engagement=engagement)
        result.append(lead)
    extra: dict[str, Any] = {}
    if more:
        extra["nextPageToken"] = encode_page_token(
            {"s": f"lp:{program_id}", "a": rows[-1]["leadId"]}
        )
    return envelope.ok(result, **extra)


@router.route("/rest/asset/v1/program/<int:program_id>/delete.json", ("POST",), fidelity_only=True)
def delete_program_route(ctx: Ctx, program_id: int) -> dict[str, Any]:
    if _program(ctx, program_id) is None or not delete_program(ctx.store, program_id):
        raise ApiError("702", f"Program {program_id} not found")
    return envelope.asset_ok([{"id": program_id}])
