"""Ground truth of companies, sales persons, opportunities, roles and custom objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from marketo_sandbox.model.objects import (
    OBJECT_TYPES,
    ObjectType,
)
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


def _truth(ot: ObjectType) -> Callable[[Store], Iterator[dict[str, Any]]]:
    def provider(store: Store) -> Iterator[dict[str, Any]]:
        for record in store.objects(ot.kind):
            yield ot.render(record, ot.field_names)

    return provider


for _ot in OBJECT_TYPES.values():
    ground_truth(_ot.kind)(_truth(_ot))
