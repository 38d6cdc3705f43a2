"""``/rest/v1`` lead database: describe, read by filter, sync, delete, merge, push.

The rules of every write (sync, delete, merge) live in :mod:`marketo_sandbox.domain.leads`,
shared with the bulk import and the seeders.
"""

from __future__ import annotations

import json
from typing import Any

from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.leads import (
    check_searchable,
    decode_token,
    delete_leads,
    encode_token,
    filter_clause,
    lead_partitions,
    merge_leads,
    push_leads,
    sync_leads,
    visible_leads_clause,
)
from marketo_sandbox.envelope import ApiError, ok, request_id
from marketo_sandbox.model.leads import (
    FIELD_SPECS,
    LEAD_FIELDS,
    describe2,
    project_lead,
    resolve_read_fields,
)
from marketo_sandbox.model.shared import (
    KIND_LISTS,
    KIND_PROGRAMS,
)
from marketo_sandbox.timestamps import parse_datetime


def read_fields(ctx: Ctx) -> list[str]:
    """The `fields` parameter: default fields when absent, `id` always first."""
    return resolve_read_fields(ctx.list_arg("fields"))


def _filter_values(field: str, values: list[str]) -> list[Any]:
    kind = FIELD_SPECS[field].data_type
    out: list[Any] = []
    for value in dict.fromkeys(values):
        if kind == "integer":
            try:
                out.append(int(value))
            except ValueError:
                raise ApiError(
                    "1001", f"Invalid value '{value}'. Required of type 'integer'"
                ) from None
        else:
            out.append(value)
    return out


@router.route("/rest/v1/leads/describe.json", ("GET",))
def describe(ctx: Ctx) -> dict[str, Any]:
    return ok(LEAD_FIELDS)


@router.route("/rest/v1/leads/describe2.json", ("GET",), fidelity_only=True)
def describe_2(ctx: Ctx) -> dict[str, Any]:
    return ok([describe2()])


@router.route("/rest/v1/leads/partitions.json", ("GET",))
def partitions(ctx: Ctx) -> dict[str, Any]:
    return ok(lead_partitions(ctx.store))


@router.route("/rest/v1/leads.json", ("GET",))
def leads_by_filter(ctx: Ctx) -> dict[str, Any]:
    field = check_searchable(ctx.require("filterType"), "filterType")
    raw_values = ctx.list_arg("filterValues")
    if not raw_values:
        raise ApiError("1003", "filterValues cannot be blank")
    if len(raw_values) > ctx.config.max_filter_values:
        raise ApiError("1003", f"Number of filterValues exceeds {ctx.config.max_filter_values}")
    fields = read_fields(ctx)
    batch = ctx.batch_size()
    token = ctx.arg("nextPageToken")
    after = decode_token(token, "leads") if token else 0
    where, params = filter_clause(field, _filter_values(field, raw_values))
    visible, visible_params = visible_leads_clause(ctx.config)
    rows = ctx.store.query(
        f"SELECT id, data FROM leads WHERE {where} AND {visible} AND id > ? "  # noqa: S608
        "ORDER BY id LIMIT ?",
        [*params, *visible_params, after, batch + 1],
    )
    page = rows[:batch]
    result = [project_lead(json.loads(r["data"]), fields) for r in page]
    if len(rows) > batch:
        return ok(result, nextPageToken=encode_token("leads", page[-1]["id"]), moreResult=True)
    return ok(result)


