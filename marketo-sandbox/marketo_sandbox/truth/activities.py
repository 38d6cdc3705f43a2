"""Ground truth of activities and of the deleted-lead feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from marketo_sandbox.domain.activities import deleted_lead, present
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("activities")
def all_activities(store: Store) -> Iterator[dict[str, Any]]:
    for row in store.iterate("SELECT data FROM activities ORDER BY id"):
        yield present(json.loads(row["data"]))


@ground_truth("deleted_leads")
def all_deleted_leads(store: Store) -> Iterator[dict[str, Any]]:
    for row in store.iterate(
        "SELECT data FROM activities WHERE activityTypeId=? ORDER BY id", (at.DELETE_LEAD,)
    ):
        yield deleted_lead(json.loads(row["data"]))
