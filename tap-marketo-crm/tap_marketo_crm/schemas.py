"""Marketo ``dataType`` -> JSON Schema, stream and column naming, and value converters.

Describe endpoints are the only source of truth for fields (docs/MARKETO.md section 8).
Everything a sync needs later is kept IN the schema, so a run given a catalog never
calls describe again: property names are REST names, activity attribute columns carry
the Marketo attribute name as their ``title``, and an activity stream's
``activityTypeId`` property is an ``enum`` of its one type id.

Converters turn what Marketo sends (CSV text from bulk files, JSON values from REST)
into values valid for the schema. They are built once per stream, and only for
properties that need work, because the bulk path runs them for every row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marketo_core.timeutil import format_marketo_datetime, parse_marketo_datetime

JsonSchema = dict[str, Any]
Converter = Callable[[Any], Any]

# --- dataType -> JSON Schema ----------------------------------------------------------

_INTEGER_TYPES = frozenset({"integer", "score"})
_NUMBER_TYPES = frozenset({"float", "currency", "percent", "double", "decimal"})


def json_type_for(data_type: str | None) -> JsonSchema:
    """The nullable JSON Schema for a Marketo ``dataType``.

    ``reference`` is kept as text: Marketo uses it both for numeric ids and for text keys,
    and a string holds either without loss. Unknown types fall back to string.
    """
    kind = (data_type or "string").strip().lower()
    if kind == "datetime":
        return {"type": ["string", "null"], "format": "date-time"}
    if kind == "date":
        return {"type": ["string", "null"], "format": "date"}
    if kind in _INTEGER_TYPES:
        return {"type": ["integer", "null"]}
    if kind in _NUMBER_TYPES:
        return {"type": ["number", "null"]}
    if kind == "boolean":
        return {"type": ["boolean", "null"]}
    if kind == "array":
        return {"type": ["array", "null"], "items": {"type": ["string", "null"]}}
    return {"type": ["string", "null"]}


def object_schema(properties: Mapping[str, JsonSchema], **extra: Any) -> JsonSchema:
    return {"type": "object", "properties": dict(properties), **extra}


DATETIME: JsonSchema = {"type": ["string", "null"], "format": "date-time"}
INTEGER: JsonSchema = {"type": ["integer", "null"]}
STRING: JsonSchema = {"type": ["string", "null"]}
BOOLEAN: JsonSchema = {"type": ["boolean", "null"]}
NUMBER: JsonSchema = {"type": ["number", "null"]}
OBJECT: JsonSchema = {"type": ["object", "null"]}


def asset_properties(**extra: JsonSchema) -> dict[str, JsonSchema]:
    """The fields every asset API browse answers (programs, emails, forms, ...), plus
    ``extra``."""
    return {
        "id": {"type": ["integer"]},
        "name": STRING,
        "description": STRING,
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
        "url": STRING,
        "workspace": STRING,
        **extra,
    }


# Where an asset sits: {"type": "Folder"|"Program", "value": <id>, "folderName": ...}.
FOLDER_REF: JsonSchema = {
    "type": ["object", "null"],
    "properties": {"type": STRING, "value": INTEGER, "folderName": STRING},
}

# Delete capture columns on `leads` and membership streams: SQL targets soft/hard delete on
# `_sdc_deleted_at`; merges also say which lead won.
SDC_DELETED_AT = "_sdc_deleted_at"
SDC_MERGED_INTO = "_sdc_merged_into_lead_id"


def fields_schema(
    fields: Iterable[Mapping[str, Any]], *, name_key: str = "name"
) -> dict[str, JsonSchema]:
    """Properties from describe ``fields`` (``{name, dataType, ...}`` items)."""
    properties: dict[str, JsonSchema] = {}
    for field in fields:
        name = field.get(name_key)
        if not name:
            continue
        properties[str(name)] = json_type_for(field.get("dataType"))
    return properties


def lead_fields_schema(describe: Iterable[Mapping[str, Any]]) -> dict[str, JsonSchema]:
    """Properties from ``leads/describe.json``: ``rest.name``; fields without ``rest``
    are not usable over REST (or bulk) and are left out."""
    properties: dict[str, JsonSchema] = {}
    for field in describe:
        rest = field.get("rest") or {}
        name = rest.get("name")
        if name:
            properties[str(name)] = json_type_for(field.get("dataType"))
    return properties


# --- naming ---------------------------------------------------------------------------

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def snake_case(text: str) -> str:
    """``"Visit Webpage"`` -> ``visit_webpage``; ``"clickedLinkC"`` -> ``clicked_link_c``."""
    spaced = _CAMEL_BOUNDARY.sub("_", text.strip())
    snake = _NON_WORD.sub("_", spaced).strip("_").lower()
    snake = re.sub(r"_+", "_", snake)
    if not snake:
        return "unnamed"
    if snake[0].isdigit():
        snake = f"n_{snake}"
    return snake


def activity_stream_names(types: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """``activities_<snake_case_name>`` per activity type id; a name two types share
    gets the type id appended to each, so names never depend on the listing order."""
    by_name: dict[str, list[int]] = {}
    for item in types:
        base = snake_case(str(item.get("name") or f"type {item['id']}"))
        by_name.setdefault(base, []).append(int(item["id"]))
    names: dict[int, str] = {}
    for base, ids in by_name.items():
        for type_id in ids:
            suffix = f"_{type_id}" if len(ids) > 1 else ""
            names[type_id] = f"activities_{base}{suffix}"
    return names


# --- custom object links ----------------------------------------------------------------

# A custom object's link to its parent (a lead or a company), kept in the schema (the
# link field's ``description``) so a catalog run knows it without describing again.
_LINK_TEXT = "Links each record to {parent}.{parent_field}"
_LINK_RE = re.compile(r"^Links each record to (\w+)\.(\w+)")


@dataclass(frozen=True)
class ObjectLink:
    """``field`` of a custom object record holds the ``parent_field`` value of its
    ``parent`` (Marketo: ``Lead`` by ``id``, or ``Company`` by ``externalCompanyId``)."""

    field: str
    parent: str
    parent_field: str

    @property
    def lead_field(self) -> str | None:
        """The lead field whose values find these records: the lead's own field for
        lead-linked types; ``externalCompanyId`` (which leads carry) for company-linked
        ones. None for a link the tap cannot follow from leads."""
        parent = self.parent.lower()
        if parent == "lead":
            return self.parent_field
        if parent == "company" and self.parent_field == "externalCompanyId":
            return "externalCompanyId"
        return None


def link_from_describe(described: Mapping[str, Any]) -> ObjectLink | None:
    """The parent link of a custom object type, from its describe ``relationships``."""
    for relation in described.get("relationships") or []:
        related = relation.get("relatedTo") or {}
        if relation.get("field") and related.get("name") and related.get("field"):
            return ObjectLink(str(relation["field"]), str(related["name"]), str(related["field"]))
    return None


def mark_link(properties: dict[str, JsonSchema], link: ObjectLink | None) -> None:
    if link is not None and link.field in properties:
        text = _LINK_TEXT.format(parent=link.parent, parent_field=link.parent_field)
        properties[link.field] = {**properties[link.field], "description": text}


def object_link_of(schema: Mapping[str, Any]) -> ObjectLink | None:
    """The link kept in a custom object stream's schema; for catalogs written before it
    was kept, the conventional link fields (``leadId``, ``externalCompanyId``)."""
    properties = schema.get("properties") or {}
    for name, prop in properties.items():
        found = _LINK_RE.match(str(prop.get("description") or ""))
        if found:
            return ObjectLink(str(name), found.group(1), found.group(2))
    if "leadId" in properties:
        return ObjectLink("leadId", "Lead", "id")
    if "externalCompanyId" in properties:
        return ObjectLink("externalCompanyId", "Company", "externalCompanyId")
    return None


# Columns every activity stream has, under Marketo's bulk/REST names.
ACTIVITY_STANDARD_COLUMNS: dict[str, JsonSchema] = {
    "marketoGUID": {"type": ["string"]},
    "leadId": INTEGER,
    "activityDate": {"type": ["string"], "format": "date-time"},
    "activityTypeId": INTEGER,
    "campaignId": INTEGER,
    "primary_attribute_name": STRING,
    "primary_attribute_value": STRING,
    "primary_attribute_value_id": INTEGER,
    "attributes": OBJECT,
}


def activity_schema(activity_type: Mapping[str, Any]) -> JsonSchema:
    """One activity type's stream schema: standard columns, the primary attribute, one
    typed snake_case column per attribute (``title`` = Marketo's attribute name) and the
    raw ``attributes`` object."""
    properties: dict[str, JsonSchema] = {
        name: dict(schema) for name, schema in ACTIVITY_STANDARD_COLUMNS.items()
    }
    type_id = int(activity_type["id"])
    # The one activityTypeId this stream carries: kept in the schema so catalog runs need
    # no activity-type call to know which rows belong here.
    properties["activityTypeId"] = {"type": ["integer", "null"], "enum": [type_id]}
    primary = activity_type.get("primaryAttribute") or {}
    if primary.get("name"):
        properties["primary_attribute_name"] = {
            "type": ["string", "null"],
            "title": str(primary["name"]),
        }
    taken = set(properties)
    for attribute in activity_type.get("attributes") or []:
        name = str(attribute.get("name") or "").strip()
        if not name:
            continue
        column = snake_case(name)
        if column in taken:
            n = 2
            while f"{column}_{n}" in taken:
                n += 1
            column = f"{column}_{n}"
        taken.add(column)
        properties[column] = {**json_type_for(attribute.get("dataType")), "title": name}
    return object_schema(
        properties,
        description=(
            f"Marketo activity type {type_id}: {activity_type.get('name')}"
            + (f" ({activity_type['description']})" if activity_type.get("description") else "")
        ),
    )


def activity_type_id_of(schema: Mapping[str, Any]) -> int | None:
    prop = (schema.get("properties") or {}).get("activityTypeId") or {}
    values = prop.get("enum") or []
    return int(values[0]) if values else None


def activity_attribute_columns(schema: Mapping[str, Any]) -> dict[str, str]:
    """Marketo attribute name -> column, read back from the schema's ``title``s."""
    columns: dict[str, str] = {}
    for column, prop in (schema.get("properties") or {}).items():
        if column in ACTIVITY_STANDARD_COLUMNS:
            continue
        title = prop.get("title")
        if title:
            columns[str(title)] = column
    return columns


def primary_attribute_name_of(schema: Mapping[str, Any]) -> str | None:
    prop = (schema.get("properties") or {}).get("primary_attribute_name") or {}
    title = prop.get("title")
    return str(title) if title else None


# --- converters -----------------------------------------------------------------------


def _types_of(prop: Mapping[str, Any]) -> set[str]:
    raw = prop.get("type")
    if raw is None:
        # anyOf / untyped: nothing to convert.
        return set()
    return {raw} if isinstance(raw, str) else set(raw)


def _to_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            return int(float(text))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"not an integer: {value!r}")


