"""Static lists and their membership: adding and removing members are facts Marketo records
on the lead, Add to List (24) and Remove from List (25).
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.store import Store

ADD_TO_LIST = 24

API_SOURCE = "Web service API"


_LIST_FIELDS = (
    "id", "name", "description", "programName", "workspaceName", "createdAt", "updatedAt",
)


def static_list(store: Store, list_id: Any) -> dict[str, Any] | None:
    return store.object_get(KIND_LISTS, list_id)


def static_lists(store: Store) -> list[dict[str, Any]]:
    return sorted(store.objects(KIND_LISTS), key=lambda x: x["id"])


def render_list(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in _LIST_FIELDS if item.get(k) is not None}
