"""Activity records as the activity feeds present them, and positions in the activity id
space (what a paging token encodes).
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.leads import (
    FIELD_SPECS,
    FIELD_SPECS_BY_ID,
    activity_text,
)
from marketo_sandbox.store import Store

# The Source Marketo writes on activities of API writes.
API_SOURCE = "Web service API"

_OPTIONAL_KEYS = ("campaignId", "primaryAttributeValueId", "primaryAttributeValue")


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """An activity as the REST API shows it: absent optional keys rather than nulls."""
    return {k: v for k, v in doc.items() if not (k in _OPTIONAL_KEYS and v is None)}


def change_data_value(field: str, old: Any, new: Any, **attributes: Any) -> dict[str, Any]:
    """The ``log_activity`` arguments of a Change Data Value (13) on lead field ``field``:
    the field is its primary attribute, the values travel as text (docs/MARKETO.md
    section 4), ``attributes`` add Reason, Source and the API's own."""
    spec = FIELD_SPECS[field]
    return {
        "primary_attribute_value_id": spec.id,
        "primary_attribute_value": spec.display_name,
        "attributes": {
            "New Value": activity_text(new),
            "Old Value": activity_text(old),
            **attributes,
        },
    }


def last_activity_id(store: Store) -> int:
    row = store.query("SELECT value FROM sequences WHERE name='activity'")
    return int(row[0]["value"]) if row else 0


def position_at(store: Store, since: str) -> int:
    """The first activity id dated at or after ``since`` (or the next id to be issued)."""
    # Ids follow dates, so the date index's first entry is the position (no range scan).
    row = store.query(
        "SELECT id FROM activities WHERE activityDate >= ? ORDER BY activityDate, id LIMIT 1",
        (since,),
    )
    if row:
        return int(row[0]["id"])
    return last_activity_id(store) + 1


def lead_change(doc: dict[str, Any]) -> dict[str, Any]:
    """A New Lead / Change Data Value activity as leadchanges.json shows it."""
    item: dict[str, Any] = {
        "id": doc["id"],
        "marketoGUID": doc["marketoGUID"],
        "leadId": doc["leadId"],
        "activityDate": doc["activityDate"],
        "activityTypeId": doc["activityTypeId"],
    }
    if doc.get("campaignId") is not None:
        item["campaignId"] = doc["campaignId"]
    attributes = doc.get("attributes") or []
    fields: list[dict[str, Any]] = []
    if doc["activityTypeId"] == at.CHANGE_DATA_VALUE:
        values = {a["name"]: a["value"] for a in attributes}
        spec = FIELD_SPECS_BY_ID.get(doc.get("primaryAttributeValueId") or -1)
        fields.append(
            {
                "id": doc.get("primaryAttributeValueId"),
                "name": spec.name if spec else doc.get("primaryAttributeValue"),
                "newValue": values.get("New Value"),
                "oldValue": values.get("Old Value"),
            }
        )
        attributes = [a for a in attributes if a["name"] not in ("New Value", "Old Value")]
    item["fields"] = fields
    item["attributes"] = attributes
    return item


def deleted_lead(doc: dict[str, Any]) -> dict[str, Any]:
    item = present(doc)
    item["attributes"] = []
    return item
