"""Marketo's rules for companies, sales persons, opportunities, roles and custom objects.

One implementation driven by :class:`ObjectType` metadata: sync by dedupe fields or id,
referential checks (1021 on company-type lead fields, 1022 when deleting a parent something
still points at), and the side effects Marketo performs: role changes and opportunity
updates become activities on the leads involved, and company-type fields of linked leads
mirror their company (docs/MARKETO.md section 6).
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain.activities import API_SOURCE, change_data_value
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.activity_types import CHANGE_DATA_VALUE
from marketo_sandbox.model.leads import (
    company_values,
    project_lead,
)
from marketo_sandbox.model.objects import (
    COMPANIES,
    OBJECT_TYPES,
    OPPORTUNITIES,
    OPPORTUNITY_ROLES,
    SALESPERSONS,
    ObjectType,
    lead_links,
)
from marketo_sandbox.model.shared import COMPANY_FIELDS
from marketo_sandbox.profiles import CRM_SYNCED
from marketo_sandbox.store import Store, dedupe_key, dumps
from marketo_sandbox.timestamps import format_datetime, format_ts, parse_datetime, to_epoch

ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")

DEDUPE_BY = ("dedupeFields", "idField")

# On an instance with native Salesforce / Dynamics sync the CRM owns these: Marketo
# serves them read-only and refuses every create, update and delete record by record
# with 1018 "CRM Enabled" (docs/MARKETO.md section 9). Custom objects stay writable.
CRM_OWNED: tuple[ObjectType, ...] = (COMPANIES, OPPORTUNITIES, OPPORTUNITY_ROLES, SALESPERSONS)
CRM_ENABLED = "1018"


def crm_owned_refusal(
    config: SandboxConfig | None, ot: ObjectType, count: int
) -> list[dict[str, Any]] | None:
    """The answer to a write of ``count`` records of ``ot`` when the CRM owns the type
    (profile ``crm-synced``): one 1018 skip per record. None when the write may proceed."""
    if config is None or not config.has_profile(CRM_SYNCED) or ot not in CRM_OWNED:
        return None
    return [envelope.skipped(CRM_ENABLED, seq=seq) for seq in range(count)]


# Standard activity type ids (stable across Marketo instances).
ADD_TO_OPPORTUNITY = 34
REMOVE_FROM_OPPORTUNITY = 35
UPDATE_OPPORTUNITY = 36


def encode_page_token(state: dict[str, Any]) -> str:
    """An opaque token shaped like Marketo's (base32, ``=`` padded)."""
    return base64.b32encode(dumps(state).encode()).decode()


