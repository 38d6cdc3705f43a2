"""Static lists and list membership (lead database API).

Adding and removing members are facts Marketo records on the lead: Add to List (24) and
Remove from List (25), with the list as primary attribute (id and name).
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.leads import visible_lead_rows_clause
from marketo_sandbox.domain.lists import (
    add_members,
    delete_list,
    member_set,
    remove_members,
    render_list,
    static_list,
    static_lists,
)
from marketo_sandbox.domain.objects import (
    as_int,
    decode_page_token,
    encode_page_token,
    existing_lead_ids,
    lead_rows,
    render_lead,
)
from marketo_sandbox.domain.workspaces import in_reach, visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.routes.objects import lead_fields_arg


def _require_list(ctx: Ctx, list_id: int) -> dict[str, Any]:
    found = in_reach(ctx.config, ctx.store, KIND_LISTS, static_list(ctx.store, list_id))
    if found is None:
        # Adobe: "Get object (list, campaign) by id returns this error code".
        raise ApiError("1013", "Static list not found")
    return found


@router.route("/rest/v1/lists.json", ("GET",))
def get_lists(ctx: Ctx) -> dict[str, Any]:
    ids = {str(i) for i in ctx.list_arg("id")}
    names = set(ctx.list_arg("name"))
    program_names = set(ctx.list_arg("programName"))
    workspaces = set(ctx.list_arg("workspaceName"))
    batch = ctx.batch_size()
    state = decode_page_token(ctx.arg("nextPageToken"), "lists")
    after = int(state.get("a", 0)) if state else 0
    selected = [
        item
        for item in visible(ctx.config, ctx.store, KIND_LISTS, static_lists(ctx.store))
        if item["id"] > after
        and (not ids or str(item["id"]) in ids)
        and (not names or item["name"] in names)
        and (not program_names or item.get("programName") in program_names)
        and (not workspaces or item.get("workspaceName") in workspaces)
    ]
    page = selected[:batch]
    extra: dict[str, Any] = {}
    if len(selected) > batch:
        extra["nextPageToken"] = encode_page_token({"s": "lists", "a": page[-1]["id"]})
    return envelope.ok([render_list(i) for i in page], **extra)


@router.route("/rest/v1/lists/<int:list_id>.json", ("GET",))
def get_list(ctx: Ctx, list_id: int) -> dict[str, Any]:
    return envelope.ok([render_list(_require_list(ctx, list_id))])


def _members_page(ctx: Ctx, list_id: int) -> dict[str, Any]:
    _require_list(ctx, list_id)
    fields = lead_fields_arg(ctx)
    batch = ctx.batch_size()
    scope = f"lm:{list_id}"
    state = decode_page_token(ctx.arg("nextPageToken"), scope)
    after = int(state.get("a", 0)) if state else 0
    visible, visible_params = visible_lead_rows_clause(ctx.config, "lm.leadId")
    rows = ctx.store.query(
        "SELECT lm.leadId FROM list_members lm JOIN leads l ON l.id = lm.leadId "  # noqa: S608
        f"WHERE lm.listId = ? AND {visible} AND lm.leadId > ? ORDER BY lm.leadId LIMIT ?",
        [list_id, *visible_params, after, batch + 1],
    )
    more = len(rows) > batch
    ids = [int(r["leadId"]) for r in rows[:batch]]
    leads = lead_rows(ctx.store, ids)
    extra: dict[str, Any] = {}
    if more:
        extra["nextPageToken"] = encode_page_token({"s": scope, "a": ids[-1]})
    return envelope.ok([render_lead(leads[i], fields) for i in ids], **extra)


@router.route("/rest/v1/lists/<int:list_id>/leads.json", ("GET",))
def get_list_leads(ctx: Ctx, list_id: int) -> dict[str, Any]:
    return _members_page(ctx, list_id)


@router.route("/rest/v1/list/<int:list_id>/leads.json", ("GET",), fidelity_only=True)
def get_list_leads_legacy(ctx: Ctx, list_id: int) -> dict[str, Any]:
    return _members_page(ctx, list_id)


def _lead_ids(ctx: Ctx) -> list[Any]:
    """Lead ids from ``id`` query parameters or a JSON body ``{"input":[{"id":..}]}``."""
    raw: list[Any] = list(ctx.list_arg("id"))
    if not raw and ctx.request.mimetype != "application/x-www-form-urlencoded":
        body = ctx.json(required=False)
        if isinstance(body, dict) and isinstance(body.get("input"), list):
            raw = [i.get("id") if isinstance(i, dict) else None for i in body["input"]]
    if not raw:
        raise ApiError("1003", "id cannot be blank")
    ctx.check_input_size(raw)
    return raw


def _echo(value: Any, lead_id: int | None) -> Any:
    # A skipped item names the lead as it was sent, as an integer when it is one.
    return lead_id if lead_id is not None else value


@router.route("/rest/v1/lists/<int:list_id>/leads.json", ("POST",))
def add_to_list(ctx: Ctx, list_id: int) -> dict[str, Any]:
    item = _require_list(ctx, list_id)
    raw = _lead_ids(ctx)
    ids = [as_int(v) for v in raw]
    present = existing_lead_ids(ctx.store, [i for i in ids if i is not None])
    rid = envelope.request_id()
    results: list[dict[str, Any]] = []
    for value, lead_id in zip(raw, ids, strict=True):
        if lead_id is None or lead_id not in present:
            results.append(envelope.skipped("1004", "Lead not found", id=_echo(value, lead_id)))
        else:
            results.append({"id": lead_id, "status": "added"})
    added = [r["id"] for r in results if r.get("status") == "added"]
    add_members(ctx.store, ctx.api_user, item, added, rid)
    return envelope.ok(results, requestId=rid)


@router.route("/rest/v1/lists/<int:list_id>/leads.json", ("DELETE",))
def remove_from_list(ctx: Ctx, list_id: int) -> dict[str, Any]:
    item = _require_list(ctx, list_id)
    raw = _lead_ids(ctx)
    ids = [as_int(v) for v in raw]
    present = existing_lead_ids(ctx.store, [i for i in ids if i is not None])
    members = member_set(ctx.store, list_id, sorted(present))
    rid = envelope.request_id()
    results: list[dict[str, Any]] = []
    removed: list[int] = []
    for value, lead_id in zip(raw, ids, strict=True):
        if lead_id is None or lead_id not in present:
            results.append(envelope.skipped("1004", "Lead not found", id=_echo(value, lead_id)))
        elif lead_id not in members:
            results.append(envelope.skipped("1015", "Lead not in list", id=lead_id))
        else:
            members.discard(lead_id)
            removed.append(lead_id)
            results.append({"id": lead_id, "status": "removed"})
    remove_members(ctx.store, ctx.api_user, item, removed, rid)
    return envelope.ok(results, requestId=rid)


@router.route("/rest/v1/lists/<int:list_id>/leads/ismember.json", ("GET",), fidelity_only=True)
def is_member(ctx: Ctx, list_id: int) -> dict[str, Any]:
    _require_list(ctx, list_id)
    raw = _lead_ids(ctx)
    ids = [as_int(v) for v in raw]
    present = existing_lead_ids(ctx.store, [i for i in ids if i is not None])
    members = member_set(ctx.store, list_id, sorted(present))
    results: list[dict[str, Any]] = []
    for value, lead_id in zip(raw, ids, strict=True):
        if lead_id is None or lead_id not in present:
            results.append(envelope.skipped("1004", "Lead not found", id=_echo(value, lead_id)))
        else:
            status = "memberof" if lead_id in members else "notmemberof"
            results.append({"id": lead_id, "status": status})
    return envelope.ok(results)


@router.route("/rest/asset/v1/staticList/<int:list_id>/delete.json", ("POST",), fidelity_only=True)
def delete_static_list(ctx: Ctx, list_id: int) -> dict[str, Any]:
    found = in_reach(ctx.config, ctx.store, KIND_LISTS, static_list(ctx.store, list_id))
    if found is None or not delete_list(ctx.store, list_id):
        raise ApiError("702", f"Static list {list_id} not found")
    return envelope.asset_ok([{"id": list_id}])
