"""Seeded smart campaigns, living in the seeded programs."""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.programs import programs
from marketo_sandbox.model.shared import KIND_CAMPAIGNS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts

_TABLES = tables("campaigns")
_NAMES = _TABLES["campaign_names"]


# After programs (40): campaigns live in programs.
@seeder(42, "marketo_sandbox.api.campaigns.seed_campaigns")
def seed_campaigns(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    progs = programs(store)
    start = now - spec.months * 30 * 86400
    store.set_sequence_floor(KIND_CAMPAIGNS, 1000)
    first_id = store.next_id(KIND_CAMPAIGNS, max(spec.campaigns, 1))
    rows = []
    for i in range(spec.campaigns):
        created = rng.uniform(start, now - 86400)
        updated = rng.uniform(created, now - 60)
        # Every seed has, first, a requestable trigger campaign, a batch one, and an active
        # trigger campaign without a "Campaign is Requested" trigger.
        kind = ("trigger", "batch", "trigger")[i] if i < 3 else rng.choice(("trigger", "batch"))
        item: dict[str, Any] = {
            "id": first_id + i,
            "name": f"{_NAMES[i % len(_NAMES)]} {i + 1}",
            "description": rng.choice(("", "Managed by marketing ops", "Created by API")),
            "type": kind,
            "workspaceName": "Default",
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
            "active": kind == "trigger" and (i in (0, 2) or rng.random() < 0.8),
            "_requestable": kind == "trigger" and (i == 0 or (i > 2 and rng.random() < 0.6)),
        }
        if progs and rng.random() < 0.8:
            prog = rng.choice(progs)
            item["programId"] = prog["id"]
            item["programName"] = prog["name"]
        rows.append(item)
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [(KIND_CAMPAIGNS, str(c["id"]), None, c["createdAt"], c["updatedAt"], dumps(c))
             for c in rows],
        )