def decode_page_token(token: str | None, scope: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        state = json.loads(base64.b32decode(token.encode(), casefold=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError("1003", f"Invalid nextPageToken '{token}'") from None
    if not isinstance(state, dict) or state.get("s") != scope:
        raise ApiError("1003", f"Invalid nextPageToken '{token}'")
    return state


def existing_lead_ids(store: Store, ids: Iterable[Any]) -> set[int]:
    wanted = sorted({i for i in (as_int(v) for v in ids) if i is not None})
    found: set[int] = set()
    for chunk in _chunks(wanted, 500):
        marks = ",".join("?" * len(chunk))
        rows = store.query(f"SELECT id FROM leads WHERE id IN ({marks})", chunk)  # noqa: S608
        found.update(int(r["id"]) for r in rows)
    return found


def leads_linked_by(store: Store, field_name: str, values: Iterable[str]) -> dict[str, list[int]]:
    """Lead ids whose text field ``data.<field_name>`` is one of ``values`` (one scan)."""
    wanted = sorted({str(v) for v in values if v is not None})
    out: dict[str, list[int]] = {}
    for chunk in _chunks(wanted, 500):
        marks = ",".join("?" * len(chunk))
        rows = store.query(
            f"SELECT id, json_extract(data, '$.{field_name}') AS v FROM leads "  # noqa: S608
            f"WHERE json_extract(data, '$.{field_name}') IN ({marks})",
            chunk,
        )
        for r in rows:
            out.setdefault(str(r["v"]), []).append(int(r["id"]))
    return out


def lead_rows(store: Store, ids: Iterable[int]) -> dict[int, Any]:
    """Lead rows (id, createdAt, updatedAt, data) by id."""
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    for chunk in _chunks(wanted, 500):
        marks = ",".join("?" * len(chunk))
        rows = store.query(
            f"SELECT id, createdAt, updatedAt, data FROM leads WHERE id IN ({marks})",  # noqa: S608
            chunk,
        )
        out.update({int(r["id"]): r for r in rows})
    return out


def render_lead(row: Any, fields: list[str]) -> dict[str, Any]:
    """A lead as lead-database reads return it: every requested field, null when unset."""
    data = json.loads(row["data"])
    data["id"] = int(row["id"])
    data.setdefault("createdAt", row["createdAt"])
    data.setdefault("updatedAt", row["updatedAt"])
    return project_lead(data, fields)


def bulk_log_activities(store: Store, db: Any, activities: list[dict[str, Any]]) -> None:
    """Seed-time :meth:`Store.log_activity` for many rows at once (same documents; ids
    reserved as one block). Each item: leadId, activityTypeId, when (epoch) and the
    optional primaryAttributeValueId, primaryAttributeValue, attributes (dict)."""
    if not activities:
        return
    first = store.next_id("activity", len(activities))
    rows = []
    for n, a in enumerate(activities):
        activity_id = first + n
        date = format_ts(a["when"])
        doc = {
            "id": activity_id,
            "marketoGUID": str(activity_id),
            "leadId": int(a["leadId"]),
            "activityDate": date,
            "activityTypeId": int(a["activityTypeId"]),
            "campaignId": a.get("campaignId"),
            "primaryAttributeValueId": a.get("primaryAttributeValueId"),
            "primaryAttributeValue": a.get("primaryAttributeValue"),
            "attributes": [{"name": k, "value": v} for k, v in (a.get("attributes") or {}).items()],
        }
        rows.append((activity_id, int(a["leadId"]), date, int(a["activityTypeId"]), dumps(doc)))
    db.executemany(
        "INSERT INTO activities(id, leadId, activityDate, activityTypeId, data) VALUES(?,?,?,?,?)",
        rows,
    )


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_TRUE = {"true", "1", "yes", "y", "t"}

_FALSE = {"false", "0", "no", "n", "f"}


def coerce(fdef: dict[str, Any], value: Any) -> Any:
    """A value as Marketo stores a field of ``fdef``'s dataType; ValueError if it is not one."""
    if value is None:
        return None
    data_type = fdef["dataType"]
    if data_type in ("integer", "score"):
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return int(str(value).strip())
    if data_type in ("float", "currency", "percent"):
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError
    if data_type == "date":
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError
        return parsed.strftime("%Y-%m-%d")
    if data_type == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError
        return format_datetime(parsed)
    return str(value) if not isinstance(value, str) else value


def _type_name(fdef: dict[str, Any]) -> str:
    return str(fdef["dataType"])


def _rows(store: Store, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r["data"]) for r in store.query(sql, params)]


def find_by_dkeys(store: Store, ot: ObjectType, dkeys: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(dkeys)), 500):
        marks = ",".join("?" * len(chunk))
        rows = store.query(
            f"SELECT dkey, data FROM objects WHERE kind=? AND dkey IN ({marks})",  # noqa: S608
            [ot.kind, *chunk],
        )
        out.update({r["dkey"]: json.loads(r["data"]) for r in rows})
    return out


def find_by_pks(store: Store, ot: ObjectType, pks: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(pks)), 500):
        marks = ",".join("?" * len(chunk))
        rows = store.query(
            f"SELECT pk, data FROM objects WHERE kind=? AND pk IN ({marks})",  # noqa: S608
            [ot.kind, *chunk],
        )
        out.update({r["pk"]: json.loads(r["data"]) for r in rows})
    return out


