"""Static lists and their membership: adding and removing members are facts Marketo records
on the lead, Add to List (24) and Remove from List (25).
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.store import Store

ADD_TO_LIST = 24
REMOVE_FROM_LIST = 25
API_SOURCE = "Web service API"
_API_METHODS = {ADD_TO_LIST: "addLeadsToList", REMOVE_FROM_LIST: "removeLeadsFromList"}

_LIST_FIELDS = (
    "id",
    "name",
    "description",
    "programName",
    "workspaceName",
    "createdAt",
    "updatedAt",
)


def static_list(store: Store, list_id: Any) -> dict[str, Any] | None:
    return store.object_get(KIND_LISTS, list_id)


def static_lists(store: Store) -> list[dict[str, Any]]:
    return sorted(store.objects(KIND_LISTS), key=lambda x: x["id"])


def render_list(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in _LIST_FIELDS if item.get(k) is not None}


def member_set(store: Store, list_id: int, ids: list[int]) -> set[int]:
    """Which of ``ids`` are members of the list."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = store.query(
        f"SELECT leadId FROM list_members WHERE listId = ? AND leadId IN ({marks})",  # noqa: S608
        [list_id, *ids],
    )
    return {int(r["leadId"]) for r in rows}


def add_members(
    store: Store, api_user: str, item: dict[str, Any], lead_ids: list[int], request_id: str
) -> None:
    """Add existing leads to a static list, in order; only a lead that was not a member
    gets Add to List (24), so adding twice records one activity."""
    members = member_set(store, item["id"], sorted(set(lead_ids)))
    now = store.now_ts()
    with store.transaction():
        for lead_id in lead_ids:
            if lead_id in members:
                continue
            store.add_list_member(item["id"], lead_id, now)
            members.add(lead_id)
            _log(store, ADD_TO_LIST, lead_id, item=item, user=api_user, request_id=request_id)


def remove_members(
    store: Store, api_user: str, item: dict[str, Any], lead_ids: list[int], request_id: str
) -> None:
    """Remove members (the caller checked membership), each with Remove from List (25)."""
    with store.transaction() as db:
        for lead_id in lead_ids:
            db.execute(
                "DELETE FROM list_members WHERE listId=? AND leadId=?", (item["id"], lead_id)
            )
            _log(store, REMOVE_FROM_LIST, lead_id, item=item, user=api_user, request_id=request_id)


def _log(
    store: Store, type_id: int, lead_id: int, *, item: dict[str, Any], user: str, request_id: str
) -> None:
    store.log_activity(
        lead_id,
        type_id,
        primary_attribute_value_id=item["id"],
        primary_attribute_value=item["name"],
        attributes={
            "Source": API_SOURCE,
            "API Method Name": _API_METHODS[type_id],
            "Modifying User": user,
            "Request Id": request_id,
        },
    )


def delete_list(store: Store, list_id: int) -> bool:
    """Delete a static list and its membership; False when there is none. Marketo logs
    no Remove from List for the members of a deleted list: the list and its members are
    simply gone from every read."""
    with store.transaction() as db:
        if not store.object_delete(KIND_LISTS, list_id):
            return False
        db.execute("DELETE FROM list_members WHERE listId=?", (list_id,))
    return True
