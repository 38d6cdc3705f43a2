"""What each bulk extract kind accepts and which rows it writes.

One class per ``{E}`` of ``/bulk/v1/{E}/export``: ``validate`` turns a create request into
a normalized job spec (raising the Marketo error a bad request earns), ``open`` streams
the job's rows from SQLite as formatted cells. Field names, types, channels and object
types come from the model (``marketo_sandbox.model``), the same metadata the describe
endpoints publish.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marketo_sandbox.bulk.csvfile import NULL, cell, json_cell, read_json
from marketo_sandbox.bulk.dates import parse_range
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain import object_types
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model import activity_types
from marketo_sandbox.model import leads as lead_model
from marketo_sandbox.model import objects as object_model
from marketo_sandbox.model.shared import KIND_LISTS, KIND_PROGRAMS
from marketo_sandbox.store import Store

FORMATS = ("CSV", "TSV", "SSV")
TEXT_TYPES = frozenset({"string", "text", "textarea"})

ACTIVITY_COLUMNS = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)
ACTIVITY_OPTIONAL = ("actionResult",)
MAX_PRIMARY_ATTRIBUTE_VALUES = 50
MAX_PROGRAM_IDS = 10

# Program member statuses Marketo ships with every channel (Adobe's filter table).
STANDARD_STATUS_NAMES = frozenset(
    {
        "Attended",
        "Attended On-demand",
        "Bounced",
        "Clicked",
        "Contacted",
        "Converted",
        "Engaged",
        "Filled-out Form",
        "Influenced",
        "Invited",
        "Member",
        "No Show",
        "Not in Program",
        "On List",
        "Opened",
        "Registered",
        "Registering",
        "Registration Error",
        "Sent",
        "Subscribed",
        "Unsubscribed",
        "Viewed",
        "Visited",
        "Visited Booth",
        "Waitlisted",
        "Web Content",
    }
)
# Adobe's page says pause/norm, the swagger paused/normal, stored members "paus"/"norm".
NURTURE_CADENCES = {
    "paused": "paused", "pause": "paused", "paus": "paused",
    "normal": "normal", "norm": "normal",
}  # fmt: skip


@dataclass
class RowSource:
    columns: list[str]
    rows: Iterator[list[Any]]
    text_columns: list[int]
    # Boolean columns an older instance writes as 1/0 (program member files only).
    legacy_boolean_columns: list[int] = field(default_factory=list)


def lead_field_types() -> dict[str, str]:
    """REST name -> dataType of every lead field."""
    return {name: spec.data_type for name, spec in lead_model.FIELD_SPECS.items()}


def canonical_lead_field(name: str) -> str | None:
    """The REST name of a lead field, matched without regard to case as Marketo does."""
    return lead_model.canonical_field(name)


def _lead_projector(fields: list[str]) -> Callable[[dict[str, Any]], list[Any]]:
    def projected(data: dict[str, Any]) -> list[Any]:
        out = lead_model.project_lead(data, fields)
        return [out.get(f) for f in fields]

    return projected


def _ints(raw: Any, name: str) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise ApiError("1003", f"Invalid value for filter '{name}': a non-empty array is required")
    out = []
    for value in raw:
        if isinstance(value, bool):
            raise ApiError("1003", f"Invalid value '{value}' in filter '{name}'")
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            raise ApiError("1003", f"Invalid value '{value}' in filter '{name}'") from None
    return out


def _int(raw: Any, name: str) -> int:
    if isinstance(raw, bool):
        raise ApiError("1003", f"Invalid value '{raw}' for filter '{name}'")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError("1003", f"Invalid value '{raw}' for filter '{name}'") from None


def _fields(body: dict[str, Any], required: bool) -> list[str] | None:
    raw = body.get("fields")
    if raw is None or raw == []:
        if required:
            raise ApiError("1003", "Invalid data: 'fields' is required")
        return None
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(f, str) and f for f in raw):
        raise ApiError("1003", "Invalid data: 'fields' must be an array of field names")
    return list(raw)


def _unknown_field(name: str) -> ApiError:
    return ApiError("1006", f"Field '{name}' not found")


def _filter(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("filter")
    if not isinstance(raw, dict) or not raw:
        raise ApiError("1003", "Invalid data: 'filter' is required")
    return raw


def _one_filter(raw: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, Any]:
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise ApiError("1003", f"Invalid filter type '{unknown[0]}'")
    if len(raw) != 1:
        raise ApiError("1003", "Only one filter type may be specified per export job")
    return next(iter(raw.items()))


def _date_filter(name: str, raw: Any, config: SandboxConfig) -> dict[str, str]:
    if name == "updatedAt" and not config.bulk_updated_at_filter:
        raise ApiError("1035", "Unsupported filter type for target subscription: updatedAt")
    return parse_range(raw, name, config.export_max_window_days).as_filter()


def _find_object(store: Store, kind: str, key: str, value: Any) -> dict[str, Any] | None:
    if key == "id":
        found = store.object_get(kind, value)
        if found is not None:
            return found
    for row in store.iterate("SELECT data FROM objects WHERE kind=?", (kind,)):
        data = json.loads(row["data"])
        if str(data.get(key)) == str(value):
            return data
    return None


def _static_list(store: Store, name: str, value: Any) -> int:
    if name == "staticListId":
        list_id = _int(value, name)
        if _find_object(store, KIND_LISTS, "id", list_id) is None and not store.query(
            "SELECT 1 FROM list_members WHERE listId=? LIMIT 1", (list_id,)
        ):
            raise ApiError("1003", f"Static list {list_id} not found")
        return list_id
    if not isinstance(value, str) or not value:
        raise ApiError("1003", f"Invalid value for filter '{name}'")
    found = _find_object(store, KIND_LISTS, "name", value)
    if found is None:
        raise ApiError("1003", f"Static list '{value}' not found")
    return int(found["id"])


def _smart_list(store: Store, name: str, value: Any) -> list[int]:
    """Members of a smart list, where the model keeps smart lists with their members."""
    key = "id" if name == "smartListId" else "name"
    found = _find_object(store, "smart_lists", key, value)
    if found is None:
        raise ApiError("1003", f"Smart list '{value}' not found")
    members = found.get("leadIds") or found.get("members") or []
    return sorted(int(m["id"] if isinstance(m, dict) else m) for m in members)


def _headers(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("columnHeaderNames")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ApiError(
            "1003", "Invalid data: 'columnHeaderNames' must map field names to header names"
        )
    return {str(k): v for k, v in raw.items()}


def common_spec(body: dict[str, Any]) -> dict[str, Any]:
    fmt = body.get("format") or "CSV"
    if not isinstance(fmt, str) or fmt.upper() not in FORMATS:
        raise ApiError("1003", f"Invalid format '{fmt}' (one of CSV, TSV, SSV)")
    return {"format": fmt.upper(), "columnHeaderNames": _headers(body)}


class ExportKind:
    entity = ""

    def validate(self, store: Store, config: SandboxConfig, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def open(self, store: Store, spec: dict[str, Any]) -> RowSource:
        raise NotImplementedError


# -- leads -------------------------------------------------------------------------------

LEAD_COLUMNS = "l.id AS id, l.createdAt AS createdAt, l.updatedAt AS updatedAt, l.data AS data"


def _lead_document(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row["data"])
    # The table columns are the truth for what the API filters on.
    data.setdefault("id", row["id"])
    data.setdefault("createdAt", row["createdAt"])
    data.setdefault("updatedAt", row["updatedAt"])
    return data


LEAD_FILTERS = (
    "createdAt",
    "updatedAt",
    "staticListId",
    "staticListName",
    "smartListId",
    "smartListName",
)


class LeadsExport(ExportKind):
    entity = "leads"

    def validate(self, store: Store, config: SandboxConfig, body: dict[str, Any]) -> dict[str, Any]:
        spec = common_spec(body)
        fields = _fields(body, required=True)
        assert fields is not None
        columns = []
        for requested in fields:
            found = canonical_lead_field(requested)
            if found is None:
                raise _unknown_field(requested)
            columns.append(found)
        name, value = _one_filter(_filter(body), LEAD_FILTERS)
        flt: dict[str, Any] = {"type": name}
        if name in ("createdAt", "updatedAt"):
            flt.update(_date_filter(name, value, config))
        elif name.startswith("staticList"):
            flt["listId"] = _static_list(store, name, value)
        else:
            flt["leadIds"] = _smart_list(store, name, value)
        spec.update(fields=fields, columns=columns, filter=flt, request=body.get("filter"))
        return spec

    def open(self, store: Store, spec: dict[str, Any]) -> RowSource:
        fields: list[str] = spec["fields"]
        columns: list[str] = spec["columns"]
        flt = spec["filter"]
        if flt["type"] in ("createdAt", "updatedAt"):
            column = flt["type"]
            sql = (
                f"SELECT {LEAD_COLUMNS} FROM leads l "  # noqa: S608
                f"WHERE l.{column} >= ? AND l.{column} <= ? ORDER BY l.id"
            )
            params: tuple[Any, ...] = (flt["startAt"], flt["endAt"])
        elif flt["type"].startswith("staticList"):
            sql = (
                f"SELECT {LEAD_COLUMNS} FROM leads l JOIN list_members m ON m.leadId = l.id "  # noqa: S608
                "WHERE m.listId = ? ORDER BY l.id"
            )
            params = (flt["listId"],)
        else:
            sql = (
                f"SELECT {LEAD_COLUMNS} FROM leads l "  # noqa: S608
                "JOIN json_each(?) j ON j.value = l.id ORDER BY l.id"
            )
            params = (json.dumps(flt["leadIds"]),)
        project = _lead_projector(columns)
        types = lead_field_types()

        def rows() -> Iterator[list[Any]]:
            for row in store.iterate(sql, params):
                yield [cell(v) for v in project(_lead_document(row))]

        text = [i for i, f in enumerate(columns) if types.get(f) in TEXT_TYPES]
        return RowSource(fields, rows(), text)


# -- activities ----------------------------------------------------------------------------

ACTIVITY_FILTERS = (
    "createdAt",
    "activityTypeIds",
    "primaryAttributeValueIds",
    "primaryAttributeValues",
)


class ActivitiesExport(ExportKind):
    entity = "activities"

    def validate(self, store: Store, config: SandboxConfig, body: dict[str, Any]) -> dict[str, Any]:
        spec = common_spec(body)
        fields = _fields(body, required=False) or list(ACTIVITY_COLUMNS)
        for name in fields:
            if name not in ACTIVITY_COLUMNS and name not in ACTIVITY_OPTIONAL:
                raise _unknown_field(name)
        raw = _filter(body)
        unknown = [k for k in raw if k not in ACTIVITY_FILTERS]
        if unknown:
            raise ApiError("1003", f"Invalid filter type '{unknown[0]}'")
        if "createdAt" not in raw:
            raise ApiError("1003", "Invalid data: filter 'createdAt' is required")
        flt: dict[str, Any] = dict(_date_filter("createdAt", raw["createdAt"], config))
        if raw.get("activityTypeIds") is not None:
            type_ids = _ints(raw["activityTypeIds"], "activityTypeIds")
            for type_id in type_ids:
                if type_id in activity_types.NOT_EXPORTABLE:
                    # Deletes only come from /rest/v1/activities/deletedleads.json.
                    raise ApiError("1003", f"Activity type {type_id} is not supported for export")
                if type_id not in activity_types.ACTIVITY_TYPES_BY_ID:
                    raise ApiError("1003", f"Invalid activity type id {type_id}")
            flt["activityTypeIds"] = sorted(set(type_ids))
        ids, values = raw.get("primaryAttributeValueIds"), raw.get("primaryAttributeValues")
        if ids is not None and values is not None:
            raise ApiError(
                "1003",
                "primaryAttributeValueIds and primaryAttributeValues cannot be used together",
            )
        if ids is not None or values is not None:
            name = "primaryAttributeValueIds" if ids is not None else "primaryAttributeValues"
            if "activityTypeIds" not in flt:
                raise ApiError("1003", f"Filter '{name}' requires the 'activityTypeIds' filter")
            if ids is not None:
                chosen: list[Any] = _ints(ids, name)
            else:
                if not isinstance(values, list) or not values:
                    raise ApiError("1003", f"Invalid value for filter '{name}'")
                chosen = [str(v) for v in values]
            if len(chosen) > MAX_PRIMARY_ATTRIBUTE_VALUES:
                raise ApiError(
                    "1003", f"Filter '{name}' accepts at most {MAX_PRIMARY_ATTRIBUTE_VALUES} values"
                )
            flt[name] = chosen
        spec.update(fields=fields, filter=flt, request=raw)
        return spec

    def open(self, store: Store, spec: dict[str, Any]) -> RowSource:
        fields: list[str] = spec["fields"]
        flt = spec["filter"]
        where = ["activityDate >= ?", "activityDate <= ?"]
        params: list[Any] = [flt["startAt"], flt["endAt"]]
        if flt.get("activityTypeIds"):
            where.append(f"activityTypeId IN ({','.join('?' * len(flt['activityTypeIds']))})")
            params.extend(flt["activityTypeIds"])
        for name, path in (
            ("primaryAttributeValueIds", "$.primaryAttributeValueId"),
            ("primaryAttributeValues", "$.primaryAttributeValue"),
        ):
            if flt.get(name):
                where.append(f"json_extract(data, '{path}') IN ({','.join('?' * len(flt[name]))})")
                params.extend(flt[name])
        kept = store.activities_kept()
        if kept is not None:
            # Retention: pruned activities are gone from exports too (docs/MARKETO.md
            # section 9), as of when the job's file is written.
            where.append(kept[0])
            params.extend(kept[1])
        # Index order of activities_date: a 31-day window streams without a sort.
        sql = f"SELECT data FROM activities WHERE {' AND '.join(where)} ORDER BY activityDate, id"  # noqa: S608
        order = ACTIVITY_COLUMNS + ACTIVITY_OPTIONAL
        positions = [order.index(f) for f in fields]
        pick = operator.itemgetter(*positions) if len(positions) > 1 else None
        only = positions[0]
        want_attributes = "attributes" in fields
        loads = read_json

        def rows() -> Iterator[Any]:
            for (data,) in store.iterate(sql, params):
                d = loads(data)
                attrs = d.get("attributes") if want_attributes else None
                campaign = d.get("campaignId")
                value_id = d.get("primaryAttributeValueId")
                value = d.get("primaryAttributeValue")
                full = (
                    d.get("marketoGUID") or str(d.get("id")),
                    d["leadId"],
                    d["activityDate"],
                    d["activityTypeId"],
                    NULL if campaign is None else campaign,
                    NULL if value_id is None else value_id,
                    NULL if value is None or value == "" else cell(value),
                    json_cell({a["name"]: a.get("value") for a in attrs}) if attrs else NULL,
                    d.get("actionResult") or "succeeded",
                )
                yield pick(full) if pick is not None else (full[only],)

        text = [i for i, f in enumerate(fields) if f == "primaryAttributeValue"]
        return RowSource(fields, rows(), text)


# -- program members -------------------------------------------------------------------------


def _member_field_types() -> dict[str, str]:
    """Program member fields (standard and custom) -> dataType."""
    return {f["name"]: f["dataType"] for f in object_model.PROGRAM_MEMBER_FIELDS}


def _resolve_member_fields(fields: list[str]) -> list[tuple[str, str]]:
    """(source, canonical name) per requested field; member fields win over lead fields."""
    member_types = _member_field_types()
    by_lower = {n.lower(): n for n in member_types}
    out = []
    for requested in fields:
        member = by_lower.get(requested.lower())
        if member is not None:
            out.append(("member", member))
            continue
        lead = canonical_lead_field(requested)
        if lead is None:
            raise _unknown_field(requested)
        out.append(("lead", lead))
    return out


PROGRAM_MEMBER_FILTERS = (
    "programId",
    "programIds",
    "updatedAt",
    "statusNames",
    "isExhausted",
    "nurtureCadence",
)


class ProgramMembersExport(ExportKind):
    entity = "program/members"

    def validate(self, store: Store, config: SandboxConfig, body: dict[str, Any]) -> dict[str, Any]:
        spec = common_spec(body)
        fields = _fields(body, required=True)
        assert fields is not None
        raw = _filter(body)
        unknown = [k for k in raw if k not in PROGRAM_MEMBER_FILTERS]
        if unknown:
            raise ApiError("1003", f"Invalid filter type '{unknown[0]}'")
        if ("programId" in raw) == ("programIds" in raw):
            raise ApiError(
                "1003",
                "Invalid data: exactly one of the filters 'programId' and 'programIds' is required",
            )
        flt: dict[str, Any] = {}
        if "programId" in raw:
            flt["programIds"] = [_int(raw["programId"], "programId")]
            flt["multi"] = False
        else:
            program_ids = _ints(raw["programIds"], "programIds")
            if len(program_ids) > MAX_PROGRAM_IDS:
                raise ApiError(
                    "1003", f"Filter 'programIds' accepts at most {MAX_PROGRAM_IDS} program ids"
                )
            flt["programIds"] = list(dict.fromkeys(program_ids))
            flt["multi"] = True
        have_programs = bool(
            store.query("SELECT 1 FROM objects WHERE kind=? LIMIT 1", (KIND_PROGRAMS,))
        )
        for program_id in flt["programIds"]:
            if have_programs and store.object_get(KIND_PROGRAMS, program_id) is None:
                raise ApiError("1003", f"Program {program_id} not found")
        if raw.get("updatedAt") is not None:
            flt["updatedAt"] = _date_filter("updatedAt", raw["updatedAt"], config)
        if raw.get("statusNames") is not None:
            flt["statusNames"] = self._status_names(store, raw["statusNames"], flt["programIds"])
        if raw.get("isExhausted") is not None:
            if not isinstance(raw["isExhausted"], bool):
                raise ApiError("1003", "Invalid value for filter 'isExhausted'")
            flt["isExhausted"] = raw["isExhausted"]
        if raw.get("nurtureCadence") is not None:
            cadence = NURTURE_CADENCES.get(str(raw["nurtureCadence"]).lower())
            if cadence is None:
                raise ApiError(
                    "1003", f"Invalid value '{raw['nurtureCadence']}' for filter 'nurtureCadence'"
                )
            flt["nurtureCadence"] = cadence
        if flt["multi"] and not any(f.lower() == "programid" for f in fields):
            # Adobe: with programIds, "programId" is added to the file as the first field.
            fields = ["programId", *fields]
        sources = _resolve_member_fields(fields)
        spec.update(fields=fields, columns=[list(s) for s in sources], filter=flt, request=raw)
        return spec

    @staticmethod
    def _status_names(store: Store, names: Any, program_ids: list[int]) -> list[str]:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ApiError("1003", "Invalid value for filter 'statusNames'")
        marks = ",".join("?" * len(program_ids))
        present = {
            str(r["s"]).lower()
            for r in store.query(
                f"SELECT DISTINCT json_extract(data, '$.statusName') AS s FROM program_members "  # noqa: S608
                f"WHERE programId IN ({marks})",
                program_ids,
            )
            if r["s"] is not None
        }
        known = present | {n.lower() for n in STANDARD_STATUS_NAMES} | _channel_status_names()
        for name in names:
            if name.lower() not in known:
                raise ApiError("1003", f"Invalid data: status '{name}' not found in the program(s)")
        return names

    def open(self, store: Store, spec: dict[str, Any]) -> RowSource:
        fields: list[str] = spec["fields"]
        sources: list[tuple[str, str]] = [(s[0], s[1]) for s in spec["columns"]]
        flt = spec["filter"]
        member_types = _member_field_types()
        lead_types = lead_field_types()
        lead_fields = [name for source, name in sources if source == "lead"]
        project = _lead_projector(lead_fields) if lead_fields else None
        marks = ",".join("?" * len(flt["programIds"]))
        where = [f"pm.programId IN ({marks})"]
        params: list[Any] = list(flt["programIds"])
        if flt.get("updatedAt"):
            where.append("pm.updatedAt >= ? AND pm.updatedAt <= ?")
            params.extend([flt["updatedAt"]["startAt"], flt["updatedAt"]["endAt"]])
        lead_cols = (
            ", l.id AS id, l.createdAt AS createdAt, l.updatedAt AS lead_updatedAt, l.data AS lead"
            if project
            else ""
        )
        # Memberships of deleted leads stay in the table; Marketo no longer shows them.
        join = "JOIN leads l ON l.id = pm.leadId"
        sql = (
            f"SELECT pm.programId AS programId, pm.leadId AS leadId, pm.updatedAt AS updatedAt, "  # noqa: S608
            f"pm.data AS data{lead_cols} FROM program_members pm {join} "
            f"WHERE {' AND '.join(where)} ORDER BY pm.programId, pm.leadId"
        )
        names: dict[int, Any] = {}
        for program_id in flt["programIds"]:
            program = store.object_get(KIND_PROGRAMS, program_id)
            names[program_id] = program.get("name") if program else None
        statuses = {n.lower() for n in flt["statusNames"]} if flt.get("statusNames") else None

        def keep(member: dict[str, Any]) -> bool:
            if statuses is not None and str(member.get("statusName") or "").lower() not in statuses:
                return False
            if "isExhausted" in flt and bool(member.get("isExhausted")) != flt["isExhausted"]:
                return False
            if "nurtureCadence" in flt:
                cadence = NURTURE_CADENCES.get(str(member.get("nurtureCadence") or "").lower())
                if cadence != flt["nurtureCadence"]:
                    return False
            return True

        def rows() -> Iterator[list[Any]]:
            for row in store.iterate(sql, params):
                member = json.loads(row["data"])
                if not keep(member):
                    continue
                member["programId"] = row["programId"]
                member["leadId"] = row["leadId"]
                member.setdefault("updatedAt", row["updatedAt"])
                member.setdefault("program", names.get(row["programId"]))
                lead_values: dict[str, Any] = {}
                if project is not None and row["lead"] is not None:
                    lead = json.loads(row["lead"])
                    lead.setdefault("id", row["id"])
                    lead.setdefault("createdAt", row["createdAt"])
                    lead.setdefault("updatedAt", row["lead_updatedAt"])
                    lead_values = dict(zip(lead_fields, project(lead), strict=True))
                yield [
                    cell(member.get(name) if source == "member" else lead_values.get(name))
                    for source, name in sources
                ]

        def data_type(source: str, name: str) -> str | None:
            return (member_types if source == "member" else lead_types).get(name)

        text = [i for i, (s, n) in enumerate(sources) if data_type(s, n) in TEXT_TYPES]
        # Recorded program member files write the member's and the lead's booleans as 1/0
        # (docs/MARKETO.md section 9); lead export files keep true/false.
        booleans = [i for i, (s, n) in enumerate(sources) if data_type(s, n) == "boolean"]
        return RowSource(fields, rows(), text, booleans)


def _channel_status_names() -> set[str]:
    return {st.name.lower() for ch in object_model.CHANNELS.values() for st in ch.statuses}


# -- custom objects ----------------------------------------------------------------------------

CUSTOM_OBJECT_FILTERS = (
    "updatedAt",
    "staticListId",
    "staticListName",
    "smartListId",
    "smartListName",
)


@dataclass
class CustomObjectShape:
    api_name: str
    kind: str
    field_types: dict[str, str]
    # The field linking a record to its parent, and the parent: "lead" (by id) or a
    # company (by externalCompanyId), as the object type declares it.
    link_field: str
    link_target: str
    link_target_field: str

    def canonical(self, name: str) -> str | None:
        lower = name.lower()
        return next((n for n in self.field_types if n.lower() == lower), None)


def custom_object_shape(api_name: str) -> CustomObjectShape | None:
    found = object_model.custom_object_type(api_name)
    if found is None:
        return None
    field_types = {f["name"]: f["dataType"] for f in found.fields}
    if found.links:
        link = found.links[0]
        return CustomObjectShape(
            api_name, found.kind, field_types, link.field, link.target, link.target_field
        )
    return CustomObjectShape(api_name, found.kind, field_types, "leadId", "lead", "id")


class CustomObjectsExport(ExportKind):
    def __init__(self, api_name: str) -> None:
        self.api_name = api_name
        self.entity = f"customobjects/{api_name}"

    def shape(self) -> CustomObjectShape:
        shape = custom_object_shape(self.api_name)
        if shape is None:
            raise ApiError("1003", f"Invalid custom object type '{self.api_name}'")
        return shape

    def validate(self, store: Store, config: SandboxConfig, body: dict[str, Any]) -> dict[str, Any]:
        on_instance = object_types.instance_custom_type(config, self.api_name)
        if on_instance is None:
            raise ApiError("1003", f"Invalid custom object type '{self.api_name}'")
        object_types.check_bulk_exportable(config, on_instance)
        shape = self.shape()
        spec = common_spec(body)
        fields = _fields(body, required=True)
        assert fields is not None
        columns = []
        for requested in fields:
            found = shape.canonical(requested)
            if found is None:
                raise _unknown_field(requested)
            columns.append(found)
        name, value = _one_filter(_filter(body), CUSTOM_OBJECT_FILTERS)
        flt: dict[str, Any] = {"type": name}
        if name == "updatedAt":
            # Adobe marks only the custom object smart list filters as subscription
            # features; `custom_object_updated_at_filter` emulates one refusing updatedAt.
            if not config.custom_object_updated_at_filter:
                raise ApiError(
                    "1035", "Unsupported filter type for target subscription: updatedAt"
                )
            flt.update(parse_range(value, name, config.export_max_window_days).as_filter())
        elif name.startswith("staticList"):
            flt["listId"] = _static_list(store, name, value)
        else:
            flt["leadIds"] = _smart_list(store, name, value)
        spec.update(
            fields=fields,
            columns=columns,
            filter=flt,
            request=body.get("filter"),
            kind=shape.kind,
            link={
                "field": shape.link_field,
                "target": shape.link_target,
                "targetField": shape.link_target_field,
            },
        )
        return spec

    def open(self, store: Store, spec: dict[str, Any]) -> RowSource:
        fields: list[str] = spec["fields"]
        columns: list[str] = spec["columns"]
        flt = spec["filter"]
        kind, link = spec["kind"], spec["link"]
        if flt["type"] == "updatedAt":
            sql = (
                "SELECT data FROM objects WHERE kind=? AND updatedAt >= ? AND updatedAt <= ? "
                "ORDER BY rowid"
            )
            params: tuple[Any, ...] = (kind, flt["startAt"], flt["endAt"])
        else:
            if flt["type"].startswith("staticList"):
                leads_sql = "SELECT leadId FROM list_members WHERE listId=?"
                leads_param: Any = flt["listId"]
            else:
                leads_sql = "SELECT value FROM json_each(?)"
                leads_param = json.dumps(flt["leadIds"])
            if link["target"] == "lead":
                parents = leads_sql
                path = f"CAST(json_extract(data, '$.{link['field']}') AS INTEGER)"
            else:
                # Company-linked objects reach a lead through the lead's company.
                parents = (
                    f"SELECT json_extract(l.data, '$.{link['targetField']}') FROM leads l "  # noqa: S608
                    f"WHERE l.id IN ({leads_sql})"
                )
                path = f"json_extract(data, '$.{link['field']}')"
            sql = f"SELECT data FROM objects WHERE kind=? AND {path} IN ({parents}) ORDER BY rowid"  # noqa: S608
            params = (kind, leads_param)
        shape = custom_object_shape(self.api_name)
        types = shape.field_types if shape else {}

        def rows() -> Iterator[list[Any]]:
            for row in store.iterate(sql, params):
                data = json.loads(row["data"])
                yield [cell(data.get(f)) for f in columns]

        text = [i for i, f in enumerate(columns) if types.get(f) in TEXT_TYPES]
        return RowSource(fields, rows(), text)


def kind_for(entity: str) -> ExportKind:
    if entity == "leads":
        return LeadsExport()
    if entity == "activities":
        return ActivitiesExport()
    if entity == "program/members":
        return ProgramMembersExport()
    if entity.startswith("customobjects/"):
        return CustomObjectsExport(entity.split("/", 1)[1])
    raise ValueError(entity)


def header_for(columns: list[str], renames: dict[str, str]) -> list[str]:
    return [renames.get(c, c) for c in columns]
