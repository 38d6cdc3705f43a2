"""Programs and program membership: status progression (a member only moves forward; every
change is a Change Status in Progression activity), nurture, and member field updates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.domain.assets import delete_program_assets
from marketo_sandbox.domain.campaigns import campaigns, delete_campaign
from marketo_sandbox.domain.lists import delete_list, static_lists
from marketo_sandbox.domain.marketing_assets import delete_program_library
from marketo_sandbox.domain.objects import (
    as_int,
    coerce,
    existing_lead_ids,
)
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.objects import (
    CHANNELS,
    ENGAGEMENT,
    NOT_IN_PROGRAM,
    NURTURE_TRACKS,
    Channel,
    program_member_field,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.store import PUT_PROGRAM_MEMBER, Store, dumps
from marketo_sandbox.timestamps import asset_ts

CHANGE_STATUS_IN_PROGRESSION = 104

ADD_TO_NURTURE = 113

# Attribute value Marketo writes as the reason of an API-made status change.
API_REASON = "Changed by Web Service API"


_BROWSE_FIELDS = (
    "id", "name", "description", "createdAt", "updatedAt", "url", "type", "channel", "folder",
    "status", "workspace", "headStart",
)


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


# Only members whose lead still exists are members (a deleted lead leaves its programs).
LIVE_LEAD = "EXISTS (SELECT 1 FROM leads l WHERE l.id = pm.leadId)"


def membership(store: Store, program_id: int, lead_id: int) -> dict[str, Any] | None:
    row = store.conn().execute(
        "SELECT data FROM program_members WHERE programId=? AND leadId=?", (program_id, lead_id)
    ).fetchone()
    return json.loads(row["data"]) if row else None


def put_member(db: Any, data: dict[str, Any]) -> None:
    db.execute(
        PUT_PROGRAM_MEMBER, (data["programId"], data["leadId"], data["updatedAt"], dumps(data))
    )


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
            member = membership(store, prog["id"], lead_id)
            if member is None:
                if members_only:
                    results.append(envelope.skipped("1037", "Lead not in program",
                                                    leadId=lead_id))
                    continue
                member = new_member(store, prog, lead_id, target.name, now)
                put_member(db, member)
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
            put_member(db, member)
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
            member = membership(store, program_id, lead_id)
            if member is None or all(member.get(k) == v for k, v in values.items()):
                continue
            member.update(values)
            member["updatedAt"] = now
            put_member(db, member)
            changed += 1
    return changed


def update_member_fields(store: Store, program_id: int, items: list[Any]) -> list[dict[str, Any]]:
    """``POST /rest/v1/programs/{id}/members.json``: set custom member fields of existing
    members; one result per item, in order. A member whose values do not change keeps its
    updatedAt."""
    now = store.now_ts()
    results: list[dict[str, Any]] = []
    with store.transaction() as db:
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
            member = membership(store, program_id, lead_id)
            if member is None:
                results.append(envelope.skipped("1013", "Membership not found", seq=seq,
                                                leadId=lead_id))
                continue
            if any(member.get(k) != v for k, v in changes.items()):
                member.update(changes)
                member["updatedAt"] = now
                put_member(db, member)
            results.append({"seq": seq, "status": "updated", "leadId": lead_id})
    return results


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


def remove_members(store: Store, program_id: int, items: list[Any]) -> list[dict[str, Any]]:
    """``POST /rest/v1/programs/{id}/members/delete.json``: one result per item, in order;
    a lead that is not a member is skipped with 1037."""
    results: list[dict[str, Any]] = []
    with store.transaction() as db:
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
    return results


def delete_program(store: Store, program_id: int) -> bool:
    """``POST /rest/asset/v1/program/{id}/delete.json``: the program goes with everything
    it holds: its memberships, its smart campaigns, its static lists (and their members)
    and its local assets, smart lists included. Marketo logs no activity for any of it
    (no Change Status in Progression for the members): they are simply gone from every
    read. False when there is no such program."""
    prog = program(store, program_id)
    if prog is None:
        return False
    with store.transaction() as db:
        store.object_delete(KIND_PROGRAMS, program_id)
        db.execute("DELETE FROM program_members WHERE programId=?", (program_id,))
        for item in campaigns(store):
            if item.get("programId") == program_id:
                delete_campaign(store, item["id"])
        for item in static_lists(store):
            if item.get("programName") == prog["name"]:
                delete_list(store, item["id"])
        # The library first: it finds the program's forms to take their fields with them.
        delete_program_library(store, program_id)
        delete_program_assets(store, program_id)
    return True
