"""Seeded second-level custom object records: service visits of the seeded cars.

Every instance holds them; only one with the ``second-level-objects`` profile shows the
type (domain/object_types.py), so turning the profile on at run time makes them
observable. They are seeded after deletes and merges, so every visit's car exists.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from marketo_sandbox.domain.objects import set_type_created
from marketo_sandbox.model.objects import CARS, SERVICE_VISITS
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store
from marketo_sandbox.timestamps import format_ts, to_epoch

_WORKSHOPS = ("Main Street Motors", "Bayside Auto Care", "Northgate Service", "Quick Lube 24")


@seeder(65, "marketo_sandbox.seed.second_level.seed_service_visits")
def seed_service_visits(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    set_type_created(store, SERVICE_VISITS, format_ts(now - spec.months * 30 * 86400 - 86400))
    number = 0
    for car in list(store.objects(CARS.kind)):
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            number += 1
            created = rng.uniform(to_epoch(car["createdAt"]), now - 120)
            updated = created if rng.random() < 0.5 else rng.uniform(created, now - 60)
            visit: dict[str, Any] = {
                "marketoGUID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "visitId": f"SV-{number:08d}",
                "carVin": car["vin"],
                "visitDate": format_ts(created)[:10],
                "workshop": rng.choice(_WORKSHOPS),
                "cost": float(rng.randrange(40, 2500)),
                "odometer": rng.randint(100, 200_000),
                "warranty": rng.random() < 0.25,
                "createdAt": format_ts(created),
                "updatedAt": format_ts(updated),
            }
            store.object_put(
                SERVICE_VISITS.kind, visit["marketoGUID"], visit, SERVICE_VISITS.dkey(visit)
            )