@router.route("/rest/v1/lead/<int:lead_id>.json", ("GET",), fidelity_only=True)
def lead_by_id(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    fields = read_fields(ctx)
    visible, params = visible_leads_clause(ctx.config)
    row = ctx.store.query(
        f"SELECT data FROM leads WHERE id=? AND {visible}",  # noqa: S608
        (lead_id, *params),
    )
    return ok([project_lead(json.loads(r["data"]), fields) for r in row])


def _sync_body(ctx: Ctx) -> tuple[list[Any], str, str | None, str | None]:
    body = ctx.body()
    rows = body.get("input")
    if not isinstance(rows, list) or not rows:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(rows)
    lookup = body.get("lookupField")
    partition = body.get("partitionName")
    # Unknown top-level keys (e.g. "asyncProcessing " with a space) are ignored, as in Marketo.
    return rows, str(body.get("action") or "createOrUpdate"), lookup, partition


@router.route("/rest/v1/leads.json", ("POST",))
def sync(ctx: Ctx) -> dict[str, Any]:
    rows, action, lookup, partition = _sync_body(ctx)
    rid = request_id()
    result = sync_leads(
        ctx.store,
        ctx.config,
        rows,
        action,
        lookup or "email",
        partition,
        request_id_=rid,
        user=ctx.api_user,
    )
    body = ok(result)
    body["requestId"] = rid
    return body


@router.route("/rest/v1/leads/push.json", ("POST",), fidelity_only=True)
def push(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    program_name = body.get("programName")
    if not program_name:
        raise ApiError("1003", "programName cannot be blank")
    rows, _, lookup, partition = _sync_body(ctx)
    found = ctx.store.query(
        "SELECT data FROM objects WHERE kind=? AND json_extract(data, '$.name')=? LIMIT 1",
        (KIND_PROGRAMS, str(program_name)),
    )
    if not found:
        raise ApiError("1013", f"Program '{program_name}' not found")
    program = json.loads(found[0]["data"])
    rid = request_id()
    result = push_leads(
        ctx.store,
        ctx.config,
        rows,
        program,
        lookup_field=lookup or "email",
        partition_name=partition,
        reason=body.get("reason"),
        source=body.get("source"),
        request_id_=rid,
        user=ctx.api_user,
    )
    response = ok(result)
    response["requestId"] = rid
    return response


def _delete_ids(ctx: Ctx) -> list[Any]:
    data = ctx.json(required=False)
    if data is None:
        ids: list[Any] = ctx.list_arg("id")
    else:
        if not isinstance(data, dict) or not isinstance(data.get("input"), list):
            raise ApiError("609", "Invalid JSON")
        ids = [item.get("id") if isinstance(item, dict) else None for item in data["input"]]
    if not ids:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(ids)
    return ids


@router.route("/rest/v1/leads/delete.json", ("POST",))
def delete(ctx: Ctx) -> dict[str, Any]:
    return ok(delete_leads(ctx.store, ctx.config, _delete_ids(ctx), user=ctx.api_user))


@router.route("/rest/v1/leads.json", ("DELETE",), fidelity_only=True)
def delete_legacy(ctx: Ctx) -> dict[str, Any]:
    # Older clients (marketorestpython's delete_lead) still use DELETE with the same body.
    return ok(delete_leads(ctx.store, ctx.config, _delete_ids(ctx), user=ctx.api_user))


@router.route("/rest/v1/leads/<int:lead_id>/merge.json", ("POST",))
def merge(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    raw = ctx.list_arg("leadId") + ctx.list_arg("leadIds")
    try:
        losers = [int(v) for v in raw]
    except ValueError:
        raise ApiError("1003", "leadIds must be integers") from None
    # mergeInCRM needs a native CRM sync, which this instance does not have: ignored.
    merge_leads(ctx.store, ctx.config, lead_id, losers, user=ctx.api_user)
    return ok(None)


def _require_lead(ctx: Ctx, lead_id: int) -> None:
    visible, params = visible_leads_clause(ctx.config)
    if not ctx.store.query(
        f"SELECT 1 FROM leads WHERE id=? AND {visible}",  # noqa: S608
        (lead_id, *params),
    ):
        raise ApiError("1004", "Lead not found")


def _offset_page(ctx: Ctx, items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    batch = ctx.batch_size()
    token = ctx.arg("nextPageToken")
    start = decode_token(token, kind) if token else 0
    page = items[start : start + batch]
    if start + batch < len(items):
        return ok(page, nextPageToken=encode_token(kind, start + batch), moreResult=True)
    return ok(page, moreResult=False)


@router.route("/rest/v1/leads/<int:lead_id>/listMembership.json", ("GET",), fidelity_only=True)
def list_membership(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    _require_lead(ctx, lead_id)
    rows = ctx.store.query(
        "SELECT m.listId, m.createdAt, o.data FROM list_members m "
        "LEFT JOIN objects o ON o.kind=? AND o.pk=CAST(m.listId AS TEXT) "
        "WHERE m.leadId=? ORDER BY m.listId",
        (KIND_LISTS, lead_id),
    )
    # Swagger's `List` (Adobe's Leads page example too): the list id and its timestamps.
    items = []
    for row in rows:
        info = json.loads(row["data"]) if row["data"] else {}
        items.append(
            {
                "listId": row["listId"],
                "createdAt": info.get("createdAt", row["createdAt"]),
                "updatedAt": info.get("updatedAt", row["createdAt"]),
            }
        )
    return _offset_page(ctx, items, "listmembership")


@router.route("/rest/v1/leads/<int:lead_id>/programMembership.json", ("GET",), fidelity_only=True)
def program_membership(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    _require_lead(ctx, lead_id)
    wanted: set[int] | None = None
    if ctx.arg("filterType"):
        if ctx.arg("filterType") != "programId":
            raise ApiError("1003", f"Invalid filterType '{ctx.arg('filterType')}'")
        try:
            wanted = {int(v) for v in ctx.list_arg("filterValues")}
        except ValueError:
            raise ApiError("1003", "filterValues must be program ids") from None
    earliest = ctx.arg("earliestUpdatedAt")
    latest = ctx.arg("latestUpdatedAt")
    bounds: list[str | None] = []
    for text in (earliest, latest):
        if text is None:
            bounds.append(None)
            continue
        parsed = parse_datetime(text)
        if parsed is None:
            raise ApiError("1001", f"Invalid value '{text}'. Required of type 'datetime'")
        bounds.append(parsed.strftime("%Y-%m-%dT%H:%M:%SZ"))
    rows = ctx.store.query(
        "SELECT programId, updatedAt, data FROM program_members WHERE leadId=? ORDER BY programId",
        (lead_id,),
    )
    items = []
    for row in rows:
        if wanted is not None and row["programId"] not in wanted:
            continue
        if (bounds[0] and row["updatedAt"] < bounds[0]) or (
            bounds[1] and row["updatedAt"] > bounds[1]
        ):
            continue
        member = json.loads(row["data"])
        item = {
            "id": row["programId"],
            "acquiredBy": bool(member.get("acquiredBy", False)),
            "isExhausted": bool(member.get("isExhausted", False)),
            "membershipDate": member.get("membershipDate"),
            "progressionStatus": member.get("statusName", member.get("progressionStatus")),
            "reachedSuccess": bool(member.get("reachedSuccess", False)),
            "updatedAt": row["updatedAt"],
        }
        # Only engagement-program memberships have a stream and a cadence; Marketo leaves
        # the keys out for the others rather than sending nulls.
        stream = member.get("trackName", member.get("stream"))
        if stream is not None:
            item["stream"] = stream
        if member.get("nurtureCadence") is not None:
            item["nurtureCadence"] = member["nurtureCadence"]
        items.append(item)
    return _offset_page(ctx, items, "programmembership")
