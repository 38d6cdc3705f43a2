"""The order streams sync in, derived from what each declares it depends on.

A stream's ``depends_on`` names the streams that must run before it (records it points
at, or findings of this run it reuses: keys on leads, program and list ids...). The
order is a topological sort of those declarations; among streams free to run, the one
first by name goes first, so the order is the same run after run. A dependency on a
stream that is not in the catalog is no constraint.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping


class DependencyCycleError(ValueError):
    """Streams that depend on each other: no order can satisfy them."""


def sync_order(depends_on: Mapping[str, Iterable[str]]) -> list[str]:
    """Stream names in sync order, given each stream's dependencies."""
    needs = {
        name: {d for d in deps if d in depends_on and d != name}
        for name, deps in depends_on.items()
    }
    users: dict[str, list[str]] = {name: [] for name in depends_on}
    for name, deps in needs.items():
        for dep in deps:
            users[dep].append(name)
    ready = [name for name, deps in needs.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for user in users[name]:
            needs[user].discard(name)
            if not needs[user]:
                heapq.heappush(ready, user)
    if len(order) != len(needs):
        stuck = sorted(name for name, deps in needs.items() if deps)
        raise DependencyCycleError(f"streams depend on each other: {', '.join(stuck)}")
    return order
