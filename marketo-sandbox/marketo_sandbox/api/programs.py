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
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.api.control import ground_truth
from marketo_sandbox.api.objects import (
    as_int,
    bulk_log_activities,
    coerce,
    decode_page_token,
    encode_page_token,
    existing_lead_ids,
    lead_fields_arg,
    lead_rows,
    render_lead,
)
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.objects import (
    CHANNELS,
    ENGAGEMENT,
    NOT_IN_PROGRAM,
    NURTURE_CADENCES,
    NURTURE_TRACKS,
    PROGRAM_MEMBER_CUSTOM_FIELDS,
    PROGRAM_MEMBER_FIELDS,
    PROGRAM_TYPES,
    TYPES_CREATED_AT,
    TYPES_UPDATED_AT,
    Channel,
    asset_ts,
    parse_datetime,
    program_member_field,
    program_member_searchable,
    render_membership,
    render_program_member,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store, dumps, format_ts

CHANGE_STATUS_IN_PROGRESSION = 104
ADD_TO_NURTURE = 113

# Marketo refuses non-leadId member filters over programs this large (1003).
DEFAULT_MEMBER_FILTER_LIMIT = 100_000

# Attribute value Marketo writes as the reason of an API-made status change.
API_REASON = "Changed by Web Service API"

_BROWSE_FIELDS = (
    "id", "name", "description", "createdAt", "updatedAt", "url", "type", "channel", "folder",
    "status", "workspace", "headStart",
)


# -- programs --------------------------------------------------------------------------


def program(store: Store, program_id: Any) -> dict[str, Any] | None:
    return store.object_get(KIND_PROGRAMS, program_id)


def programs(store: Store) -> list[dict[str, Any]]:
    return sorted(store.objects(KIND_PROGRAMS), key=lambda p: p["id"])


def program_channel(prog: dict[str, Any]) -> Channel:
    return CHANNELS[prog["channel"]]


def is_engagement(prog: dict[str, Any]) -> bool:
    return prog.get("type") == ENGAGEMENT


def render_program(prog: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    """A program as the asset API returns it; ``full`` adds what only by-id reads carry."""
    out: dict[str, Any] = {}
    for name in _BROWSE_FIELDS:
        value = prog.get(name)
        out[name] = asset_ts(value) if name in ("createdAt", "updatedAt") else value
    if full:
        out["tags"] = prog.get("tags") or []
        out["costs"] = prog.get("costs")
    return out


def _parse_bound(ctx: Ctx, name: str) -> str | None:
    raw = ctx.arg(name)
    if raw is None:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise ApiError("1001", f"Invalid value '{raw}'. Required of type 'datetime'")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


@router.route("/rest/asset/v1/programs.json", ("GET",))
def browse_programs(ctx: Ctx) -> dict[str, Any]:
    offset = ctx.int_arg("offset", 0) or 0
    max_return = ctx.int_arg("maxReturn", 20) or 20
    if offset < 0:
        raise ApiError("1003", "offset must be zero or positive")
    if max_return < 1 or max_return > ctx.config.max_asset_return:
        raise ApiError("1003", f"maxReturn must be between 1 and {ctx.config.max_asset_return}")
    earliest = _parse_bound(ctx, "earliestUpdatedAt")
    latest = _parse_bound(ctx, "latestUpdatedAt")
    if (earliest is None) != (latest is None):
        raise ApiError("1003", "earliestUpdatedAt and latestUpdatedAt must be used together")
    status = ctx.arg("status")
    filter_type = ctx.arg("filterType")
    filter_values = ctx.list_arg("filterValues")
    if filter_type is not None and not filter_values:
        raise ApiError("1003", "filterValues cannot be blank")

    selected = []
    for prog in programs(ctx.store):
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
    prog = program(ctx.store, program_id)
    return envelope.asset_ok([render_program(prog, full=True)] if prog else [])


@router.route("/rest/asset/v1/program/byName.json", ("GET",))
def get_program_by_name(ctx: Ctx) -> dict[str, Any]:
    name = ctx.require("name")
    found = [p for p in programs(ctx.store) if p["name"] == name]
    return envelope.asset_ok([render_program(p, full=True) for p in found])


@router.route("/rest/asset/v1/channels.json", ("GET",))
def browse_channels(ctx: Ctx) -> dict[str, Any]:
    offset = ctx.int_arg("offset", 0) or 0
    max_return = ctx.int_arg("maxReturn", 20) or 20
    if max_return < 1 or max_return > ctx.config.max_asset_return:
        raise ApiError("1003", f"maxReturn must be between 1 and {ctx.config.max_asset_return}")
    items = [c.as_asset() for c in CHANNELS.values()][offset : offset + max_return]
    return envelope.asset_ok(items)


@router.route("/rest/asset/v1/channel/byName.json", ("GET",))
def channel_by_name(ctx: Ctx) -> dict[str, Any]:
    found = CHANNELS.get(ctx.require("name"))
    return envelope.asset_ok([found.as_asset()] if found else [])


# -- program members -----------------------------------------------------------------


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


@router.route("/rest/v1/program/members/describe.json", ("GET",))
def describe_members_legacy(ctx: Ctx) -> dict[str, Any]:
    # The superseded endpoint answers the older, smaller shape.
    full = _describe_members()
    return envelope.ok([
        {"name": "API Program Member", "searchableFields": full["searchableFields"],
         "fields": full["fields"]}
    ])


def _require_program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    prog = program(ctx.store, program_id)
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


# Only members whose lead still exists are members (a deleted lead leaves its programs).
_LIVE = "EXISTS (SELECT 1 FROM leads l WHERE l.id = pm.leadId)"


@router.route("/rest/v1/programs/<int:program_id>/members.json", ("GET",))
def get_members(ctx: Ctx, program_id: int) -> dict[str, Any]:
    _require_program(ctx, program_id)
    filter_type = ctx.require("filterType")
    fields = _member_fields(ctx)
    batch = ctx.batch_size()
    where = ["pm.programId = ?", _LIVE]
    params: list[Any] = [program_id]
    if filter_type == "updatedAt":
        start = _parse_bound(ctx, "startAt")
        end = _parse_bound(ctx, "endAt")
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


def _membership(store: Store, program_id: int, lead_id: int) -> dict[str, Any] | None:
    row = store.conn().execute(
        "SELECT data FROM program_members WHERE programId=? AND leadId=?", (program_id, lead_id)
    ).fetchone()
    return json.loads(row["data"]) if row else None


def _put_member(db: Any, data: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO program_members(programId, leadId, updatedAt, data) VALUES(?,?,?,?) "
        "ON CONFLICT(programId, leadId) DO UPDATE SET updatedAt=excluded.updatedAt, "
        "data=excluded.data",
        (data["programId"], data["leadId"], data["updatedAt"], dumps(data)),
    )


def _input_list(ctx: Ctx) -> list[Any]:
    body = ctx.body()
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    return items


def status_change_activity(
    prog: dict[str, Any],
    member: dict[str, Any],
    old_status: str,
    new_status: str,
    reason: str = API_REASON,
) -> dict[str, Any]:
    """The Change Status in Progression (104) activity of a status change, as keyword
    arguments of :func:`bulk_log_activities` (without leadId/when)."""
    chan = program_channel(prog)
    new = chan.status(new_status)
    return {
        "activityTypeId": CHANGE_STATUS_IN_PROGRESSION,
        "primaryAttributeValueId": prog["id"],
        "primaryAttributeValue": prog["name"],
        "attributes": {
            "New Status ID": chan.status_id(new_status),
            "Old Status ID": chan.status_id(old_status),
            "New Status": new_status,
            "Old Status": old_status,
            "Reason": reason,
            "Success": bool(new and new.success),
            "Program Member ID": member["memberId"],
            "Acquired By": bool(member.get("acquiredBy")),
            "Registration Code": member.get("registrationCode"),
            "Webinar URL": member.get("webinarUrl"),
        },
    }


def nurture_activity(prog: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
    track = member.get("trackName") or NURTURE_TRACKS[0]
    return {
        "activityTypeId": ADD_TO_NURTURE,
        "primaryAttributeValueId": prog["id"],
        "primaryAttributeValue": prog["name"],
        "attributes": {"Track ID": NURTURE_TRACKS.index(track) + 1 if track in NURTURE_TRACKS
                       else None, "Track Name": track},
    }


def _log(store: Store, lead_id: int, activity: dict[str, Any]) -> None:
    store.log_activity(
        lead_id,
        activity["activityTypeId"],
        primary_attribute_value_id=activity.get("primaryAttributeValueId"),
        primary_attribute_value=activity.get("primaryAttributeValue"),
        attributes=activity.get("attributes"),
    )


def new_member(
    store: Store, prog: dict[str, Any], lead_id: int, status: str, now: str
) -> dict[str, Any]:
    chan = program_channel(prog)
    st = chan.status(status)
    success = bool(st and st.success)
    data: dict[str, Any] = {
        "leadId": lead_id,
        "programId": prog["id"],
        "program": prog["name"],
        "memberId": store.next_id("program_member"),
        "statusName": status,
        "statusReason": API_REASON,
        "reachedSuccess": success,
        "reachedSuccessDate": now if success else None,
        "acquiredBy": False,
        "membershipDate": now,
        "createdAt": now,
        "updatedAt": now,
        "isExhausted": False,
        "nurtureCadence": None,
        "trackName": None,
        "attendanceLikelihood": None,
        "registrationLikelihood": None,
        "waitlistPriority": None,
    }
    if is_engagement(prog):
        data.update(trackName=NURTURE_TRACKS[0], nurtureCadence="norm")
    return data


def change_status(
    store: Store,
    prog: dict[str, Any],
    lead_ids: Sequence[int | None],
    status_name: str,
    *,
    members_only: bool = False,
) -> list[dict[str, Any]]:
    """Move leads to ``status_name`` in ``prog`` by Marketo's progression rules.

    One outcome per lead id, in order: ``{"leadId": id, "status": "created" | "updated"}``,
    or a skip (:func:`envelope.skipped`, with ``leadId`` when there is one): 1003 no lead
    id, 1004 no such lead, 1025 a status the program's channel does not have, 1037 already
    in or past that status (siblings on one step may swap) or, with ``members_only``, not
    a member. A new membership is an upsert (Change Status in Progression from "Not in
    Program", plus Add to Nurture in an engagement program); every change writes a Change
    Status in Progression activity. Runs in one transaction (joins the caller's).
    """
    chan = program_channel(prog)
    target = chan.status(str(status_name))
    present = existing_lead_ids(store, [i for i in lead_ids if i is not None])
    now = store.now_ts()
    results: list[dict[str, Any]] = []
    with store.transaction() as db:
        for lead_id in lead_ids:
            if lead_id is None:
                results.append(envelope.skipped("1003", "Lead id is required"))
                continue
            if lead_id not in present:
                results.append(envelope.skipped("1004", "Lead not found", leadId=lead_id))
                continue
            if target is None or target is NOT_IN_PROGRAM:
                results.append(envelope.skipped(
                    "1025", f"Program status '{status_name}' not found", leadId=lead_id
                ))
                continue
            member = _membership(store, prog["id"], lead_id)
            if member is None:
                if members_only:
                    results.append(envelope.skipped("1037", "Lead not in program",
                                                    leadId=lead_id))
                    continue
                member = new_member(store, prog, lead_id, target.name, now)
                _put_member(db, member)
                _log(store, lead_id, status_change_activity(prog, member, NOT_IN_PROGRAM.name,
                                                             target.name))
                if is_engagement(prog):
                    _log(store, lead_id, nurture_activity(prog, member))
                results.append({"leadId": lead_id, "status": "created"})
                continue
            current = chan.status(member["statusName"])
            # Progression only moves forward; siblings on the same step may swap.
            if current is not None and (current.name == target.name or current.step > target.step):
                results.append(envelope.skipped(
                    "1037", "Lead skipped because it is already in or past this status",
                    leadId=lead_id,
                ))
                continue
            old = member["statusName"]
            member["statusName"] = target.name
            member["statusReason"] = API_REASON
            if target.success and not member.get("reachedSuccess"):
                member["reachedSuccess"] = True
                member["reachedSuccessDate"] = now
            member["updatedAt"] = now
            _put_member(db, member)
            _log(store, lead_id, status_change_activity(prog, member, old, target.name))
            results.append({"leadId": lead_id, "status": "updated"})
    return results


def set_member_fields(store: Store, program_id: int, changes: dict[int, dict[str, Any]]) -> int:
    """Write already coerced member field values (lead id -> {field: value}) onto existing
    memberships of a program, as Sync Program Member Data does; a membership whose values
    are already those is left alone. Returns the memberships changed."""
    now = store.now_ts()
    changed = 0
    with store.transaction() as db:
        for lead_id, values in changes.items():
            member = _membership(store, program_id, lead_id)
            if member is None or all(member.get(k) == v for k, v in values.items()):
                continue
            member.update(values)
            member["updatedAt"] = now
            _put_member(db, member)
            changed += 1
    return changed


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


@router.route("/rest/v1/leads/programs/<int:program_id>/status.json", ("POST",))
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
    items = _input_list(ctx)
    now = ctx.store.now_ts()
    results: list[dict[str, Any]] = []
    with ctx.store.transaction() as db:
        for seq, item in enumerate(items):
            lead_id = as_int(item.get("leadId")) if isinstance(item, dict) else None
            if lead_id is None:
                results.append(envelope.skipped("1003", "leadId is required", seq=seq))
                continue
            try:
                changes = _member_changes(item)
            except ApiError as exc:
                results.append(envelope.skipped(exc.code, exc.msg, seq=seq, leadId=lead_id))
                continue
            member = _membership(ctx.store, program_id, lead_id)
            if member is None:
                results.append(envelope.skipped("1013", "Membership not found", seq=seq,
                                                leadId=lead_id))
                continue
            if any(member.get(k) != v for k, v in changes.items()):
                member.update(changes)
                member["updatedAt"] = now
                _put_member(db, member)
            results.append({"seq": seq, "status": "updated", "leadId": lead_id})
    return envelope.ok(results)


def _member_changes(item: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in item.items():
        if name == "leadId":
            continue
        fdef = program_member_field(name)
        if fdef is None:
            raise ApiError("1006", f"Field '{name}' not found")
        if not fdef["updateable"]:
            raise ApiError("1003", f"Field '{fdef['name']}' is not updateable")
        try:
            changes[fdef["name"]] = coerce(fdef, value)
        except (TypeError, ValueError):
            raise ApiError(
                "1001", f"Invalid value '{value}'. Required of type '{fdef['dataType']}'"
            ) from None
    return changes


@router.route("/rest/v1/programs/<int:program_id>/members/delete.json", ("POST",))
def delete_members(ctx: Ctx, program_id: int) -> dict[str, Any]:
    _require_program(ctx, program_id)
    items = _input_list(ctx)
    results: list[dict[str, Any]] = []
    with ctx.store.transaction() as db:
        for seq, item in enumerate(items):
            lead_id = as_int(item.get("leadId")) if isinstance(item, dict) else None
            if lead_id is None:
                results.append(envelope.skipped("1003", "leadId is required", seq=seq))
                continue
            cur = db.execute(
                "DELETE FROM program_members WHERE programId=? AND leadId=?", (program_id, lead_id)
            )
            if cur.rowcount:
                results.append({"seq": seq, "status": "deleted", "leadId": lead_id})
            else:
                results.append(
                    envelope.skipped("1037", "Lead not in program", seq=seq, leadId=lead_id)
                )
    return envelope.ok(results)


@router.route("/rest/v1/leads/programs/<int:program_id>.json", ("GET",))
def leads_by_program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    engagement = is_engagement(_require_program(ctx, program_id))
    fields = lead_fields_arg(ctx)
    batch = ctx.batch_size()
    state = decode_page_token(ctx.arg("nextPageToken"), f"lp:{program_id}")
    after = int(state.get("a", 0)) if state else 0
    rows = ctx.store.query(
        f"SELECT pm.leadId, pm.data FROM program_members pm WHERE pm.programId = ? AND {_LIVE} "  # noqa: S608
        "AND pm.leadId > ? ORDER BY pm.leadId LIMIT ?",
        [program_id, after, batch + 1],
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


# -- ground truth --------------------------------------------------------------------


@ground_truth("programs")
def _programs_truth(store: Store) -> Any:
    for prog in programs(store):
        yield render_program(prog, full=True)


@ground_truth("program_members")
def _members_truth(store: Store) -> Any:
    all_fields = [f["name"] for f in PROGRAM_MEMBER_FIELDS]
    for row in store.iterate(
        f"SELECT data FROM program_members pm WHERE {_LIVE} ORDER BY pm.programId, pm.leadId"  # noqa: S608
    ):
        yield render_program_member(json.loads(row["data"]), all_fields)


# -- seed ----------------------------------------------------------------------------

_TOPICS = (
    "Product Launch", "Customer Summit", "Data Privacy", "AI in Marketing", "Onboarding",
    "Pricing Update", "Partner Day", "Security Briefing", "Quarterly Newsletter", "Roadshow",
)
_FOLDERS: dict[str, tuple[int, str]] = {
    "Default": (31, "Marketing Programs"),
    "Event": (32, "Events"),
    "Event with Webinar": (33, "Webinars"),
    "Email": (34, "Email Programs"),
    "Engagement": (35, "Nurturing"),
}
# The seed's first programs, in order: every type early, then mostly default and email
# programs, as in real instances; later ones are drawn from the same mix.
_TYPE_ORDER = (
    "Default", "Email", "Event with Webinar", "Engagement", "Event", "Default", "Email",
    "Event with Webinar", "Default", "Email", "Default",
)
_URL_PREFIX = {"Email": "EBP", "Engagement": "NP"}


def _program_status(rng: random.Random, ptype: str) -> str:
    if ptype == "Email":
        return rng.choice(("unlocked", "locked"))
    if ptype == "Engagement":
        return rng.choice(("on", "on", "off"))
    return ""


def _seed_programs(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> list[dict[str, Any]]:
    start = now - spec.months * 30 * 86400
    store.set_sequence_floor("program", 1000)  # Marketo asset ids start at 1001
    first_id = store.next_id("program", max(spec.programs, 1))
    out = []
    for i in range(spec.programs):
        ptype = _TYPE_ORDER[i] if i < len(_TYPE_ORDER) else rng.choice(_TYPE_ORDER)
        chan = rng.choice(PROGRAM_TYPES[ptype])
        created = rng.uniform(start, now - 86400)
        updated = created if rng.random() < 0.3 else rng.uniform(created, now - 60)
        pid = first_id + i
        folder_id, folder_name = _FOLDERS[ptype]
        created_ts = format_ts(created)
        prog: dict[str, Any] = {
            "id": pid,
            "name": f"{created_ts[:7]} {chan} - {rng.choice(_TOPICS)} {i + 1}",
            "description": "" if rng.random() < 0.5 else f"{ptype}: {rng.choice(_TOPICS)}",
            "createdAt": created_ts,
            "updatedAt": format_ts(updated),
            "url": f"https://app-sj01.marketo.com/#{_URL_PREFIX.get(ptype, 'PG')}{pid}A1",
            "type": ptype,
            "channel": chan,
            "folder": {"type": "Folder", "value": folder_id, "folderName": folder_name},
            "status": _program_status(rng, ptype),
            "workspace": "Default",
            "headStart": False,
            "tags": [{"tagType": "Region", "tagValue": rng.choice(("NA", "EMEA", "APAC"))}],
            "costs": None if rng.random() < 0.5 else [
                {"startDate": created_ts[:8] + "01T00:00:00Z+0000",
                 "cost": rng.randrange(1, 100) * 100, "note": ""}
            ],
        }
        out.append(prog)
    return out


def _member_status(rng: random.Random, chan: Channel) -> str:
    statuses = [s for s in chan.statuses if s.step > 0]
    # Most members stall early in a progression.
    weights = [max(1, len(statuses) - i) for i in range(len(statuses))]
    return rng.choices(statuses, weights=weights)[0].name


def _custom_member_values(
    rng: random.Random, chan: Channel, status: str, pid: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if chan.name == "Webinar":
        out["webinarUrl"] = f"https://webinars.example.com/{pid}/join/{rng.randrange(10**8):08d}"
        out["registrationCode"] = f"REG-{rng.randrange(10**6):06d}"
        if status.startswith("Attended"):
            out["pollResponse"] = rng.choice(("Very useful", "Useful", "Neutral", "Not useful"))
            out["questionsAsked"] = rng.randint(0, 4)
    elif chan.name == "Tradeshow":
        out["boothVisited"] = status in ("Visited Booth", "Engaged")
    return out


@seeder(40)
def seed_programs_and_members(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    progs = _seed_programs(store, spec, rng, now)
    leads = [
        (int(r["id"]), r["createdAt"])
        for r in store.iterate("SELECT id, createdAt FROM leads ORDER BY id")
    ]
    members: list[tuple[int, int, str, str]] = []
    activities: list[dict[str, Any]] = []
    count = 0
    plans: list[tuple[dict[str, Any], list[tuple[int, str]]]] = []
    for prog in progs:
        share = rng.uniform(0.01, 0.04)
        size = min(len(leads), int(len(leads) * share))
        plans.append((prog, rng.sample(leads, size) if size else []))
        count += size
    first_member = store.next_id("program_member", max(count, 1))
    n = 0
    now_ts = format_ts(now)
    for prog, picked in plans:
        chan = program_channel(prog)
        for lead_id, lead_created in sorted(picked):
            status = _member_status(rng, chan)
            st = chan.status(status)
            assert st is not None
            earliest = max(prog["createdAt"], lead_created)
            joined = rng.uniform(_epoch(earliest), now - 60) if earliest < now_ts else now - 60
            updated = joined if rng.random() < 0.5 else rng.uniform(joined, now - 30)
            joined_ts, updated_ts = format_ts(joined), format_ts(updated)
            data: dict[str, Any] = {
                "leadId": lead_id,
                "programId": prog["id"],
                "program": prog["name"],
                "memberId": first_member + n,
                "statusName": status,
                "statusReason": rng.choice(("Registered via form", "Added by flow", API_REASON)),
                "reachedSuccess": st.success,
                "reachedSuccessDate": updated_ts if st.success else None,
                "acquiredBy": rng.random() < 0.1,
                "membershipDate": joined_ts,
                "createdAt": joined_ts,
                "updatedAt": updated_ts,
                "isExhausted": False,
                "nurtureCadence": None,
                "trackName": None,
                "attendanceLikelihood": None,
                "registrationLikelihood": None,
                "waitlistPriority": None,
                **_custom_member_values(rng, chan, status, prog["id"]),
            }
            if prog["type"] == "Engagement":
                data.update(
                    trackName=rng.choice(NURTURE_TRACKS),
                    nurtureCadence=rng.choice(NURTURE_CADENCES),
                    isExhausted=rng.random() < 0.05,
                )
            if chan.name in ("Webinar", "Tradeshow"):
                data["attendanceLikelihood"] = rng.randint(0, 100)
                data["registrationLikelihood"] = rng.randint(0, 100)
            n += 1
            members.append((prog["id"], lead_id, updated_ts, dumps(data)))
            activities.append({
                "leadId": lead_id,
                "when": updated,
                **status_change_activity(prog, data, NOT_IN_PROGRAM.name, status,
                                         reason=data["statusReason"]),
            })
            if prog["type"] == "Engagement":
                activities.append(
                    {"leadId": lead_id, "when": joined, **nurture_activity(prog, data)}
                )
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [(KIND_PROGRAMS, str(p["id"]), None, p["createdAt"], p["updatedAt"], dumps(p))
             for p in progs],
        )
        db.executemany(
            "INSERT INTO program_members(programId, leadId, updatedAt, data) VALUES(?,?,?,?)",
            members,
        )
        bulk_log_activities(store, db, activities)


def _epoch(ts: str) -> float:
    parsed = parse_datetime(ts)
    assert parsed is not None
    return parsed.timestamp()