def find_by_field(
    store: Store, ot: ObjectType, field_name: str, values: Iterable[str]
) -> list[dict[str, Any]]:
    """Records whose ``field_name`` (compared as text) is one of ``values``."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(sorted({str(v) for v in values}), 500):
        marks = ",".join("?" * len(chunk))
        out.extend(
            _rows(
                store,
                f"SELECT data FROM objects WHERE kind=? AND "  # noqa: S608
                f"CAST(json_extract(data, '$.{field_name}') AS TEXT) IN ({marks}) ORDER BY rowid",
                [ot.kind, *chunk],
            )
        )
    return out


def key_text_value(value: Any) -> str:
    # How SQLite's CAST(json_extract(..) AS TEXT) renders a JSON scalar.
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _put(db: Any, ot: ObjectType, record: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?) "
        "ON CONFLICT(kind, pk) DO UPDATE SET dkey=excluded.dkey, createdAt=excluded.createdAt, "
        "updatedAt=excluded.updatedAt, data=excluded.data",
        (
            ot.kind,
            str(record[ot.id_field]),
            ot.dkey(record),
            record.get("createdAt"),
            record.get("updatedAt"),
            dumps(record),
        ),
    )


class SkipRecord(Exception):  # noqa: N818 - a record-level outcome, not a failure of the call
    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message
        super().__init__(code)


def prepare_record(ot: ObjectType, item: Any) -> dict[str, Any]:
    """An input record with canonical field names and coerced values (or a skip)."""
    if not isinstance(item, dict):
        raise SkipRecord("1003", "Invalid input record")
    out: dict[str, Any] = {}
    for name, value in item.items():
        if name in ("seq", "reasons", "status"):
            continue
        fdef = ot.get_field(name)
        if fdef is None:
            raise SkipRecord("1006", f"Field '{name}' not found")
        try:
            out[fdef["name"]] = coerce(fdef, value)
        except (TypeError, ValueError):
            raise SkipRecord(
                "1001", f"Invalid value '{value}'. Required of type '{_type_name(fdef)}'"
            ) from None
    return out


def _new_pk(store: Store, ot: ObjectType) -> Any:
    if ot.integer_id():
        return store.next_id(ot.kind)
    return str(uuid.uuid4())


def id_item(ot: ObjectType, record: dict[str, Any]) -> dict[str, Any]:
    return {ot.id_field: record[ot.id_field]}


def check_sync_options(action: str, dedupe_by: str) -> None:
    if action not in ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    if dedupe_by not in DEDUPE_BY:
        raise ApiError("1003", f"Invalid dedupeBy '{dedupe_by}'")
    if dedupe_by == "idField" and action != "updateOnly":
        # The idField is system-managed: it can only address records that already exist.
        raise ApiError("1003", "dedupeBy 'idField' is only valid with action 'updateOnly'")


def sync_objects(
    store: Store,
    ot: ObjectType,
    items: list[Any],
    *,
    action: str = "createOrUpdate",
    dedupe_by: str = "dedupeFields",
    config: SandboxConfig | None = None,
) -> list[dict[str, Any]]:
    """Create/update records of ``ot`` as ``POST <object>.json`` does, without a request:
    one result per input, in order (``{"seq", "status": "created"|"updated", <idField>}``
    or a skip). Raises ApiError for request-level problems (bad action / dedupeBy). All
    inputs are written in one transaction, with Marketo's side effects (activities of
    role and opportunity changes, company fields mirrored onto linked leads)."""
    check_sync_options(action, dedupe_by)
    refused = crm_owned_refusal(config, ot, len(items))
    if refused is not None:
        return refused

    now = store.now_ts()
    prepared: list[dict[str, Any] | SkipRecord] = []
    for item in items:
        try:
            prepared.append(prepare_record(ot, item))
        except SkipRecord as skip:
            prepared.append(skip)

    key_fields = ot.dedupe_fields if dedupe_by == "dedupeFields" else (ot.id_field,)
    keys: list[str | None] = []
    for rec in prepared:
        if isinstance(rec, SkipRecord):
            keys.append(None)
            continue
        missing = [f for f in key_fields if rec.get(f) in (None, "")]
        keys.append(None if missing else (
            ot.dkey(rec) if dedupe_by == "dedupeFields" else str(rec[ot.id_field])
        ))
    lookup = find_by_dkeys if dedupe_by == "dedupeFields" else find_by_pks
    existing = lookup(store, ot, (k for k in keys if k is not None))
    checker = _LinkChecker(store, ot, [r for r in prepared if isinstance(r, dict)])

    results: list[dict[str, Any]] = []
    effects = _Effects(ot, now)
    seen_keys: set[str] = set()
    with store.transaction() as db:
        for seq, (rec, key) in enumerate(zip(prepared, keys, strict=True)):
            try:
                if isinstance(rec, SkipRecord):
                    raise rec
                if key is None:
                    absent = next(f for f in key_fields if rec.get(f) in (None, ""))
                    raise SkipRecord("1003", f"Value for required field '{absent}' not specified")
                if key in seen_keys:
                    raise SkipRecord("1036", "Duplicate object found in input")
                seen_keys.add(key)
                current = existing.get(key)
                if current is None:
                    if action == "updateOnly":
                        raise SkipRecord("1013", "Object not found")
                    record = _create(store, ot, rec, checker, now)
                    existing[key] = record
                    _put(db, ot, record)
                    effects.created(record)
                    results.append({"seq": seq, "status": "created", **id_item(ot, record)})
                else:
                    if action == "createOnly":
                        raise SkipRecord("1017", "Object already exists")
                    record, changes = _update(ot, current, rec, checker, now)
                    if changes:
                        existing[key] = record
                        _put(db, ot, record)
                        effects.updated(record, current, changes)
                    results.append({"seq": seq, "status": "updated", **id_item(ot, record)})
            except SkipRecord as skip:
                results.append(envelope.skipped(skip.code, skip.message, seq=seq))
        effects.apply(store, db)
    return results


def _create(
    store: Store, ot: ObjectType, rec: dict[str, Any], checker: _LinkChecker, now: str
) -> dict[str, Any]:
    for name in ot.required_on_create:
        if rec.get(name) in (None, ""):
            raise SkipRecord("1003", f"Value for required field '{name}' not specified")
    checker.check(rec, rec.keys())
    record = {k: v for k, v in rec.items() if k not in (ot.id_field, "createdAt", "updatedAt")}
    record = {k: v for k, v in record.items() if v is not None}
    record[ot.id_field] = _new_pk(store, ot)
    if ot is OPPORTUNITIES:
        # Activities point at an opportunity by an integer id (primaryAttributeValueId).
        record["_oid"] = store.next_id("opportunity_activity_id")
    record["createdAt"] = now
    record["updatedAt"] = now
    return record


def _update(
    ot: ObjectType,
    current: dict[str, Any],
    rec: dict[str, Any],
    checker: _LinkChecker,
    now: str,
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in rec.items():
        fdef = ot.get_field(name)
        # Keys and system fields are not updateable; Marketo ignores them on update.
        if fdef is None or not fdef["updateable"] or name in ot.dedupe_fields:
            continue
        if current.get(name) != value:
            changes[name] = (current.get(name), value)
    if not changes:
        return current, {}
    checker.check(rec, changes.keys())
    record = dict(current)
    for name, (_old, new) in changes.items():
        if new is None:
            record.pop(name, None)
        else:
            record[name] = new
    record["updatedAt"] = now
    return record, changes


class _LinkChecker:
    """Whether the records an input links to exist (one query per link per call)."""

    def __init__(self, store: Store, ot: ObjectType, records: list[dict[str, Any]]) -> None:
        self.ot = ot
        self.present: dict[str, set[str]] = {}
        for link in ot.links:
            values = {
                key_text_value(r[link.field]) for r in records if r.get(link.field) is not None
            }
            if link.target == "lead":
                self.present[link.field] = {str(i) for i in existing_lead_ids(store, values)}
            else:
                target = OBJECT_TYPES[link.target]
                found = find_by_dkeys(store, target, (dedupe_key([v]) for v in values))
                self.present[link.field] = {
                    key_text_value(r.get(link.target_field)) for r in found.values()
                }

    def check(self, rec: dict[str, Any], names: Iterable[str]) -> None:
        names = set(names)
        for link in self.ot.links:
            if link.field not in names or rec.get(link.field) is None:
                continue
            if key_text_value(rec[link.field]) not in self.present[link.field]:
                if link.target == "lead":
                    raise SkipRecord("1004", "Lead not found")
                target = OBJECT_TYPES[link.target]
                raise SkipRecord("1013", f"{target.display_name} not found")


class _Effects:
    """Marketo's side effects of a sync call, applied once the records are written."""

    def __init__(self, ot: ObjectType, now: str) -> None:
        self.ot = ot
        self.now = now
        self.new_roles: list[dict[str, Any]] = []
        self.opportunity_changes: list[tuple[dict[str, Any], dict[str, tuple[Any, Any]]]] = []
        self.companies: list[dict[str, Any]] = []

    def created(self, record: dict[str, Any]) -> None:
        if self.ot is OPPORTUNITY_ROLES:
            self.new_roles.append(record)
        elif self.ot is COMPANIES:
            self.companies.append(record)

    def updated(
        self, record: dict[str, Any], _old: dict[str, Any], changes: dict[str, tuple[Any, Any]]
    ) -> None:
        if self.ot is OPPORTUNITIES:
            self.opportunity_changes.append((record, changes))
        elif self.ot is COMPANIES and any(f in COMPANY_FIELDS for f in changes):
            self.companies.append(record)

    def apply(self, store: Store, db: Any) -> None:
        if self.new_roles:
            opps = opportunities_by_external_id(
                store, (r["externalOpportunityId"] for r in self.new_roles)
            )
            for role in self.new_roles:
                opp = opps.get(role["externalOpportunityId"])
                log_role_activity(store, ADD_TO_OPPORTUNITY, role, opp)
        if self.opportunity_changes:
            ext_ids = [o["externalOpportunityId"] for o, _ in self.opportunity_changes]
            roles = find_by_field(store, OPPORTUNITY_ROLES, "externalOpportunityId", ext_ids)
            for opp, changes in self.opportunity_changes:
                leads = sorted({
                    int(r["leadId"]) for r in roles
                    if r["externalOpportunityId"] == opp["externalOpportunityId"]
                })
                for lead_id in leads:
                    for name, (old, new) in changes.items():
                        store.log_activity(
                            lead_id,
                            UPDATE_OPPORTUNITY,
                            primary_attribute_value_id=opp.get("_oid"),
                            primary_attribute_value=opp.get("name"),
                            attributes={
                                "Opportunity ID": opp["externalOpportunityId"],
                                "Field Name": name,
                                "New Value": None if new is None else str(new),
                                "Old Value": None if old is None else str(old),
                            },
                        )
        if self.companies:
            mirror_companies_to_leads(store, db, self.companies, self.now)