def _to_number(value: Any) -> Any:
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        number = float(text)
        # Integral amounts stay integers, the way Marketo's JSON writes them.
        if number.is_integer() and "." not in text and "e" not in text.lower():
            return int(number)
        return number
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


def _to_bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise ValueError(f"not a boolean: {value!r}")


def to_datetime(value: Any) -> Any:
    # Bulk files and lead-database REST answers already write RFC 3339 with Z; the asset
    # API writes "2026-07-27T01:38:33Z+0000", which is not valid date-time.
    if isinstance(value, str) and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        return value
    if isinstance(value, str) and not value.strip():
        return None
    return format_marketo_datetime(parse_marketo_datetime(str(value)))


def _to_date(value: Any) -> Any:
    text = str(value).strip()
    if not text:
        return None
    if len(text) == 10:
        return text
    return parse_marketo_datetime(text).date().isoformat()


def _to_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def to_object(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text or text == "null":
            return None
        parsed = json.loads(text)
        if isinstance(parsed, list) and all(
            isinstance(item, dict) and "name" in item for item in parsed
        ):
            return {item["name"]: item.get("value") for item in parsed}
        return parsed
    if isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value):
        return {item["name"]: item.get("value") for item in value}
    raise ValueError(f"not an object: {value!r}")


def _to_array(value: Any) -> Any:
    if isinstance(value, list):
        return [None if v is None else _to_str(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            return _to_array(json.loads(text))
        # Marketo writes multi-select values separated by semicolons.
        return [part.strip() for part in text.split(";") if part.strip()]
    return [_to_str(value)]


def _to_json_array(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text else None
    return list(value)


def converter_for(prop: Mapping[str, Any], *, text_input: bool) -> Converter | None:
    """The converter a property needs, or None when values pass through unchanged.

    ``text_input``: the values are CSV text (every value a str), so string properties
    need no work at all.
    """
    types = _types_of(prop) - {"null"}
    if not types:
        return None
    fmt = prop.get("format")
    if "string" in types and len(types) == 1:
        if fmt == "date-time":
            return to_datetime
        if fmt == "date":
            return _to_date
        return None if text_input else _to_str
    if "integer" in types and len(types) == 1:
        return _to_int
    if "number" in types and types <= {"number", "integer"}:
        return _to_number
    if types == {"boolean"}:
        return _to_bool
    if types == {"object"}:
        return to_object
    if types == {"array"}:
        items = _types_of(prop.get("items") or {}) - {"null"}
        return _to_array if items <= {"string"} else _to_json_array
    return None


def build_converters(
    schema: Mapping[str, Any], names: Iterable[str] | None = None, *, text_input: bool
) -> list[tuple[str, Converter]]:
    """``(property, converter)`` for the properties (all, or ``names``) that need one."""
    properties = schema.get("properties") or {}
    wanted = properties if names is None else [n for n in names if n in properties]
    out = []
    for name in wanted:
        conv = converter_for(properties[name], text_input=text_input)
        if conv is not None:
            out.append((name, conv))
    return out
