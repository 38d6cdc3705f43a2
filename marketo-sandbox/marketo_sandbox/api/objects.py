"""Companies, sales persons, opportunities, opportunity roles and custom objects.

Marketo serves all of them with one pattern (describe / read by filter / sync / delete),
so the sandbox has ONE implementation driven by :class:`ObjectType` metadata. Per-type
behaviour is data (links to check, fields required on create) plus a few side effects
Marketo performs: role changes and opportunity updates become activities on the leads
involved, and company-type fields of linked leads mirror their company.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.api.control import ground_truth
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.leads import (
    company_values,
    project_lead,
    resolve_read_fields,
)
from marketo_sandbox.model.objects import (
    COMPANIES,
    OBJECT_TYPES,
    OPPORTUNITIES,
    OPPORTUNITY_ROLES,
    SALESPERSONS,
    ObjectType,
    custom_object_type,
    custom_object_types,
    format_datetime,
    lead_links,
    parse_datetime,
)
from marketo_sandbox.model.shared import COMPANY_FIELDS
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store, dedupe_key, dumps, format_ts

ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")
DEDUPE_BY = ("dedupeFields", "idField")

# Standard activity type ids (stable across Marketo instances).
ADD_TO_OPPORTUNITY = 34
REMOVE_FROM_OPPORTUNITY = 35
UPDATE_OPPORTUNITY = 36


# -- paging tokens (shared by the lead-database reads of this area) -------------------


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


# -- leads (owned by the lead database; read here for links and side effects) ---------


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


def lead_fields_arg(ctx: Ctx) -> list[str]:
    """``fields`` of a lead read (lists, programs): lead field names, ``id`` first; without
    it Adobe returns email, updatedAt, createdAt, lastName, firstName and id."""
    return resolve_read_fields(ctx.list_arg("fields"))


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


# -- values --------------------------------------------------------------------------

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


# -- lookups -------------------------------------------------------------------------


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


def _text(value: Any) -> str:
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


# -- handlers ------------------------------------------------------------------------


def describe(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    return envelope.ok([ot.describe()])


def _field_list(ot: ObjectType, raw: Any) -> list[str] | None:
    if not raw:
        return None
    names: list[str] = []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    for item in items:
        for part in str(item).split(","):
            name = part.strip()
            if not name:
                continue
            canonical = ot.canonical(name)
            if canonical is None:
                raise ApiError("1006", f"Field '{name}' not found")
            if canonical not in names:
                names.append(canonical)
    return names or None


def _filter_key(ot: ObjectType, filter_type: str) -> tuple[str, ...]:
    if filter_type == "dedupeFields":
        return ot.dedupe_fields
    if filter_type == "idField":
        return (ot.id_field,)
    canonical = ot.canonical(filter_type)
    if canonical is not None and (canonical,) in ot.searchable_fields:
        return (canonical,)
    if canonical in (ot.id_field, *ot.dedupe_fields) and len(ot.dedupe_fields) == 1:
        return (canonical,)
    raise ApiError("1003", f"Invalid filterType '{filter_type}'")


def _json_body(ctx: Ctx) -> Any:
    if ctx.request.mimetype == "application/x-www-form-urlencoded":
        return None
    return ctx.json(required=False)


def read(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = _json_body(ctx)
    compound = isinstance(body, dict) and isinstance(body.get("input"), list)
    if compound:
        filter_type = str(body.get("filterType") or ctx.arg("filterType") or "dedupeFields")
        fields = _field_list(ot, body.get("fields") or ctx.list_arg("fields"))
        batch = as_int(body.get("batchSize")) or ctx.batch_size()
        token = body.get("nextPageToken") or ctx.arg("nextPageToken")
        key = _filter_key(ot, filter_type)
        values: list[tuple[Any, ...]] = []
        for item in body["input"]:
            if not isinstance(item, dict):
                raise ApiError("1003", "Each input must be an object")
            picked = {}
            for k, v in item.items():
                canonical = ot.canonical(k)
                if canonical is not None:
                    picked[canonical] = v
            missing = [f for f in key if picked.get(f) in (None, "")]
            if missing:
                raise ApiError("1003", f"Value for required field '{missing[0]}' not specified")
            values.append(tuple(picked[f] for f in key))
    else:
        filter_type = ctx.require("filterType")
        key = _filter_key(ot, filter_type)
        if len(key) > 1:
            # Compound keys cannot travel in a comma list: Marketo wants the JSON body.
            raise ApiError("1003", "Compound key lookups require a JSON body with 'input'")
        raw_values = ctx.list_arg("filterValues")
        if not raw_values:
            raise ApiError("1003", "filterValues cannot be blank")
        values = [(v,) for v in raw_values]
        fields = _field_list(ot, ctx.list_arg("fields"))
        batch = ctx.batch_size()
        token = ctx.arg("nextPageToken")
    if len(values) > ctx.config.max_filter_values:
        raise ApiError("1003", f"Number of filter values exceeds {ctx.config.max_filter_values}")
    batch = max(1, min(batch, ctx.config.max_batch_size))
    state = decode_page_token(token, ot.kind)
    offset = int(state.get("o", 0)) if state else 0

    matches = _match(ctx.store, ot, key, values)
    page = matches[offset : offset + batch]
    result = [{"seq": seq, **ot.render(record, fields)} for seq, record in page]
    extra: dict[str, Any] = {}
    more = offset + batch < len(matches)
    if more:
        extra["nextPageToken"] = encode_page_token({"s": ot.kind, "o": offset + batch})
    if ot is not COMPANIES:  # ResponseOfCompany is the only one without moreResult
        extra["moreResult"] = more
    return envelope.ok(result, **extra)


def _key_text(ot: ObjectType, key: tuple[str, ...], value: tuple[Any, ...]) -> tuple[str, ...]:
    out = []
    for name, raw in zip(key, value, strict=True):
        fdef = ot.get_field(name)
        try:
            typed = coerce(fdef, raw) if fdef else raw
        except (TypeError, ValueError):
            typed = raw
        out.append(_text(typed))
    return tuple(out)


def _match(
    store: Store, ot: ObjectType, key: tuple[str, ...], values: list[tuple[Any, ...]]
) -> list[tuple[int, dict[str, Any]]]:
    """(seq, record) for every record matching a filter value, in filter-value order."""
    texts = [_key_text(ot, key, v) for v in values]
    by_value: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    if key == ot.dedupe_fields:
        found = find_by_dkeys(store, ot, (dedupe_key(t) for t in texts))
        for t in texts:
            record = found.get(dedupe_key(t))
            by_value[t] = [record] if record else []
    elif key == (ot.id_field,):
        found = find_by_pks(store, ot, (t[0] for t in texts))
        for t in texts:
            record = found.get(t[0])
            by_value[t] = [record] if record else []
    else:
        for record in find_by_field(store, ot, key[0], (t[0] for t in texts)):
            by_value.setdefault((_text(record.get(key[0])),), []).append(record)
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for seq, t in enumerate(texts):
        for record in by_value.get(t, []):
            pk = str(record[ot.id_field])
            if pk not in seen:
                seen.add(pk)
                out.append((seq, record))
    return out


class _Skip(Exception):  # noqa: N818 - a record-level outcome, not a failure of the call
    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message
        super().__init__(code)


def _prepare(ot: ObjectType, item: Any) -> dict[str, Any]:
    """An input record with canonical field names and coerced values (or a skip)."""
    if not isinstance(item, dict):
        raise _Skip("1003", "Invalid input record")
    out: dict[str, Any] = {}
    for name, value in item.items():
        if name in ("seq", "reasons", "status"):
            continue
        fdef = ot.get_field(name)
        if fdef is None:
            raise _Skip("1006", f"Field '{name}' not found")
        try:
            out[fdef["name"]] = coerce(fdef, value)
        except (TypeError, ValueError):
            raise _Skip(
                "1001", f"Invalid value '{value}'. Required of type '{_type_name(fdef)}'"
            ) from None
    return out


def _new_pk(store: Store, ot: ObjectType) -> Any:
    if ot.integer_id():
        return store.next_id(ot.kind)
    return str(uuid.uuid4())


def _id_item(ot: ObjectType, record: dict[str, Any]) -> dict[str, Any]:
    return {ot.id_field: record[ot.id_field]}


def _check_sync_options(action: str, dedupe_by: str) -> None:
    if action not in ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    if dedupe_by not in DEDUPE_BY:
        raise ApiError("1003", f"Invalid dedupeBy '{dedupe_by}'")
    if dedupe_by == "idField" and action != "updateOnly":
        # The idField is system-managed: it can only address records that already exist.
        raise ApiError("1003", "dedupeBy 'idField' is only valid with action 'updateOnly'")


def sync(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = ctx.body()
    action = body.get("action") or "createOrUpdate"
    dedupe_by = body.get("dedupeBy") or "dedupeFields"
    _check_sync_options(action, dedupe_by)
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    return envelope.ok(sync_objects(ctx.store, ot, items, action=action, dedupe_by=dedupe_by))


def sync_objects(
    store: Store,
    ot: ObjectType,
    items: list[Any],
    *,
    action: str = "createOrUpdate",
    dedupe_by: str = "dedupeFields",
) -> list[dict[str, Any]]:
    """Create/update records of ``ot`` as ``POST <object>.json`` does, without a request:
    one result per input, in order (``{"seq", "status": "created"|"updated", <idField>}``
    or a skip). Raises ApiError for request-level problems (bad action / dedupeBy). All
    inputs are written in one transaction, with Marketo's side effects (activities of
    role and opportunity changes, company fields mirrored onto linked leads)."""
    _check_sync_options(action, dedupe_by)

    now = store.now_ts()
    prepared: list[dict[str, Any] | _Skip] = []
    for item in items:
        try:
            prepared.append(_prepare(ot, item))
        except _Skip as skip:
            prepared.append(skip)

    key_fields = ot.dedupe_fields if dedupe_by == "dedupeFields" else (ot.id_field,)
    keys: list[str | None] = []
    for rec in prepared:
        if isinstance(rec, _Skip):
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
                if isinstance(rec, _Skip):
                    raise rec
                if key is None:
                    absent = next(f for f in key_fields if rec.get(f) in (None, ""))
                    raise _Skip("1003", f"Value for required field '{absent}' not specified")
                if key in seen_keys:
                    raise _Skip("1036", "Duplicate object found in input")
                seen_keys.add(key)
                current = existing.get(key)
                if current is None:
                    if action == "updateOnly":
                        raise _Skip("1013", "Object not found")
                    record = _create(store, ot, rec, checker, now)
                    existing[key] = record
                    _put(db, ot, record)
                    effects.created(record)
                    results.append({"seq": seq, "status": "created", **_id_item(ot, record)})
                else:
                    if action == "createOnly":
                        raise _Skip("1017", "Object already exists")
                    record, changes = _update(ot, current, rec, checker, now)
                    if changes:
                        existing[key] = record
                        _put(db, ot, record)
                        effects.updated(record, current, changes)
                    results.append({"seq": seq, "status": "updated", **_id_item(ot, record)})
            except _Skip as skip:
                results.append(envelope.skipped(skip.code, skip.message, seq=seq))
        effects.apply(store, db)
    return results


def _create(
    store: Store, ot: ObjectType, rec: dict[str, Any], checker: _LinkChecker, now: str
) -> dict[str, Any]:
    for name in ot.required_on_create:
        if rec.get(name) in (None, ""):
            raise _Skip("1003", f"Value for required field '{name}' not specified")
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
            values = {_text(r[link.field]) for r in records if r.get(link.field) is not None}
            if link.target == "lead":
                self.present[link.field] = {str(i) for i in existing_lead_ids(store, values)}
            else:
                target = OBJECT_TYPES[link.target]
                found = find_by_dkeys(store, target, (dedupe_key([v]) for v in values))
                self.present[link.field] = {
                    _text(r.get(link.target_field)) for r in found.values()
                }

    def check(self, rec: dict[str, Any], names: Iterable[str]) -> None:
        names = set(names)
        for link in self.ot.links:
            if link.field not in names or rec.get(link.field) is None:
                continue
            if _text(rec[link.field]) not in self.present[link.field]:
                if link.target == "lead":
                    raise _Skip("1004", "Lead not found")
                target = OBJECT_TYPES[link.target]
                raise _Skip("1013", f"{target.display_name} not found")


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


def _role_activity_fields(
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
    fields = _role_activity_fields(role, opportunity)
    store.log_activity(
        int(role["leadId"]),
        type_id,
        primary_attribute_value_id=fields["primaryAttributeValueId"],
        primary_attribute_value=fields["primaryAttributeValue"],
        attributes=fields["attributes"],
    )


def _epoch(ts: str) -> float:
    parsed = parse_datetime(ts)
    assert parsed is not None
    return parsed.timestamp()


def mirror_companies_to_leads(
    store: Store, db: Any, companies: list[dict[str, Any]], now: str
) -> int:
    """Copy company-type fields onto the leads linked to each company (Marketo shows a
    linked lead's company fields from its company record). Returns leads touched."""
    by_ext = {c["externalCompanyId"]: c for c in companies}
    linked = leads_linked_by(store, "externalCompanyId", by_ext)
    touched = 0
    for ext, lead_ids in linked.items():
        company = by_ext[ext]
        paths: list[str] = []
        params: list[Any] = []
        cleared: list[str] = []
        for name in COMPANY_FIELDS:
            if company.get(name) is None:
                # An empty company field is absent on its leads, as lead sync stores it.
                cleared.append(f"'$.{name}'")
            else:
                paths.append(f"'$.{name}', json(?)")
                params.append(json.dumps(company[name]))
        set_expr = "json_set(data, " + ", ".join([*paths, "'$.updatedAt', ?"]) + ")"
        if cleared:
            set_expr = f"json_remove({set_expr}, {', '.join(cleared)})"
        for chunk in _chunks(lead_ids, 500):
            marks = ",".join("?" * len(chunk))
            cur = db.execute(
                f"UPDATE leads SET data={set_expr}, updatedAt=? WHERE id IN ({marks})",  # noqa: S608
                [*params, now, now, *chunk],
            )
            touched += cur.rowcount
    return touched


def delete(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = ctx.body()
    delete_by = body.get("deleteBy") or "dedupeFields"
    if delete_by not in DEDUPE_BY:
        raise ApiError("1003", f"Invalid deleteBy '{delete_by}'")
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    key_fields = ot.dedupe_fields if delete_by == "dedupeFields" else (ot.id_field,)

    keys: list[str | _Skip] = []
    for item in items:
        try:
            rec = _prepare(ot, item)
            missing = [f for f in key_fields if rec.get(f) in (None, "")]
            if missing:
                raise _Skip("1003", f"Value for required field '{missing[0]}' not specified")
            keys.append(ot.dkey(rec) if delete_by == "dedupeFields" else str(rec[ot.id_field]))
        except _Skip as skip:
            keys.append(skip)
    lookup = find_by_dkeys if delete_by == "dedupeFields" else find_by_pks
    existing = lookup(ctx.store, ot, (k for k in keys if isinstance(k, str)))
    in_use = _in_use(ctx.store, ot, list(existing.values()))

    results: list[dict[str, Any]] = []
    removed_roles: list[dict[str, Any]] = []
    with ctx.store.transaction() as db:
        for seq, key in enumerate(keys):
            if isinstance(key, _Skip):
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
            results.append({"seq": seq, "status": "deleted", **_id_item(ot, record)})
        if removed_roles:
            opps = opportunities_by_external_id(
                ctx.store, (r["externalOpportunityId"] for r in removed_roles)
            )
            for role in removed_roles:
                opp = opps.get(role["externalOpportunityId"])
                log_role_activity(ctx.store, REMOVE_FROM_OPPORTUNITY, role, opp)
    return envelope.ok(results)


def _in_use(store: Store, ot: ObjectType, records: list[dict[str, Any]]) -> dict[str, str]:
    """pk -> why Marketo refuses to delete it (1022): parents go after their children."""
    if not records:
        return {}
    out: dict[str, str] = {}

    def mark(field_name: str, values: set[str], why: str) -> None:
        for r in records:
            if _text(r.get(field_name)) in values:
                out.setdefault(str(r[ot.id_field]), why)

    if ot is OPPORTUNITIES:
        ext = [r["externalOpportunityId"] for r in records]
        roles = find_by_field(store, OPPORTUNITY_ROLES, "externalOpportunityId", ext)
        mark("externalOpportunityId", {_text(r["externalOpportunityId"]) for r in roles},
             "Object in use: opportunity has opportunity roles")
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
            mark("externalSalesPersonId", {_text(o["externalSalesPersonId"]) for o in owners},
                 f"Object in use: sales person owns {parent.name}")
    return out


# -- leads going away (called by the lead database on delete and merge) ----------------


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


# -- routes --------------------------------------------------------------------------


def _bind(fn: Callable[[Ctx, ObjectType], Any], ot: ObjectType) -> Callable[..., Any]:
    def handler(ctx: Ctx) -> Any:
        return fn(ctx, ot)

    handler.__name__ = f"{fn.__name__}_{ot.name}"
    return handler


def _custom(fn: Callable[[Ctx, ObjectType], Any]) -> Callable[..., Any]:
    def handler(ctx: Ctx, name: str) -> Any:
        ot = custom_object_type(name)
        if ot is None:
            raise ApiError("1003", f"Invalid custom object type '{name}'")
        return fn(ctx, ot)

    handler.__name__ = f"{fn.__name__}_custom"
    return handler


for _ot in (COMPANIES, SALESPERSONS, OPPORTUNITIES, OPPORTUNITY_ROLES):
    router.route(f"{_ot.path}/describe.json", ("GET",))(_bind(describe, _ot))
    router.route(f"{_ot.path}.json", ("GET",))(_bind(read, _ot))
    router.route(f"{_ot.path}.json", ("POST",))(_bind(sync, _ot))
    router.route(f"{_ot.path}/delete.json", ("POST",))(_bind(delete, _ot))

router.route("/rest/v1/customobjects/<name>/describe.json", ("GET",))(_custom(describe))
router.route("/rest/v1/customobjects/<name>.json", ("GET",))(_custom(read))
router.route("/rest/v1/customobjects/<name>.json", ("POST",))(_custom(sync))
router.route("/rest/v1/customobjects/<name>/delete.json", ("POST",))(_custom(delete))


@router.route("/rest/v1/customobjects.json", ("GET",))
def list_custom_objects(ctx: Ctx) -> dict[str, Any]:
    names = set(ctx.list_arg("names"))
    return envelope.ok(
        [t.summary() for t in custom_object_types() if not names or t.name in names]
    )


# -- ground truth --------------------------------------------------------------------


def _truth(ot: ObjectType) -> Callable[[Store], Iterator[dict[str, Any]]]:
    def provider(store: Store) -> Iterator[dict[str, Any]]:
        for record in store.objects(ot.kind):
            yield ot.render(record, ot.field_names)

    return provider


for _ot in OBJECT_TYPES.values():
    ground_truth(_ot.kind)(_truth(_ot))


# -- seed ----------------------------------------------------------------------------

_WORDS_A = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
    "Hooli", "Vandelay", "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive", "Dunder", "Pied",
    "Blue Sun", "Monarch", "Nakatomi", "Virtucon", "Zorg", "Ollivander", "Octan", "Bluth",
)
_WORDS_B = (
    "Industries", "Systems", "Labs", "Holdings", "Dynamics", "Logistics", "Analytics", "Foods",
    "Partners", "Networks", "Robotics", "Energy", "Media", "Health", "Capital", "Software",
)
_INDUSTRIES = (
    "Software", "Manufacturing", "Healthcare", "Retail", "Financial Services", "Education",
    "Telecommunications", "Energy", "Media", "Transportation",
)
_CITIES = (
    ("San Francisco", "CA", "US", "94105"), ("New York", "NY", "US", "10001"),
    ("Austin", "TX", "US", "73301"), ("Chicago", "IL", "US", "60601"),
    ("Seattle", "WA", "US", "98101"), ("Boston", "MA", "US", "02108"),
    ("London", "", "GB", "EC1A 1BB"), ("Berlin", "", "DE", "10115"),
    ("Paris", "", "FR", "75001"), ("Sydney", "NSW", "AU", "2000"),
)
_FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Kara", "Liam", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tomas")
_LAST = ("Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
         "Johansson", "Kowalski", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi")
_TITLES = ("Account Executive", "Sales Director", "SDR", "Account Manager", "VP Sales")
_STAGES = (
    ("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 30), ("Proposal", 60),
    ("Negotiation", 80), ("Closed Won", 100), ("Closed Lost", 0),
)
_ROLES = ("Decision Maker", "Economic Buyer", "Technical Buyer", "Influencer", "Champion",
          "Evaluator")
_MAKES = (("Toyota", ("Corolla", "Camry", "RAV4")), ("Ford", ("Focus", "F-150", "Mustang")),
          ("Volkswagen", ("Golf", "Passat", "ID.4")), ("Tesla", ("Model 3", "Model Y")),
          ("Honda", ("Civic", "Accord", "CR-V")))
_COLORS = ("Black", "White", "Silver", "Blue", "Red", "Green")
_PLANS = (("Starter", 49.0), ("Team", 199.0), ("Business", 799.0), ("Enterprise", 2499.0))

_DEALS = ("Renewal", "Expansion", "New Business")
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _sfdc_id(prefix: str, n: int, rng: random.Random) -> str:
    # CRM-style 18-character ids; the counter keeps them unique.
    return f"{prefix}{n:07d}" + "".join(rng.choices(_ALNUM, k=8))


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _span(rng: random.Random, spec: SeedSpec, now: float) -> tuple[float, float]:
    """(createdAt, updatedAt) epochs spread over the seed's months before ``now``."""
    start = now - spec.months * 30 * 86400
    created = rng.uniform(start, now - 3600)
    updated = created if rng.random() < 0.4 else rng.uniform(created, now - 60)
    return created, updated


def _insert(db: Any, ot: ObjectType, records: list[dict[str, Any]]) -> None:
    db.executemany(
        "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
        [
            (ot.kind, str(r[ot.id_field]), ot.dkey(r), r["createdAt"], r["updatedAt"], dumps(r))
            for r in records
        ],
    )


@seeder(10)
def seed_salespersons_and_companies(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> None:
    people: list[dict[str, Any]] = []
    first_id = store.next_id(SALESPERSONS.kind, max(spec.salespersons, 1))
    for i in range(spec.salespersons):
        created, updated = _span(rng, spec, now)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        people.append({
            "id": first_id + i,
            "externalSalesPersonId": _sfdc_id("005", i + 1, rng),
            "email": f"{first.lower()}.{last.lower()}{i + 1}@sandbox-sales.example.com",
            "firstName": first,
            "lastName": last,
            "title": rng.choice(_TITLES),
            "phone": f"+1 415 555 {rng.randint(1000, 9999)}",
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })
    companies: list[dict[str, Any]] = []
    first_id = store.next_id(COMPANIES.kind, max(spec.companies, 1))
    for i in range(spec.companies):
        created, updated = _span(rng, spec, now)
        name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)} {i + 1}"
        city, state, country, postal = rng.choice(_CITIES)
        slug = name.lower().replace(" ", "")
        company: dict[str, Any] = {
            "id": first_id + i,
            "externalCompanyId": _sfdc_id("001", i + 1, rng),
            "company": name,
            "site": f"{city} HQ",
            "billingStreet": f"{rng.randint(1, 999)} Market Street",
            "billingCity": city,
            "billingState": state or None,
            "billingCountry": country,
            "billingPostalCode": postal,
            "website": f"https://www.{slug}.example.com",
            "mainPhone": f"+1 212 555 {rng.randint(1000, 9999)}",
            "annualRevenue": float(rng.randrange(1, 5000) * 100_000),
            "numberOfEmployees": rng.randint(5, 50_000),
            "industry": rng.choice(_INDUSTRIES),
            "sicCode": str(rng.randint(1000, 9999)),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        }
        if people and rng.random() < 0.85:
            company["externalSalesPersonId"] = rng.choice(people)["externalSalesPersonId"]
        companies.append({k: v for k, v in company.items() if v is not None})
    with store.transaction() as db:
        _insert(db, SALESPERSONS, people)
        _insert(db, COMPANIES, companies)


def _leads_by_company(store: Store) -> tuple[list[int], dict[str, list[int]]]:
    all_ids: list[int] = []
    by_company: dict[str, list[int]] = {}
    for row in store.iterate(
        "SELECT id, json_extract(data, '$.externalCompanyId') AS ec FROM leads ORDER BY id"
    ):
        all_ids.append(int(row["id"]))
        if row["ec"] is not None:
            by_company.setdefault(str(row["ec"]), []).append(int(row["id"]))
    return all_ids, by_company


# The delete and merge seeder (order 60) picks leads older than this: a company linked
# to a younger lead keeps it.
_SAFE_FROM_SEEDED_DELETES = 15 * 86400


@seeder(25)
def seed_company_contacts(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    """Link every company no lead points at to one lead.

    Marketo has no "list all companies" read: a company is found through the
    ``externalCompanyId`` of a lead (or an opportunity or custom object) pointing at it,
    so a company nothing points at would be invisible to every reader. Each such company
    takes an unlinked lead (preferring leads young enough that the seeded deletes and
    merges leave them alone), or, when none is left, one lead of the company with the most
    leads. The lead becomes a contact of the company exactly as the lead seeder links one:
    ``externalCompanyId``, the company-type fields mirrored from the company, an
    ``sfdcContactId``, ``personType`` contact.
    """
    companies = sorted(store.objects(COMPANIES.kind), key=lambda c: c["id"])
    lead_ids, by_company = _leads_by_company(store)
    orphans = [
        c for c in companies
        if c.get("externalCompanyId") and str(c["externalCompanyId"]) not in by_company
    ]
    if not orphans or not lead_ids:
        return
    linked = {i for ids in by_company.values() for i in ids}
    cutoff = format_ts(now - _SAFE_FROM_SEEDED_DELETES)
    created = {
        int(r["id"]): r["createdAt"] for r in store.iterate("SELECT id, createdAt FROM leads")
    }
    free = [i for i in lead_ids if i not in linked]
    young = [i for i in free if created[i] >= cutoff]
    old = [i for i in free if created[i] < cutoff]
    rng.shuffle(young)
    rng.shuffle(old)
    pool = young + old

    picks: list[tuple[int, dict[str, Any]]] = []
    for company in orphans:
        if pool:
            lead_id = pool.pop(0)
        else:
            donor = max(sorted(by_company), key=lambda ec: len(by_company[ec]))
            if len(by_company[donor]) < 2:
                break  # fewer leads than companies: nothing left to share
            lead_id = by_company[donor].pop()
        by_company[str(company["externalCompanyId"])] = [lead_id]
        picks.append((lead_id, company))

    with store.transaction() as db:
        for lead_id, company in picks:
            row = db.execute("SELECT data FROM leads WHERE id=?", (lead_id,)).fetchone()
            data = json.loads(row["data"])
            data["externalCompanyId"] = company["externalCompanyId"]
            for name, value in company_values(company).items():
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            if company.get("sfdcAccountId"):
                data["sfdcAccountId"] = company["sfdcAccountId"]
            data["sfdcContactId"] = "003" + "".join(rng.choices(_ALNUM, k=15))
            data["personType"] = "contact"
            db.execute("UPDATE leads SET data=? WHERE id=?", (dumps(data), lead_id))


@seeder(30)
def seed_opportunities_and_custom_objects(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> None:
    companies = list(store.objects(COMPANIES.kind))
    people = list(store.objects(SALESPERSONS.kind))
    lead_ids, by_company = _leads_by_company(store)
    # Opportunities go where the leads are, so most get roles.
    with_leads = [c for c in companies if c["externalCompanyId"] in by_company] or companies

    opportunities: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    first_oid = store.next_id("opportunity_activity_id", max(spec.opportunities, 1))
    for i in range(spec.opportunities if companies else 0):
        company = rng.choice(with_leads)
        created, updated = _span(rng, spec, now)
        stage, probability = rng.choice(_STAGES)
        amount = float(rng.randrange(5, 500) * 1000)
        close = format_ts(rng.uniform(created, now + 120 * 86400))[:10]
        opp: dict[str, Any] = {
            "marketoGUID": _guid(rng),
            "externalOpportunityId": _sfdc_id("006", i + 1, rng),
            "name": f"{company['company']} - {rng.choice(_DEALS)}",
            "type": rng.choice(("New Business", "Existing Business", "Renewal")),
            "stage": stage,
            "amount": amount,
            "probability": probability,
            "expectedRevenue": amount * probability / 100.0,
            "closeDate": close,
            "isClosed": stage.startswith("Closed"),
            "isWon": stage == "Closed Won",
            "fiscalYear": int(close[:4]),
            "fiscalQuarter": (int(close[5:7]) - 1) // 3 + 1,
            "leadSource": rng.choice(("Web", "Webinar", "Tradeshow", "Partner", "Outbound")),
            "nextStep": rng.choice(("Demo", "Security review", "Send proposal", "Follow up")),
            "externalCompanyId": company["externalCompanyId"],
            "lastActivityDate": format_ts(updated)[:10],
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
            "_oid": first_oid + i,
        }
        if people:
            opp["externalSalesPersonId"] = company.get(
                "externalSalesPersonId", rng.choice(people)["externalSalesPersonId"]
            )
        opportunities.append(opp)
        candidates = by_company.get(company["externalCompanyId"]) or lead_ids
        if not candidates:
            continue
        picked = rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))
        for n, lead_id in enumerate(picked):
            role_created = rng.uniform(created, max(created, updated))
            roles.append({
                "marketoGUID": _guid(rng),
                "externalOpportunityId": opp["externalOpportunityId"],
                "leadId": lead_id,
                "role": rng.choice(_ROLES),
                "isPrimary": n == 0,
                "createdAt": format_ts(role_created),
                "updatedAt": format_ts(role_created),
            })

    cars: list[dict[str, Any]] = []
    for i in range(spec.custom_objects_per_type if lead_ids else 0):
        created, updated = _span(rng, spec, now)
        make, models = rng.choice(_MAKES)
        cars.append({
            "marketoGUID": _guid(rng),
            "vin": f"1HGCM{i + 1:07d}" + "".join(rng.choices(_VIN_CHARS, k=5)),
            "leadId": rng.choice(lead_ids),
            "make": make,
            "model": rng.choice(models),
            "year": rng.randint(2008, 2026),
            "color": rng.choice(_COLORS),
            "price": float(rng.randrange(80, 900) * 100),
            "mileage": round(rng.uniform(0, 180_000), 1),
            "isLeased": rng.random() < 0.3,
            "purchaseDate": format_ts(created)[:10],
            "lastServiceAt": format_ts(updated),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })
    subscriptions: list[dict[str, Any]] = []
    for i in range(spec.custom_objects_per_type if companies else 0):
        created, updated = _span(rng, spec, now)
        plan, price = rng.choice(_PLANS)
        seats = rng.randint(1, 500)
        subscriptions.append({
            "marketoGUID": _guid(rng),
            "subscriptionId": f"SUB-{i + 1:08d}",
            "externalCompanyId": rng.choice(companies)["externalCompanyId"],
            "plan": plan,
            "seats": seats,
            "mrr": price * max(1, seats // 10),
            "discount": float(rng.choice((0, 0, 5, 10, 15, 20))),
            "autoRenew": rng.random() < 0.7,
            "startDate": format_ts(created)[:10],
            "renewalDate": format_ts(created + 365 * 86400)[:10],
            "status": rng.choice(("active", "active", "active", "trial", "cancelled")),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })

    by_ext = {o["externalOpportunityId"]: o for o in opportunities}
    with store.transaction() as db:
        _insert(db, OPPORTUNITIES, opportunities)
        _insert(db, OPPORTUNITY_ROLES, roles)
        _insert(db, OBJECT_TYPES["car_c"], cars)
        _insert(db, OBJECT_TYPES["subscription_c"], subscriptions)
        bulk_log_activities(store, db, [
            {
                "leadId": role["leadId"],
                "activityTypeId": ADD_TO_OPPORTUNITY,
                "when": _epoch(role["createdAt"]),
                **_role_activity_fields(role, by_ext[role["externalOpportunityId"]]),
            }
            for role in roles
        ])