def opportunities_by_external_id(store: Store, ext_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    found = find_by_dkeys(store, OPPORTUNITIES, (dedupe_key([e]) for e in ext_ids))
    return {o["externalOpportunityId"]: o for o in found.values()}


def role_activity_fields(
    role: dict[str, Any], opportunity: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "primaryAttributeValueId": (opportunity or {}).get("_oid"),
        "primaryAttributeValue": (opportunity or {}).get("name"),
        "attributes": {
            "Opportunity ID": role["externalOpportunityId"],
            "Role": role["role"],
            "Is Primary": bool(role.get("isPrimary", False)),
        },
    }


def log_role_activity(
    store: Store, type_id: int, role: dict[str, Any], opportunity: dict[str, Any] | None
) -> None:
    """Add to / Remove from Opportunity on the role's lead (primary attribute: the opportunity)."""
    fields = role_activity_fields(role, opportunity)
    store.log_activity(
        int(role["leadId"]),
        type_id,
        primary_attribute_value_id=fields["primaryAttributeValueId"],
        primary_attribute_value=fields["primaryAttributeValue"],
        attributes=fields["attributes"],
    )


def mirror_companies_to_leads(
    store: Store, db: Any, companies: list[dict[str, Any]], now: str
) -> int:
    """Copy company-type fields onto the leads linked to each company (Marketo shows a
    linked lead's company fields from its company record). A lead whose values change
    gets a new ``updatedAt`` and one Change Data Value (13) per changed field, like every
    other change of a lead's values: a reader that finds changed leads in the activity
    log (subscriptions without the bulk updatedAt filter) must see it. Returns leads
    touched."""
    by_ext = {c["externalCompanyId"]: c for c in companies}
    linked = leads_linked_by(store, "externalCompanyId", by_ext)
    when = to_epoch(now)
    touched = 0
    for ext, lead_ids in linked.items():
        values = company_values(by_ext[ext])
        for chunk in _chunks(lead_ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT id, data FROM leads WHERE id IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall()
            for row in rows:
                data = json.loads(row["data"])
                changes = [
                    (name, data.get(name), value)
                    for name, value in values.items()
                    if data.get(name) != value
                ]
                if not changes:
                    continue
                for name, _, value in changes:
                    # An empty company field is absent on its leads, as lead sync stores it.
                    if value is None:
                        data.pop(name, None)
                    else:
                        data[name] = value
                data["updatedAt"] = now
                db.execute(
                    "UPDATE leads SET data=?, updatedAt=? WHERE id=?",
                    (dumps(data), now, row["id"]),
                )
                for name, old, value in changes:
                    store.log_activity(
                        int(row["id"]),
                        CHANGE_DATA_VALUE,
                        when=when,
                        **change_data_value(
                            name, old, value, Reason="Company record updated", Source=API_SOURCE
                        ),
                    )
                touched += 1
    return touched


def objects_in_use(store: Store, ot: ObjectType, records: list[dict[str, Any]]) -> dict[str, str]:
    """pk -> why Marketo refuses to delete it (1022): parents go after their children."""
    if not records:
        return {}
    out: dict[str, str] = {}

    def mark(field_name: str, values: set[str], why: str) -> None:
        for r in records:
            if key_text_value(r.get(field_name)) in values:
                out.setdefault(str(r[ot.id_field]), why)

    if ot is OPPORTUNITIES:
        ext = [r["externalOpportunityId"] for r in records]
        roles = find_by_field(store, OPPORTUNITY_ROLES, "externalOpportunityId", ext)
        mark(
            "externalOpportunityId",
            {key_text_value(r["externalOpportunityId"]) for r in roles},
            "Object in use: opportunity has opportunity roles",
        )
    elif ot is COMPANIES:
        ext = [r["externalCompanyId"] for r in records]
        mark("externalCompanyId", set(leads_linked_by(store, "externalCompanyId", ext)),
             "Object in use: company has leads")
    elif ot is SALESPERSONS:
        ext = [r["externalSalesPersonId"] for r in records]
        mark("externalSalesPersonId", set(leads_linked_by(store, "externalSalesPersonId", ext)),
             "Object in use: sales person owns leads")
        for parent in (COMPANIES, OPPORTUNITIES):
            owners = find_by_field(store, parent, "externalSalesPersonId", ext)
            mark(
                "externalSalesPersonId",
                {key_text_value(o["externalSalesPersonId"]) for o in owners},
                f"Object in use: sales person owns {parent.name}",
            )
    return out


def delete_objects(
    store: Store,
    ot: ObjectType,
    items: list[Any],
    delete_by: str,
    config: SandboxConfig | None = None,
) -> list[dict[str, Any]]:
    """Delete records as ``POST .../delete.json`` does; one result per item, in order.

    A record something still points at is refused with 1022 (docs/MARKETO.md section 6):
    parents go after their children. Removing an opportunity role logs Remove from
    Opportunity on its lead.
    """
    refused = crm_owned_refusal(config, ot, len(items))
    if refused is not None:
        return refused
    key_fields = ot.dedupe_fields if delete_by == "dedupeFields" else (ot.id_field,)

    keys: list[str | SkipRecord] = []
    for item in items:
        try:
            rec = prepare_record(ot, item)
            missing = [f for f in key_fields if rec.get(f) in (None, "")]
            if missing:
                raise SkipRecord("1003", f"Value for required field '{missing[0]}' not specified")
            keys.append(ot.dkey(rec) if delete_by == "dedupeFields" else str(rec[ot.id_field]))
        except SkipRecord as skip:
            keys.append(skip)
    lookup = find_by_dkeys if delete_by == "dedupeFields" else find_by_pks
    existing = lookup(store, ot, (k for k in keys if isinstance(k, str)))
    in_use = objects_in_use(store, ot, list(existing.values()))

    results: list[dict[str, Any]] = []
    removed_roles: list[dict[str, Any]] = []
    with store.transaction() as db:
        for seq, key in enumerate(keys):
            if isinstance(key, SkipRecord):
                results.append(envelope.skipped(key.code, key.message, seq=seq))
                continue
            record = existing.pop(key, None)
            if record is None:
                results.append(envelope.skipped("1013", "Record not found", seq=seq))
                continue
            pk = str(record[ot.id_field])
            if pk in in_use:
                results.append(envelope.skipped("1022", in_use[pk], seq=seq))
                continue
            db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (ot.kind, pk))
            if ot is OPPORTUNITY_ROLES:
                removed_roles.append(record)
            results.append({"seq": seq, "status": "deleted", **id_item(ot, record)})
        if removed_roles:
            opps = opportunities_by_external_id(
                store, (r["externalOpportunityId"] for r in removed_roles)
            )
            for role in removed_roles:
                opp = opps.get(role["externalOpportunityId"])
                log_role_activity(store, REMOVE_FROM_OPPORTUNITY, role, opp)
    return results


def _linked_to_leads(
    db: sqlite3.Connection, ot: ObjectType, field_name: str, lead_ids: Iterable[int]
) -> list[tuple[str, dict[str, Any]]]:
    """(pk, record) of every ``ot`` record whose ``field_name`` names one of the leads."""
    out: list[tuple[str, dict[str, Any]]] = []
    for chunk in _chunks(sorted({str(int(i)) for i in lead_ids}), 500):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT pk, data FROM objects WHERE kind=? AND "  # noqa: S608
            f"CAST(json_extract(data, '$.{field_name}') AS TEXT) IN ({marks}) ORDER BY rowid",
            [ot.kind, *chunk],
        )
        out.extend((str(r["pk"]), json.loads(r["data"])) for r in rows)
    return out


