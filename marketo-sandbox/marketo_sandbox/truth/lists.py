"""Ground truth of static lists and list members."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.domain.lists import render_list, static_lists
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("lists")
def _lists_truth(store: Store) -> Any:
    for item in static_lists(store):
        yield render_list(item)


@ground_truth("list_members")
def _list_members_truth(store: Store) -> Any:
    for row in store.iterate(
        "SELECT lm.listId, lm.leadId, lm.createdAt FROM list_members lm "
        "JOIN leads l ON l.id = lm.leadId ORDER BY lm.listId, lm.leadId"
    ):
        yield {"listId": row["listId"], "leadId": row["leadId"], "createdAt": row["createdAt"]}
