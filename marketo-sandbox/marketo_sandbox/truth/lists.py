"""Ground truth of static lists and list members."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.domain.lists import render_list, static_lists
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("lists")
def _lists_truth(store: Store) -> Any:
    for item in static_lists(store):
        yield render_list(item)


@ground_truth("list_members")
def _list_members_truth(store: Store) -> Any:
    """Members with ``createdAt`` as Marketo's API can tell it: no list read returns when a
    lead joined, only the Add to List activity does, so it is that activity's date while
    Marketo still serves it (90 days, see ``domain.retention``) and null after."""
    kept = store.activities_kept()
    condition, params = kept if kept is not None else ("1", [])
    # The retention condition names activityDate / activityTypeId, which only the
    # activities table has: they are a's. It is built from integers and placeholders.
    sql = (
        "SELECT lm.listId, lm.leadId, (SELECT max(a.activityDate) FROM activities a "  # noqa: S608
        "WHERE a.leadId = lm.leadId AND a.activityTypeId = ? "
        "AND json_extract(a.data, '$.primaryAttributeValueId') = lm.listId "
        f"AND {condition}) AS added "
        "FROM list_members lm JOIN leads l ON l.id = lm.leadId ORDER BY lm.listId, lm.leadId"
    )
    for row in store.iterate(sql, [at.ADD_TO_LIST, *params]):
        yield {"listId": row["listId"], "leadId": row["leadId"], "createdAt": row["added"]}