def on_lead_deleted(store: Store, db: sqlite3.Connection, lead_ids: Iterable[int]) -> int:
    """Delete every record that points at one of these (deleted) leads: custom object
    records of lead-linked types (Marketo deletes them with their lead) and opportunity
    roles (every ``model.objects.lead_links()`` type). Call inside the delete's
    transaction, once per call with all the ids (one scan per linked type); returns the
    number of records deleted."""
    ids = list(lead_ids)
    deleted = 0
    if not ids:
        return 0
    for ot, field_name in lead_links():
        for pk, _record in _linked_to_leads(db, ot, field_name, ids):
            deleted += db.execute(
                "DELETE FROM objects WHERE kind=? AND pk=?", (ot.kind, pk)
            ).rowcount
    return deleted


def on_leads_merged(
    store: Store,
    db: sqlite3.Connection,
    winner_id: int,
    loser_ids: Iterable[int],
    *,
    now: str | None = None,
) -> int:
    """Re-point every record linked to a losing lead at the winner (every
    ``model.objects.lead_links()`` type: lead-linked custom objects, opportunity roles).
    A record whose dedupe key follows the lead (a role: opportunity + lead + role) and
    would then duplicate one the winner already has is dropped instead. ``updatedAt``
    becomes ``now`` (default: the store's clock). Call inside the merge's transaction;
    returns the number of records moved."""
    losers = [int(i) for i in loser_ids if int(i) != int(winner_id)]
    if not losers:
        return 0
    stamp = now or store.now_ts()
    moved = 0
    for ot, field_name in lead_links():
        for pk, record in _linked_to_leads(db, ot, field_name, losers):
            record[field_name] = int(winner_id)
            record["updatedAt"] = stamp
            dkey = ot.dkey(record)
            clash = db.execute(
                "SELECT 1 FROM objects WHERE kind=? AND dkey=? AND pk<>?", (ot.kind, dkey, pk)
            ).fetchone()
            if clash:
                db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (ot.kind, pk))
                continue
            db.execute(
                "UPDATE objects SET dkey=?, updatedAt=?, data=? WHERE kind=? AND pk=?",
                (dkey, stamp, dumps(record), ot.kind, pk),
            )
            moved += 1
    return moved


# -- custom object types ----------------------------------------------------------------

# Where the store keeps when each custom object type was defined (name -> createdAt).
KIND_TYPE_CREATED = "object_type_created"


def set_type_created(store: Store, ot: ObjectType, created_at: str) -> None:
    """Record when a custom object type was defined: its describe's ``createdAt``. No
    record of the type is older (Marketo accepts records only for a defined type)."""
    store.doc_put(KIND_TYPE_CREATED, ot.name, {"createdAt": created_at})


def described_type(store: Store, ot: ObjectType, *, fields: bool = True) -> dict[str, Any]:
    """A type's describe (``fields``) or list entry, with the ``createdAt`` recorded for
    it (seeded instances define their types when their data begins)."""
    out = ot.describe() if fields else ot.summary()
    if ot.is_custom:
        recorded = store.doc_get(KIND_TYPE_CREATED, ot.name)
        if recorded and recorded.get("createdAt"):
            out["createdAt"] = recorded["createdAt"]
    return out
