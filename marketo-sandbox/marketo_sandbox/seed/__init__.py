"""Seed data: a realistic Marketo instance spread over 13+ months, holding only the
activities Marketo's retention still serves (``domain.retention``: no high-volume type
older than 90 days, no Delete Lead older than 14).

Domain modules register seeders with :func:`seeder`; :func:`build` runs them in order
(sales persons and companies before the leads that point at them, leads before the
activities and memberships that point at leads, ...). Seeding is deterministic for a
given ``random_seed`` and anchor time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from marketo_sandbox.store import Store

log = logging.getLogger("marketo_sandbox.seed")


@dataclass
class SeedSpec:
    name: str = "small"
    leads: int = 200
    # Activities logged over the seed's span: those Marketo's retention has pruned by the
    # anchor (old high-volume types...) are not kept, so fewer are stored.
    activities: int = 2_000
    companies: int = 20
    salespersons: int = 5
    opportunities: int = 15
    programs: int = 8
    static_lists: int = 4
    campaigns: int = 6
    custom_objects_per_type: int = 40
    deleted_leads: int = 5
    merged_leads: int = 3
    months: int = 14
    random_seed: int = 42


SEEDS: dict[str, SeedSpec] = {
    "empty": SeedSpec(
        name="empty",
        leads=0,
        activities=0,
        companies=0,
        salespersons=0,
        opportunities=0,
        programs=0,
        static_lists=0,
        campaigns=0,
        custom_objects_per_type=0,
        deleted_leads=0,
        merged_leads=0,
    ),
    "small": SeedSpec(name="small"),
    "demo": SeedSpec(
        name="demo",
        leads=2_000,
        activities=20_000,
        companies=150,
        salespersons=12,
        opportunities=120,
        programs=20,
        static_lists=8,
        campaigns=15,
        custom_objects_per_type=400,
        deleted_leads=25,
        merged_leads=10,
    ),
    "bench": SeedSpec(
        name="bench",
        leads=100_000,
        activities=1_000_000,
        companies=5_000,
        salespersons=50,
        opportunities=3_000,
        programs=60,
        static_lists=20,
        campaigns=40,
        custom_objects_per_type=10_000,
        deleted_leads=500,
        merged_leads=200,
    ),
}

Seeder = Callable[[Store, SeedSpec, random.Random, float], None]
_SEEDERS: list[tuple[int, str, Seeder]] = []


def seeder(order: int, stream: str) -> Callable[[Seeder], Seeder]:
    """Register a seeder; lower ``order`` runs first. Conventions: 10 sales persons and
    companies, 20 leads, 30 opportunities/roles/custom objects, 40 programs, members,
    lists and campaigns, 50 activities, 60 deletes and merges.

    ``stream`` names the seeder's random stream (and breaks ties in ``order``). The names
    are those the seeders had when the seeds were first published: renaming one would change
    every value it generates, and the tests and benchmark figures were taken on these.
    """

    def register(fn: Seeder) -> Seeder:
        _SEEDERS.append((order, stream, fn))
        return fn

    return register


def tables(area: str) -> dict[str, Any]:
    """The name tables of one generator (first names, cities, ...), from ``seed/data/<area>.json``.

    Lists become tuples: the generators pick from them and unpack their rows.
    """
    text = resources.files(__name__).joinpath("data", f"{area}.json").read_text(encoding="utf-8")
    return {name: _frozen(value) for name, value in json.loads(text).items()}


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def spec_for(name: str, **overrides: int | None) -> SeedSpec:
    if name not in SEEDS:
        raise ValueError(f"unknown seed '{name}' (choose from {', '.join(SEEDS)})")
    changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(SEEDS[name], **changes)


def build(store: Store, spec: SeedSpec, anchor: float | None = None) -> None:
    """Fill an empty store. ``anchor`` is 'now' for the seed (default: the store's clock)."""
    # Imported here: the generator modules import this one to register their seeders.
    from marketo_sandbox.seed import (  # noqa: F401, PLC0415
        activities,
        assets,
        campaigns,
        leads,
        lists,
        marketing_assets,
        objects,
        programs,
        second_level,
        workspaces,
    )

    now = store.now() if anchor is None else anchor
    for order, name, fn in sorted(_SEEDERS, key=lambda s: (s[0], s[1])):
        started = time.monotonic()
        fn(store, spec, random.Random(f"{spec.random_seed}:{order}:{name}"), now)
        log.debug("seeded %s in %.2fs", name, time.monotonic() - started)
