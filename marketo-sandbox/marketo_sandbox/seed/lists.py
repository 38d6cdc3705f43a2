"""Seeded static lists and their members."""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.lists import ADD_TO_LIST, API_SOURCE
from marketo_sandbox.domain.objects import (
    bulk_log_activities,
)
from marketo_sandbox.domain.programs import programs
from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts

_TABLES = tables("lists")
_LIST_NAMES = _TABLES["list_names"]


# After programs (40): a list may live in a program.
@seeder(41, "marketo_sandbox.api.lists.seed_static_lists")
def seed_static_lists(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    progs = programs(store)
    lead_ids = [int(r["id"]) for r in store.iterate("SELECT id FROM leads ORDER BY id")]
    start = now - spec.months * 30 * 86400
    store.set_sequence_floor("list", 1000)
    first_id = store.next_id("list", max(spec.static_lists, 1))
    lists: list[dict[str, Any]] = []
    members: list[tuple[int, int, str]] = []
    activities: list[dict[str, Any]] = []
    for i in range(spec.static_lists):
        created = rng.uniform(start, now - 86400)
        updated = rng.uniform(created, now - 60)
        item: dict[str, Any] = {
            "id": first_id + i,
            "name": f"{_LIST_NAMES[i % len(_LIST_NAMES)]} {i + 1}",
            "description": rng.choice(("", "Imported from CRM", "Maintained by marketing ops")),
            "workspaceName": "Default",
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        }
        if progs and rng.random() < 0.5:
            item["programName"] = rng.choice(progs)["name"]
        lists.append(item)
        size = min(len(lead_ids), int(len(lead_ids) * rng.uniform(0.01, 0.05)))
        for lead_id in sorted(rng.sample(lead_ids, size)) if size else []:
            added = rng.uniform(created, now - 30)
            members.append((item["id"], lead_id, format_ts(added)))
            activities.append({
                "leadId": lead_id,
                "activityTypeId": ADD_TO_LIST,
                "when": added,
                "primaryAttributeValueId": item["id"],
                "primaryAttributeValue": item["name"],
                "attributes": {"Source": rng.choice(("List import", "Flow action", API_SOURCE))},
            })
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [(KIND_LISTS, str(x["id"]), None, x["createdAt"], x["updatedAt"], dumps(x))
             for x in lists],
        )
        db.executemany(
            "INSERT INTO list_members(listId, leadId, createdAt) VALUES(?,?,?)", members
        )
        bulk_log_activities(store, db, activities)
