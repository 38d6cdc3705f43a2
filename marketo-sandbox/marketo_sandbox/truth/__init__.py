"""Ground truth: every object of a kind as Marketo holds it (``GET /_sandbox/objects/<kind>``).

Tests compare what the tap extracted (or the target wrote) with these lists, so a provider
reads the store directly and renders records the way Marketo's API would, never through a
route. Providers register with :func:`ground_truth`; importing this package registers all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from marketo_sandbox.store import Store

GroundTruth = Callable[[Store], Iterator[dict[str, Any]]]

# kind -> provider of every object of that kind, as Marketo holds it. Domain modules add
# theirs (e.g. custom objects register ``customobjects/<apiName>`` kinds dynamically).
GROUND_TRUTH: dict[str, GroundTruth] = {}


def ground_truth(kind: str) -> Callable[[GroundTruth], GroundTruth]:
    def register(fn: GroundTruth) -> GroundTruth:
        GROUND_TRUTH[kind] = fn
        return fn

    return register


def _generic(kind: str) -> GroundTruth:
    return lambda store: store.objects(kind)


def provider(store: Store, kind: str) -> GroundTruth | None:
    if kind in GROUND_TRUTH:
        return GROUND_TRUTH[kind]
    if kind in store.object_kinds():
        return _generic(kind)
    return None


def _register_all() -> None:
    # Imported here: each provider module imports ``ground_truth`` from this one.
    from marketo_sandbox.truth import (  # noqa: F401, PLC0415
        activities,
        assets,
        bulk_export,
        bulk_import,
        campaigns,
        leads,
        lists,
        marketing_assets,
        objects,
        programs,
    )


_register_all()
