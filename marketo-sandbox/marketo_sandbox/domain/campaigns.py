"""Smart campaigns. The sandbox runs no flows: each accepted trigger or schedule request is
kept as a document (kind ``campaign_requests``) for tests and the control API to inspect.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox.model.shared import KIND_CAMPAIGNS
from marketo_sandbox.store import Store

REQUESTS_KIND = "campaign_requests"


_CAMPAIGN_FIELDS = (
    "id", "name", "description", "type", "programName", "programId", "workspaceName",
    "createdAt", "updatedAt", "active",
)


def campaign(store: Store, campaign_id: Any) -> dict[str, Any] | None:
    return store.object_get(KIND_CAMPAIGNS, campaign_id)


def campaigns(store: Store) -> list[dict[str, Any]]:
    return sorted(store.objects(KIND_CAMPAIGNS), key=lambda c: c["id"])


def render_campaign(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in _CAMPAIGN_FIELDS if item.get(k) is not None}


def is_triggerable(item: dict[str, Any]) -> bool:
    # "active Campaigns which have a Campaign is Requested trigger and source is Web Service API"
    return item["type"] == "trigger" and bool(item.get("active")) and bool(item.get("_requestable"))


def record_request(store: Store, doc: dict[str, Any]) -> dict[str, Any]:
    """Keep an accepted trigger or schedule request (kind ``campaign_requests``)."""
    doc = {"requestId": store.next_id(REQUESTS_KIND), **doc, "requestedAt": store.now_ts()}
    store.doc_put(REQUESTS_KIND, doc["requestId"], doc)
    return doc


def delete_campaign(store: Store, campaign_id: int) -> bool:
    """Delete a smart campaign; False when there is none. Marketo logs no activity for
    it: the campaign is simply gone from every read."""
    return store.object_delete(KIND_CAMPAIGNS, campaign_id)
