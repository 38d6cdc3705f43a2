"""Ground truth of leads: every field of every lead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from marketo_sandbox.model.leads import (
    lead_field_names,
    project_lead,
)
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("leads")
def all_leads(store: Store) -> Iterator[dict[str, Any]]:
    names = lead_field_names()
    for row in store.iterate("SELECT data FROM leads ORDER BY id"):
        yield project_lead(json.loads(row["data"]), names)
