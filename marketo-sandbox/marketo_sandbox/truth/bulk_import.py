"""Ground truth of bulk import batches."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.bulk import imports
from marketo_sandbox.bulk.imports import CUSTOM_OBJECTS, LEADS, PROGRAM_MEMBERS, public
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("import_batches")
def _import_batches(store: Store) -> Any:
    for batch in store.docs(imports.DOC_KIND):
        kind = imports.batch_kind(batch)
        extra = {
            LEADS: ("lookupField", "listId", "partitionName"),
            PROGRAM_MEMBERS: ("programId", "programMemberStatus"),
            CUSTOM_OBJECTS: ("objectApiName",),
        }[kind]
        yield {
            **public(batch),
            "kind": kind,
            "format": batch.get("format"),
            **{name: batch.get(name) for name in extra},
        }
