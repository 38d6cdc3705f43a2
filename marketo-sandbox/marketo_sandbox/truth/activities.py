"""Ground truth of activities and of the deleted-lead feed: what Marketo still serves of
them (retention applied as the API applies it, see ``domain.retention``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from marketo_sandbox.domain.activities import deleted_lead, present
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


def _served(store: Store, where: list[str], params: list[Any]) -> Iterator[dict[str, Any]]:
    kept = store.activities_kept()
    if kept is not None:
        where = [*where, kept[0]]
        params = [*params, *kept[1]]
    condition = " AND ".join(where) or "1"
    for row in store.iterate(f"SELECT data FROM activities WHERE {condition} ORDER BY id", params):  # noqa: S608
        yield json.loads(row["data"])


@ground_truth("activities")
def all_activities(store: Store) -> Iterator[dict[str, Any]]:
    for doc in _served(store, [], []):
        yield present(doc)


@ground_truth("deleted_leads")
def all_deleted_leads(store: Store) -> Iterator[dict[str, Any]]:
    for doc in _served(store, ["activityTypeId=?"], [at.DELETE_LEAD]):
        yield deleted_lead(doc)
