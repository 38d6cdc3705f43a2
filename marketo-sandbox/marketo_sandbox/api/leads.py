"""``/rest/v1`` lead database: describe, read by filter, sync, delete, merge, push.

Writes are plain functions (:func:`sync_leads`, :func:`delete_leads`, :func:`merge_leads`)
so the bulk import and the seeders apply exactly the rules the REST API applies, with the
same side effects Marketo has: New Lead (12) on create, one Change Data Value (13) per
changed field on update, Delete Lead (37) on delete, Merge Leads (32) on the winner.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from random import Random
from typing import Any

from marketo_sandbox.api.control import ground_truth
from marketo_sandbox.api.objects import on_lead_deleted, on_leads_merged
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.envelope import ApiError, ok, request_id, skipped
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.leads import (
    DEFAULT_PARTITION_ID,
    FIELD_SPECS,
    LEAD_FIELDS,
    LEAD_PARTITIONS,
    SEARCHABLE_FIELDS,
    SYSTEM_FIELDS,
    FieldValueError,
    activity_text,
    canonical_field,
    coerce_value,
    company_values,
    describe2,
    full_name,
    json_path,
    lead_field_names,
    parse_datetime,
    project_lead,
    resolve_read_fields,
)
from marketo_sandbox.model.shared import (
    COMPANY_FIELDS,
    KIND_COMPANIES,
    KIND_LISTS,
    KIND_OPPORTUNITY_ROLES,
    KIND_PROGRAMS,
    KIND_SALESPERSONS,
)
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store, dedupe_key, dumps, format_ts

SYNC_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")
MAX_MERGE_LOSERS = 25
API_SOURCE = "Web service API"

_BOOLEAN_FIELDS = tuple(name for name, spec in FIELD_SPECS.items() if spec.data_type == "boolean")


# -- paging tokens ---------------------------------------------------------------------


def encode_token(kind: str, position: int) -> str:
    """An opaque, Marketo-looking (base32) paging token holding a position."""
    return base64.b32encode(f"{kind}:{position}".encode()).decode()


def decode_token(token: str, kind: str) -> int:
    try:
        text = base64.b32decode(token.strip() + "=" * (-len(token.strip()) % 8)).decode()
        prefix, _, position = text.partition(":")
        if prefix != kind:
            raise ValueError
        return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError("1003", f"Invalid nextPageToken '{token}'") from None


# -- reading ---------------------------------------------------------------------------


def read_fields(ctx: Ctx) -> list[str]:
    """The `fields` parameter: default fields when absent, `id` always first."""
    return resolve_read_fields(ctx.list_arg("fields"))


def _filter_values(field: str, values: list[str]) -> list[Any]:
    kind = FIELD_SPECS[field].data_type
    out: list[Any] = []
    for value in dict.fromkeys(values):
        if kind == "integer":
            try:
                out.append(int(value))
            except ValueError:
                raise ApiError(
                    "1001", f"Invalid value '{value}'. Required of type 'integer'"
                ) from None
        else:
            out.append(value)
    return out


def filter_clause(field: str, values: list[Any]) -> tuple[str, list[Any]]:
    """SQL matching leads whose ``field`` is one of ``values``, using the right index."""
    marks = ",".join("?" * len(values))
    if field == "id":
        return f"id IN ({marks})", list(values)
    if field == "email":
        # Marketo matches emails without regard to case.
        return f"email COLLATE NOCASE IN ({marks})", list(values)
    return f"{json_path(field)} IN ({marks})", list(values)


def check_searchable(name: str, what: str) -> str:
    canonical = canonical_field(name)
    if canonical is None:
        if what == "filterType":
            raise ApiError("1003", f"Invalid filterType '{name}'")
        raise ApiError("1006", f"Field '{name}' not found")
    if canonical not in SEARCHABLE_FIELDS:
        raise ApiError("1011", f"Field '{name}' not supported")
    return canonical


@router.route("/rest/v1/leads/describe.json", ("GET",))
def describe(ctx: Ctx) -> dict[str, Any]:
    return ok(LEAD_FIELDS)


@router.route("/rest/v1/leads/describe2.json", ("GET",))
def describe_2(ctx: Ctx) -> dict[str, Any]:
    return ok([describe2()])


@router.route("/rest/v1/leads/partitions.json", ("GET",))
def partitions(ctx: Ctx) -> dict[str, Any]:
    return ok([dict(p) for p in LEAD_PARTITIONS])


@router.route("/rest/v1/leads.json", ("GET",))
def leads_by_filter(ctx: Ctx) -> dict[str, Any]:
    field = check_searchable(ctx.require("filterType"), "filterType")
    raw_values = ctx.list_arg("filterValues")
    if not raw_values:
        raise ApiError("1003", "filterValues cannot be blank")
    if len(raw_values) > ctx.config.max_filter_values:
        raise ApiError("1003", f"Number of filterValues exceeds {ctx.config.max_filter_values}")
    fields = read_fields(ctx)
    batch = ctx.batch_size()
    token = ctx.arg("nextPageToken")
    after = decode_token(token, "leads") if token else 0
    where, params = filter_clause(field, _filter_values(field, raw_values))
    rows = ctx.store.query(
        f"SELECT id, data FROM leads WHERE {where} AND id > ? ORDER BY id LIMIT ?",  # noqa: S608
        [*params, after, batch + 1],
    )
    page = rows[:batch]
    result = [project_lead(json.loads(r["data"]), fields) for r in page]
    if len(rows) > batch:
        return ok(result, nextPageToken=encode_token("leads", page[-1]["id"]), moreResult=True)
    return ok(result)


@router.route("/rest/v1/lead/<int:lead_id>.json", ("GET",))
def lead_by_id(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    fields = read_fields(ctx)
    row = ctx.store.query("SELECT data FROM leads WHERE id=?", (lead_id,))
    return ok([project_lead(json.loads(r["data"]), fields) for r in row])


# -- sync ------------------------------------------------------------------------------


def _partition(name: str) -> dict[str, Any] | None:
    for partition in LEAD_PARTITIONS:
        if partition["name"].lower() == name.lower():
            return partition
    return None


def check_lookup_field(lookup_field: str | None, action: str) -> str:
    if action not in SYNC_ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    lookup = check_searchable(lookup_field or "email", "lookupField")
    if lookup == "id" and action != "updateOnly":
        # Marketo: `id` identifies a lead only for updates.
        raise ApiError("1003", f"Lookup field 'id' not allowed for action '{action}'")
    return lookup


def _company(db: sqlite3.Connection, external_company_id: str) -> dict[str, Any] | None:
    # Companies dedupe on externalCompanyId: their dkey is indexed.
    row = db.execute(
        "SELECT data FROM objects WHERE kind=? AND dkey=? LIMIT 1",
        (KIND_COMPANIES, dedupe_key([external_company_id])),
    ).fetchone()
    return json.loads(row["data"]) if row else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


class _Writer:
    """One sync call's context: who writes, and the activities Marketo records for it."""

    def __init__(
        self,
        store: Store,
        db: sqlite3.Connection,
        config: SandboxConfig,
        *,
        api_method: str,
        request_id_: str,
        source: str,
        when: float | None,
    ) -> None:
        self.store = store
        self.db = db
        self.user = config.api_user
        self.api_method = api_method
        self.request_id = request_id_
        self.source = source
        self.at(when)

    def at(self, when: float | None) -> None:
        """Date what follows at ``when`` (seeding writes the past), or now."""
        self.when = when
        self.now = format_ts(self.store.now() if when is None else when)

    def api_attrs(self) -> dict[str, Any]:
        return {
            "API Method Name": self.api_method,
            "Modifying User": self.user,
            "Request Id": self.request_id,
        }

    def log(self, lead_id: int, type_id: int, **kw: Any) -> None:
        self.store.log_activity(lead_id, type_id, when=self.when, **kw)


def sync_leads(  # noqa: PLR0917 - the positional signature the bulk import relies on
    store: Store,
    config: SandboxConfig,
    rows: list[Any],
    action: str = "createOrUpdate",
    lookup_field: str = "email",
    partition_name: str | None = None,
    *,
    api_method: str = "syncLead",
    request_id_: str | None = None,
    source: str = API_SOURCE,
    create_defaults: dict[str, Any] | None = None,
    when: float | None = None,
) -> list[dict[str, Any]]:
    """Create/update leads as ``POST /rest/v1/leads.json`` does; one result per row, in order.

    Raises ApiError for request-level problems (bad action or lookupField). Rows are
    processed in order inside one transaction, so a later row sees an earlier one's lead.
    ``create_defaults`` are values new leads get unless the row sets them (e.g. the bulk
    import's original source); ``source`` fills the activities' Source / Source Type.
    """
    lookup = check_lookup_field(lookup_field, action)
    partition: dict[str, Any] | None = None
    if partition_name is not None:
        partition = _partition(partition_name)
        if partition is None:
            denied = skipped("1008", f"Access denied to partition '{partition_name}'")
            return [dict(denied) for _ in rows]
    results: list[dict[str, Any]] = []
    with store.transaction() as db:
        writer = _Writer(
            store,
            db,
            config,
            api_method=api_method,
            request_id_=request_id_ or request_id(),
            source=source,
            when=when,
        )
        for row in rows:
            results.append(
                _sync_one(
                    writer, row, action, lookup, partition=partition, defaults=create_defaults
                )
            )
    return results


def _sync_one(
    w: _Writer,
    row: Any,
    action: str,
    lookup: str,
    *,
    partition: dict[str, Any] | None,
    defaults: dict[str, Any] | None,
) -> dict[str, Any]:
    if not isinstance(row, dict):
        return skipped("1003", "Invalid data")
    values: dict[str, Any] = {}
    for key, raw in row.items():
        name = canonical_field(str(key))
        if name is None:
            # Marketo skips the record rather than ignoring the field: "Field '%s' not found".
            return skipped("1006", f"Field '{key}' not found")
        values[name] = raw
    if "id" in values and lookup != "id":
        # Marketo assigns ids: sending one to create a lead is invalid data.
        return skipped(
            "1003", "Invalid data: 'id' is only allowed with lookupField 'id' and updateOnly"
        )

    clean: dict[str, Any] = {}
    for name, raw in values.items():
        if name in SYSTEM_FIELDS or FIELD_SPECS[name].read_only:
            continue  # kept by Marketo itself; a sync does not write them
        try:
            clean[name] = coerce_value(name, raw)
        except FieldValueError as exc:
            return skipped("1001", str(exc))

    matches: list[sqlite3.Row] = []
    if action != "createDuplicate":
        try:
            key = coerce_value(lookup, values.get(lookup))
        except FieldValueError as exc:
            return skipped("1001", str(exc))
        if key is None:
            return skipped("1003", f"Value for lookup field '{lookup}' not specified")
        where, params = filter_clause(lookup, [key])
        matches = w.db.execute(
            f"SELECT id, data FROM leads WHERE {where} ORDER BY id LIMIT 2",  # noqa: S608
            params,
        ).fetchall()

    if action == "createOnly" and matches:
        return skipped("1005", "Lead already exists")
    if action == "updateOnly" and not matches:
        return skipped("1004", "Lead not found")
    if len(matches) > 1:
        return skipped("1007", "Multiple leads match the lookup criteria")

    existing = json.loads(matches[0]["data"]) if matches else None
    if (
        existing is not None
        and partition is not None
        and existing.get("leadPartitionId") != partition["id"]
    ):
        return skipped("1010", "Partition update not allowed")

    touches_company = [f for f in COMPANY_FIELDS if f in clean]
    if touches_company:
        linked_before = existing.get("externalCompanyId") if existing else None
        linked_after = clean.get("externalCompanyId", linked_before)
        if linked_before or linked_after:
            # Company-type fields of a linked lead belong to its company record.
            return skipped("1021", f"Company update not allowed: field '{touches_company[0]}'")

    if existing is None:
        return _create(w, clean, partition, defaults or {})
    return _update(w, existing, clean)


def _link_company(w: _Writer, data: dict[str, Any]) -> None:
    external_id = data.get("externalCompanyId")
    if not external_id:
        return
    company = _company(w.db, str(external_id))
    if company is None:
        return
    for name, value in company_values(company).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value


def new_lead_defaults(data: dict[str, Any]) -> None:
    """What Marketo fills on every new lead: booleans are false, never null."""
    for name in _BOOLEAN_FIELDS:
        if data.get(name) is None:
            data[name] = False
    data["isLead"] = True
    data.setdefault("personType", "contact" if data.get("externalCompanyId") else "lead")
    _set_full_name(data)


def _set_full_name(data: dict[str, Any]) -> None:
    # mktoName is Marketo's formula field: always first + last name.
    full = full_name(data)
    if full is None:
        data.pop("mktoName", None)
    else:
        data["mktoName"] = full


def _create(
    w: _Writer,
    clean: dict[str, Any],
    partition: dict[str, Any] | None,
    create_defaults: dict[str, Any],
) -> dict[str, Any]:
    lead_id = w.store.next_id("lead")
    data: dict[str, Any] = {"id": lead_id}
    for name, value in create_defaults.items():
        if value is not None and name not in clean:
            data[name] = value
    data.update({k: v for k, v in clean.items() if v is not None})
    data.setdefault("originalSourceType", w.source)
    data["createdAt"] = w.now
    data["updatedAt"] = w.now
    data["leadPartitionId"] = partition["id"] if partition else DEFAULT_PARTITION_ID
    _link_company(w, data)
    new_lead_defaults(data)
    w.db.execute(
        "INSERT INTO leads(id, email, createdAt, updatedAt, data) VALUES(?,?,?,?,?)",
        (lead_id, data.get("email"), w.now, w.now, dumps(data)),
    )
    attrs = {
        "Created Date": w.now[:10],
        "Lead Source": data.get("leadSource"),
        "Source Type": w.source,
        **w.api_attrs(),
    }
    w.log(lead_id, at.NEW_LEAD, attributes={k: v for k, v in attrs.items() if v is not None})
    return {"id": lead_id, "status": "created"}


def _update(w: _Writer, data: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    lead_id = int(data["id"])
    before = dict(data)
    changes: list[tuple[str, Any, Any]] = []
    for name, value in clean.items():
        old = data.get(name)
        if _same(old, value):
            continue
        changes.append((name, old, value))
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    if any(name == "externalCompanyId" for name, _, _ in changes):
        _link_company(w, data)
    _set_full_name(data)
    if data != before:
        data["updatedAt"] = w.now
        w.db.execute(
            "UPDATE leads SET email=?, updatedAt=?, data=? WHERE id=?",
            (data.get("email"), w.now, dumps(data), lead_id),
        )
    for field, old, new in changes:
        spec = FIELD_SPECS[field]
        w.log(
            lead_id,
            at.CHANGE_DATA_VALUE,
            primary_attribute_value_id=spec.id,
            primary_attribute_value=spec.display_name,
            attributes={
                "New Value": activity_text(new),
                "Old Value": activity_text(old),
                "Reason": "Lead updated through the API",
                "Source": w.source,
                **w.api_attrs(),
            },
        )
    return {"id": lead_id, "status": "updated"}


def _sync_body(ctx: Ctx) -> tuple[list[Any], str, str | None, str | None]:
    body = ctx.body()
    rows = body.get("input")
    if not isinstance(rows, list) or not rows:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(rows)
    lookup = body.get("lookupField")
    partition = body.get("partitionName")
    # Unknown top-level keys (e.g. "asyncProcessing " with a space) are ignored, as in Marketo.
    return rows, str(body.get("action") or "createOrUpdate"), lookup, partition


@router.route("/rest/v1/leads.json", ("POST",))
def sync(ctx: Ctx) -> dict[str, Any]:
    rows, action, lookup, partition = _sync_body(ctx)
    rid = request_id()
    result = sync_leads(
        ctx.store, ctx.config, rows, action, lookup or "email", partition, request_id_=rid
    )
    body = ok(result)
    body["requestId"] = rid
    return body


@router.route("/rest/v1/leads/push.json", ("POST",))
def push(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    program_name = body.get("programName")
    if not program_name:
        raise ApiError("1003", "programName cannot be blank")
    rows, _, lookup, partition = _sync_body(ctx)
    found = ctx.store.query(
        "SELECT data FROM objects WHERE kind=? AND json_extract(data, '$.name')=? LIMIT 1",
        (KIND_PROGRAMS, str(program_name)),
    )
    if not found:
        raise ApiError("1013", f"Program '{program_name}' not found")
    program = json.loads(found[0]["data"])
    program_id = program.get("id")
    rid = request_id()
    result = sync_leads(
        ctx.store,
        ctx.config,
        rows,
        "createOrUpdate",
        lookup or "email",
        partition,
        api_method="pushLeadToMarketo",
        request_id_=rid,
        create_defaults={"acquisitionProgramId": program_id},
    )
    with ctx.store.transaction():
        for item in result:
            if item.get("status") in ("created", "updated"):
                attrs = {
                    "Reason": body.get("reason"),
                    "Source": body.get("source") or API_SOURCE,
                    "API Method Name": "pushLeadToMarketo",
                    "Modifying User": ctx.config.api_user,
                    "Request Id": rid,
                }
                ctx.store.log_activity(
                    item["id"],
                    at.PUSH_LEAD_TO_MARKETO,
                    primary_attribute_value_id=program_id,
                    primary_attribute_value=str(program_name),
                    attributes={k: v for k, v in attrs.items() if v is not None},
                )
    response = ok(result)
    response["requestId"] = rid
    return response


# -- delete and merge ------------------------------------------------------------------


def _roles_by_lead(db: sqlite3.Connection) -> dict[str, list[str]]:
    """Opportunity role pks by lead id (text): one scan per write call, not per lead."""
    out: dict[str, list[str]] = {}
    for row in db.execute(
        "SELECT pk, CAST(json_extract(data, '$.leadId') AS TEXT) AS lead FROM objects WHERE kind=?",
        (KIND_OPPORTUNITY_ROLES,),
    ):
        out.setdefault(row["lead"], []).append(row["pk"])
    return out


def _remove_lead_links(db: sqlite3.Connection, lead_id: int, roles: dict[str, list[str]]) -> None:
    """What disappears with a lead: memberships, opportunity roles, its activity history."""
    db.execute("DELETE FROM list_members WHERE leadId=?", (lead_id,))
    db.execute("DELETE FROM program_members WHERE leadId=?", (lead_id,))
    for pk in roles.pop(str(lead_id), []):
        db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (KIND_OPPORTUNITY_ROLES, pk))
    # Marketo deletes a person's activity log with the person; only Delete Lead remains
    # (readable through deletedleads.json for about 14 days).
    db.execute(
        "DELETE FROM activities WHERE leadId=? AND activityTypeId<>?", (lead_id, at.DELETE_LEAD)
    )


def delete_leads(
    store: Store,
    config: SandboxConfig,
    ids: Iterable[Any],
    *,
    when: float | None = None,
    request_id_: str | None = None,
) -> list[dict[str, Any]]:
    """Delete leads by id as ``POST /rest/v1/leads/delete.json`` does; results in input order."""
    return _delete_many(store, config, [(raw, when) for raw in ids], request_id_)


def _delete_many(
    store: Store,
    config: SandboxConfig,
    items: list[tuple[Any, float | None]],
    request_id_: str | None = None,
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with store.transaction() as db:
        writer = _Writer(
            store,
            db,
            config,
            api_method="deleteLead",
            request_id_=request_id_ or request_id(),
            source=API_SOURCE,
            when=None,
        )
        roles = _roles_by_lead(db)
        for raw, when in items:
            writer.at(when)
            try:
                lead_id = int(raw)
            except (TypeError, ValueError):
                results.append(skipped("1003", "Invalid data", id=raw))
                continue
            row = db.execute("SELECT data FROM leads WHERE id=?", (lead_id,)).fetchone()
            if row is None:
                results.append(skipped("1004", "Lead not found", id=lead_id))
                continue
            data = json.loads(row["data"])
            db.execute("DELETE FROM leads WHERE id=?", (lead_id,))
            _remove_lead_links(db, lead_id, roles)
            writer.log(
                lead_id,
                at.DELETE_LEAD,
                primary_attribute_value_id=lead_id,
                primary_attribute_value=full_name(data) or data.get("email") or str(lead_id),
                attributes={"Remove from CRM": False, **writer.api_attrs()},
            )
            results.append({"id": lead_id, "status": "deleted"})
        # Marketo deletes the custom object records linked to a deleted lead.
        on_lead_deleted(store, db, [r["id"] for r in results if r.get("status") == "deleted"])
    return results


def _delete_ids(ctx: Ctx) -> list[Any]:
    data = ctx.json(required=False)
    if data is None:
        ids: list[Any] = ctx.list_arg("id")
    else:
        if not isinstance(data, dict) or not isinstance(data.get("input"), list):
            raise ApiError("609", "Invalid JSON")
        ids = [item.get("id") if isinstance(item, dict) else None for item in data["input"]]
    if not ids:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(ids)
    return ids


@router.route("/rest/v1/leads/delete.json", ("POST",))
def delete(ctx: Ctx) -> dict[str, Any]:
    return ok(delete_leads(ctx.store, ctx.config, _delete_ids(ctx)))


@router.route("/rest/v1/leads.json", ("DELETE",))
def delete_legacy(ctx: Ctx) -> dict[str, Any]:
    # Older clients (marketorestpython's delete_lead) still use DELETE with the same body.
    return ok(delete_leads(ctx.store, ctx.config, _delete_ids(ctx)))


def _move_role(db: sqlite3.Connection, pk: str, winner: int) -> None:
    row = db.execute(
        "SELECT dkey, data FROM objects WHERE kind=? AND pk=?", (KIND_OPPORTUNITY_ROLES, pk)
    ).fetchone()
    if row is None:
        return
    data = json.loads(row["data"])
    old_key = dedupe_key((data.get("externalOpportunityId"), data.get("leadId"), data.get("role")))
    data["leadId"] = winner
    dkey = row["dkey"]
    if dkey == old_key:
        # Roles dedupe on (externalOpportunityId, leadId, role): the key follows the lead.
        dkey = dedupe_key((data.get("externalOpportunityId"), winner, data.get("role")))
    clash = db.execute(
        "SELECT 1 FROM objects WHERE kind=? AND dkey=? AND pk<>?",
        (KIND_OPPORTUNITY_ROLES, dkey, pk),
    ).fetchone()
    if dkey is not None and clash:
        # The winner already has this role on that opportunity.
        db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (KIND_OPPORTUNITY_ROLES, pk))
        return
    db.execute(
        "UPDATE objects SET dkey=?, data=? WHERE kind=? AND pk=?",
        (dkey, dumps(data), KIND_OPPORTUNITY_ROLES, pk),
    )


def _move_memberships(
    db: sqlite3.Connection, loser: int, winner: int, roles: dict[str, list[str]]
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO list_members(listId, leadId, createdAt) "
        "SELECT listId, ?, createdAt FROM list_members WHERE leadId=?",
        (winner, loser),
    )
    db.execute("DELETE FROM list_members WHERE leadId=?", (loser,))
    db.execute(
        "INSERT OR IGNORE INTO program_members(programId, leadId, updatedAt, data) "
        "SELECT programId, ?, updatedAt, json_set(data, '$.leadId', ?) "
        "FROM program_members WHERE leadId=?",
        (winner, winner, loser),
    )
    db.execute("DELETE FROM program_members WHERE leadId=?", (loser,))
    moved = roles.pop(str(loser), [])
    for pk in moved:
        _move_role(db, pk, winner)
    roles.setdefault(str(winner), []).extend(moved)
    # The loser's activity history becomes the winner's.
    db.execute(
        "UPDATE activities SET leadId=?, data=json_set(data, '$.leadId', ?) WHERE leadId=?",
        (winner, winner, loser),
    )


def _check_merge(winner_id: int, loser_ids: list[int]) -> None:
    if not loser_ids:
        raise ApiError("1003", "leadIds cannot be blank")
    if len(loser_ids) > MAX_MERGE_LOSERS:
        raise ApiError("1003", f"Number of lead ids exceeds {MAX_MERGE_LOSERS}")
    if winner_id in loser_ids:
        raise ApiError("1003", "The winning lead cannot also be a losing lead")


def merge_leads(
    store: Store,
    config: SandboxConfig,
    winner_id: int,
    loser_ids: list[int],
    *,
    when: float | None = None,
    request_id_: str | None = None,
) -> None:
    """Merge losers into the winner as ``POST /rest/v1/leads/{id}/merge.json`` does.

    The winner keeps its values; its empty fields take the first loser value found. The
    losers disappear (no Delete Lead: a merge is reported by Merge Leads on the winner).
    """
    _merge_many(store, config, [(winner_id, loser_ids, when)], request_id_)


def _merge_many(
    store: Store,
    config: SandboxConfig,
    merges: list[tuple[int, list[int], float | None]],
    request_id_: str | None = None,
) -> None:
    for winner_id, loser_ids, _ in merges:
        _check_merge(winner_id, loser_ids)
    with store.transaction() as db:
        writer = _Writer(
            store,
            db,
            config,
            api_method="mergeLeads",
            request_id_=request_id_ or request_id(),
            source=API_SOURCE,
            when=None,
        )
        roles = _roles_by_lead(db)
        for winner_id, loser_ids, when in merges:
            writer.at(when)
            _merge_one(writer, roles, winner_id, loser_ids)


def _merge_one(
    writer: _Writer, roles: dict[str, list[str]], winner_id: int, loser_ids: list[int]
) -> None:
    db = writer.db
    row = db.execute("SELECT data FROM leads WHERE id=?", (winner_id,)).fetchone()
    if row is None:
        raise ApiError("1004", f"Lead '{winner_id}' not found")
    winner = json.loads(row["data"])
    losers = []
    for loser_id in dict.fromkeys(loser_ids):
        loser_row = db.execute("SELECT data FROM leads WHERE id=?", (loser_id,)).fetchone()
        if loser_row is None:
            raise ApiError("1004", f"Lead '{loser_id}' not found")
        losers.append(json.loads(loser_row["data"]))
    before = dict(winner)
    for loser in losers:
        for name, value in loser.items():
            if name in SYSTEM_FIELDS or value is None or winner.get(name) is not None:
                continue
            if name in COMPANY_FIELDS and winner.get("externalCompanyId"):
                continue
            winner[name] = value
    if winner.get("externalCompanyId") != before.get("externalCompanyId"):
        _link_company(writer, winner)
    _set_full_name(winner)
    for loser in losers:
        loser_id = int(loser["id"])
        _move_memberships(db, loser_id, winner_id, roles)
        db.execute("DELETE FROM leads WHERE id=?", (loser_id,))
    # Records linked to a losing lead (custom objects, roles) follow it to the winner.
    on_leads_merged(
        writer.store, db, winner_id, [int(loser["id"]) for loser in losers], now=writer.now
    )
    updated = winner != before
    if updated:
        winner["updatedAt"] = writer.now
        db.execute(
            "UPDATE leads SET email=?, updatedAt=?, data=? WHERE id=?",
            (winner.get("email"), writer.now, dumps(winner), winner_id),
        )
    writer.log(
        winner_id,
        at.MERGE_LEADS,
        primary_attribute_value_id=winner_id,
        primary_attribute_value=full_name(winner) or winner.get("email") or str(winner_id),
        attributes={
            "Master Updated": updated,
            "Merge ids": [int(loser["id"]) for loser in losers],
            "Merge Source": API_SOURCE,
            "Merged in Sales": False,
            **writer.api_attrs(),
        },
    )


@router.route("/rest/v1/leads/<int:lead_id>/merge.json", ("POST",))
def merge(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    raw = ctx.list_arg("leadId") + ctx.list_arg("leadIds")
    try:
        losers = [int(v) for v in raw]
    except ValueError:
        raise ApiError("1003", "leadIds must be integers") from None
    # mergeInCRM needs a native CRM sync, which this instance does not have: ignored.
    merge_leads(ctx.store, ctx.config, lead_id, losers)
    return ok(None)


# -- memberships -----------------------------------------------------------------------


def _require_lead(ctx: Ctx, lead_id: int) -> None:
    if not ctx.store.query("SELECT 1 FROM leads WHERE id=?", (lead_id,)):
        raise ApiError("1004", "Lead not found")


def _offset_page(ctx: Ctx, items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    batch = ctx.batch_size()
    token = ctx.arg("nextPageToken")
    start = decode_token(token, kind) if token else 0
    page = items[start : start + batch]
    if start + batch < len(items):
        return ok(page, nextPageToken=encode_token(kind, start + batch), moreResult=True)
    return ok(page, moreResult=False)


@router.route("/rest/v1/leads/<int:lead_id>/listMembership.json", ("GET",))
def list_membership(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    _require_lead(ctx, lead_id)
    rows = ctx.store.query(
        "SELECT m.listId, m.createdAt, o.data FROM list_members m "
        "LEFT JOIN objects o ON o.kind=? AND o.pk=CAST(m.listId AS TEXT) "
        "WHERE m.leadId=? ORDER BY m.listId",
        (KIND_LISTS, lead_id),
    )
    # Swagger's `List` (Adobe's Leads page example too): the list id and its timestamps.
    items = []
    for row in rows:
        info = json.loads(row["data"]) if row["data"] else {}
        items.append(
            {
                "listId": row["listId"],
                "createdAt": info.get("createdAt", row["createdAt"]),
                "updatedAt": info.get("updatedAt", row["createdAt"]),
            }
        )
    return _offset_page(ctx, items, "listmembership")


@router.route("/rest/v1/leads/<int:lead_id>/programMembership.json", ("GET",))
def program_membership(ctx: Ctx, lead_id: int) -> dict[str, Any]:
    _require_lead(ctx, lead_id)
    wanted: set[int] | None = None
    if ctx.arg("filterType"):
        if ctx.arg("filterType") != "programId":
            raise ApiError("1003", f"Invalid filterType '{ctx.arg('filterType')}'")
        try:
            wanted = {int(v) for v in ctx.list_arg("filterValues")}
        except ValueError:
            raise ApiError("1003", "filterValues must be program ids") from None
    earliest = ctx.arg("earliestUpdatedAt")
    latest = ctx.arg("latestUpdatedAt")
    bounds: list[str | None] = []
    for text in (earliest, latest):
        if text is None:
            bounds.append(None)
            continue
        parsed = parse_datetime(text)
        if parsed is None:
            raise ApiError("1001", f"Invalid value '{text}'. Required of type 'datetime'")
        bounds.append(parsed.strftime("%Y-%m-%dT%H:%M:%SZ"))
    rows = ctx.store.query(
        "SELECT programId, updatedAt, data FROM program_members WHERE leadId=? ORDER BY programId",
        (lead_id,),
    )
    items = []
    for row in rows:
        if wanted is not None and row["programId"] not in wanted:
            continue
        if (bounds[0] and row["updatedAt"] < bounds[0]) or (
            bounds[1] and row["updatedAt"] > bounds[1]
        ):
            continue
        member = json.loads(row["data"])
        item = {
            "id": row["programId"],
            "acquiredBy": bool(member.get("acquiredBy", False)),
            "isExhausted": bool(member.get("isExhausted", False)),
            "membershipDate": member.get("membershipDate"),
            "progressionStatus": member.get("statusName", member.get("progressionStatus")),
            "reachedSuccess": bool(member.get("reachedSuccess", False)),
            "updatedAt": row["updatedAt"],
        }
        # Only engagement-program memberships have a stream and a cadence; Marketo leaves
        # the keys out for the others rather than sending nulls.
        stream = member.get("trackName", member.get("stream"))
        if stream is not None:
            item["stream"] = stream
        if member.get("nurtureCadence") is not None:
            item["nurtureCadence"] = member["nurtureCadence"]
        items.append(item)
    return _offset_page(ctx, items, "programmembership")


# -- ground truth ----------------------------------------------------------------------


@ground_truth("leads")
def all_leads(store: Store) -> Iterator[dict[str, Any]]:
    names = lead_field_names()
    for row in store.iterate("SELECT data FROM leads ORDER BY id"):
        yield project_lead(json.loads(row["data"]), names)


# -- seed ------------------------------------------------------------------------------

_FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "David",
    "Linda",
    "William",
    "Sarah",
    "Daniel",
    "Emily",
    "Thomas",
    "Olivia",
    "Kevin",
    "Laura",
    "Brian",
    "Megan",
    "Jason",
    "Rachel",
    "José",
    "María",
    "François",
    "Zoë",
    "Søren",
    "Łukasz",
    "Ngọc",
    "Jürgen",
    "Ólafur",
    "Chloé",
    "Siobhán",
    "Renée",
    "Björn",
    "Ana",
    "Mateo",
    "Priya",
    "Arjun",
    "Yuki",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Wei",
    "Mei",
    "Chidi",
    "Amara",
    "Sven",
    "Ingrid",
    "Élodie",
    "Dvořák",
    "İbrahim",
)
_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "García",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "Østergaard",
    "Kowalczyk",
    "Dubois",
    "Rossi",
    "Sánchez",
    "Schröder",
    "Núñez",
    "Æbelø",
    "Fernández",
    "Yılmaz",  # noqa: RUF001 - a real Turkish name, dotless i intended
    "Novák",
    "Papadopoulos",
    "Tanaka",
    "Kim",
    "Patel",
    "Singh",
    "Okafor",
    "Haddad",
    "Larsen",
    "Lindqvist",
    "Costa",
    "Silva",
    "Van der Berg",
    "Zhang",
    "李",
    "Gonçalves",
)
_TITLES = (
    "VP Marketing",
    "Marketing Manager",
    "Director of Demand Generation",
    "CMO",
    "Sales Operations Analyst",
    "Account Executive",
    "Software Engineer",
    "CTO",
    "Head of Growth",
    "Marketing Operations Specialist",
    "Procurement Manager",
    "CFO",
    "Product Manager",
    "Data Analyst",
    "Chief Executive Officer",
)
_CITIES = (
    ("San Francisco", "CA", "USA", "94105"),
    ("New York", "NY", "USA", "10001"),
    ("Austin", "TX", "USA", "73301"),
    ("Chicago", "IL", "USA", "60601"),
    ("London", None, "United Kingdom", "EC1A 1BB"),
    ("München", "Bayern", "Germany", "80331"),
    ("Paris", None, "France", "75001"),
    ("São Paulo", "SP", "Brazil", "01000-000"),
    ("Tokyo", None, "Japan", "100-0001"),
    ("Toronto", "ON", "Canada", "M5H 2N2"),
    ("Kraków", None, "Poland", "30-001"),
    ("Zürich", "ZH", "Switzerland", "8001"),
    ("Sydney", "NSW", "Australia", "2000"),
)
_SOURCES = (
    "Website",
    "Trade Show",
    "Webinar",
    "Paid Search",
    "Partner",
    "List Import",
    "Referral",
    "Social",
)
_STATUSES = (
    "New",
    "Working",
    "Nurture",
    "Marketing Qualified",
    "Sales Qualified",
    "Disqualified",
    "Customer",
)
_RATINGS = ("Hot", "Warm", "Cold")
_LANGUAGES = ("English", "Deutsch", "Français", "Español", "日本語", "Português", "Polski")
_ROLES = ("Decision Maker", "Influencer", "Evaluator", "Champion", "Economic Buyer", "End User")
_INTERESTS = (
    "Analytics",
    "Automation",
    "Integrations",
    "Mobile",
    "Security",
    "Support",
    "Training",
)
_FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "proton.me", "gmx.de", "web.de")
_COMPANY_POOL = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Soylent GmbH",
    "Château Logistique",
    "Björk & Söner AB",
    "Nakatomi Trading",
    "Vandelay Imports",
)
_INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Healthcare",
    "Finance",
    "Education",
    "Retail",
    "Logistics",
)
_TIMEZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
)

# Expression indexes (id and email have real columns): the lookup keys CRM syncs use in
# volume and the company / sales person links. Rarer filterTypes scan, as each index
# costs every lead write a JSON parse.
_INDEXED = (
    "crmContactId",
    "cookies",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
    "secondaryEmail",
    "externalCompanyId",
    "externalSalesPersonId",
)


@functools.lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = "".join(ch for ch in folded.lower() if ch.isalnum())
    return slug or "user"


def create_lead_indexes(db: sqlite3.Connection) -> None:
    for name in _INDEXED:
        db.execute(f"CREATE INDEX IF NOT EXISTS leads_f_{name} ON leads({json_path(name)})")


def _sfdc_id(rng: Random, prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choices(alphabet, k=15))


def _seed_lead(
    rng: Random,
    lead_id: int,
    created: float,
    now: float,
    *,
    company: dict[str, Any] | None,
    salesperson: dict[str, Any] | None,
    munchkin: str,
) -> dict[str, Any]:
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    city, state, country, postal = rng.choice(_CITIES)
    data: dict[str, Any] = {"id": lead_id, "firstName": first, "lastName": last}
    if company is not None:
        domain = (
            str(company.get("website") or "").split("//")[-1].strip("/")
            or f"{ascii_slug(str(company.get('company')))}.com"
        )
    else:
        domain = rng.choice(_FREE_MAIL)
    if rng.random() < 0.98:
        local = f"{ascii_slug(first)}.{ascii_slug(last)}{lead_id}"
        email = f"{local}@{domain}"
        if rng.random() < 0.05:
            # Real databases hold mixed-case addresses; lookups must ignore case.
            email = f"{local.capitalize()}@{domain.upper()}"
        data["email"] = email
    if rng.random() < 0.3:
        data["salutation"] = rng.choice(("Mr.", "Ms.", "Dr.", "Mx."))
    data["title"] = rng.choice(_TITLES)
    data["phone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    if rng.random() < 0.5:
        data["mobilePhone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    street = rng.choice(("Main St", "Market St", "Hauptstraße", "Rue de Rivoli"))
    data["address"] = f"{rng.randrange(1, 9999)} {street}"
    data["city"] = city
    if state:
        data["state"] = state
    data["country"] = country
    data["postalCode"] = postal
    data["leadSource"] = rng.choice(_SOURCES)
    data["leadStatus"] = rng.choice(_STATUSES)
    data["rating"] = rng.choice(_RATINGS)
    data["leadScore"] = rng.randrange(0, 120)
    data["urgency"] = round(rng.random() * 100, 2)
    data["priority"] = rng.randrange(0, 100)
    data["relativeScore"] = rng.randrange(1, 4)
    data["relativeUrgency"] = rng.randrange(1, 4)
    data["personTimeZone"] = rng.choice(_TIMEZONES)
    data["originalSourceType"] = rng.choice(
        ("Web form fillout", "Web service API", "List import", "New lead")
    )
    data["registrationSourceType"] = data["originalSourceType"]
    if rng.random() < 0.4:
        data["originalReferrer"] = rng.choice(
            (
                "https://www.google.com/",
                "https://www.linkedin.com/",
                "https://news.ycombinator.com/",
            )
        )
    data["unsubscribed"] = rng.random() < 0.03
    if data["unsubscribed"]:
        data["unsubscribedReason"] = "Unsubscribed via email link"
    data["emailInvalid"] = "email" in data and rng.random() < 0.02
    if data["emailInvalid"]:
        data["emailInvalidCause"] = "550 5.1.1 mailbox unavailable"
    data["doNotCall"] = rng.random() < 0.05
    if rng.random() < 0.6:
        token = f"_mch-sandbox.local-{int(created * 1000)}-{rng.randrange(10000, 99999)}"
        data["cookies"] = f"id:{munchkin}&token:{token}"
    if rng.random() < 0.85:
        data["crmContactId"] = f"CRM-{lead_id:07d}"
    if rng.random() < 0.4:
        data["sfdcLeadId"] = _sfdc_id(rng, "00Q")
    if rng.random() < 0.05:
        data["linkedInId"] = f"li-{rng.randrange(10**8, 10**9)}"
    if rng.random() < 0.03:
        data["twitterId"] = f"@{ascii_slug(first)}{rng.randrange(100)}"
    if rng.random() < 0.3:
        data["anonymousIP"] = f"203.0.113.{rng.randrange(1, 255)}"
        data["inferredCity"] = city
        data["inferredCountry"] = country
    data["leadPartitionId"] = 2 if rng.random() < 0.05 else DEFAULT_PARTITION_ID
    if company is not None:
        data["externalCompanyId"] = company["externalCompanyId"]
        for name, value in company_values(company).items():
            if value is not None:
                data[name] = value
        if company.get("sfdcAccountId"):
            data["sfdcAccountId"] = company["sfdcAccountId"]
        data["sfdcContactId"] = _sfdc_id(rng, "003")
        data["personType"] = "contact"
    else:
        data["personType"] = "lead"
        if rng.random() < 0.7:
            data["company"] = rng.choice(_COMPANY_POOL)
            data["industry"] = rng.choice(_INDUSTRIES)
            data["numberOfEmployees"] = rng.choice((10, 50, 200, 1000, 5000))
    if salesperson is not None:
        data["externalSalesPersonId"] = salesperson["externalSalesPersonId"]
    # Custom fields, one of every dataType, each filled on most leads.
    if rng.random() < 0.7:
        data["preferredLanguage"] = rng.choice(_LANGUAGES)
    if rng.random() < 0.3:
        data["lastTradeShowAt"] = format_ts(created + rng.random() * (now - created))
    if rng.random() < 0.2:
        data["contractStartDate"] = (
            datetime.fromtimestamp(created + rng.random() * (now - created), UTC).date().isoformat()
        )
    if rng.random() < 0.6:
        data["seatsRequested"] = rng.randrange(1, 500)
    if rng.random() < 0.4:
        data["discountPercent"] = rng.choice((0, 5, 10, 12.5, 15, 20))
    data["behaviorScore"] = rng.randrange(0, 100)
    if rng.random() < 0.7:
        data["engagementIndex"] = round(rng.random() * 10, 3)
    if rng.random() < 0.4:
        data["lifetimeValue"] = round(rng.random() * 250_000, 2)
    data["isCustomer"] = rng.random() < 0.15
    if rng.random() < 0.3:
        data["secondaryEmail"] = f"{ascii_slug(first)}.{ascii_slug(last)}@{rng.choice(_FREE_MAIL)}"
    if lead_id > 1 and rng.random() < 0.1:
        data["referredByLeadId"] = rng.randrange(1, lead_id)
    if rng.random() < 0.2:
        data["linkedInProfileUrl"] = (
            f"https://www.linkedin.com/in/{ascii_slug(first)}-{ascii_slug(last)}-{lead_id}"
        )
    if rng.random() < 0.1:
        data["assistantPhone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    if rng.random() < 0.3:
        data["productInterestNotes"] = (
            'Asked about pricing.\nWants a demo with the "ops" team; budget Q3.'
        )
    if rng.random() < 0.2:
        data["qualificationSummary"] = (
            f"BANT: budget {rng.choice(('yes', 'no'))}, authority {rng.choice(('yes', 'no'))}"
        )
    if rng.random() < 0.5:
        data["buyingRole"] = rng.choice(_ROLES)
    if rng.random() < 0.5:
        data["productInterests"] = rng.sample(_INTERESTS, rng.randrange(1, 4))
    data["mktoAcquisitionDate"] = format_ts(created)
    return data


@seeder(20)
def seed_leads(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    """spec.leads leads created over spec.months months; ~60% linked to a seeded company."""
    companies = [c for c in store.objects(KIND_COMPANIES) if c.get("externalCompanyId")]
    salespersons = [s for s in store.objects(KIND_SALESPERSONS) if s.get("externalSalesPersonId")]
    count = spec.leads
    start = now - spec.months * 30.44 * 86400
    # Lead ids grow with creation time in Marketo; newer months see more leads.
    created = sorted(start + (now - 300 - start) * (rng.random() ** 0.8) for _ in range(count))
    rows: list[tuple[Any, ...]] = []
    emails: list[str] = []
    insert = "INSERT INTO leads(id, email, createdAt, updatedAt, data) VALUES(?,?,?,?,?)"
    with store.transaction() as db:
        for index, created_at in enumerate(created):
            rows.append(
                _seed_row(
                    rng,
                    index + 1,
                    created_at,
                    now,
                    companies=companies,
                    salespersons=salespersons,
                    emails=emails,
                )
            )
            if len(rows) >= 10_000:
                db.executemany(insert, rows)
                rows.clear()
        db.executemany(insert, rows)
        create_lead_indexes(db)
    store.set_sequence_floor("lead", count)


def _seed_row(
    rng: Random,
    lead_id: int,
    created_at: float,
    now: float,
    *,
    companies: list[dict[str, Any]],
    salespersons: list[dict[str, Any]],
    emails: list[str],
) -> tuple[Any, ...]:
    """One seeded lead's table row (``emails`` collects addresses for later duplicates)."""
    munchkin = "123-ABC-456"
    company = rng.choice(companies) if companies and rng.random() < 0.6 else None
    salesperson = (
        rng.choice(salespersons) if salespersons and (company or rng.random() < 0.3) else None
    )
    data = _seed_lead(
        rng, lead_id, created_at, now, company=company, salesperson=salesperson, munchkin=munchkin
    )
    if emails and rng.random() < 0.005:
        # Real databases hold a few duplicates (same address, other case): 1007 territory.
        data["email"] = rng.choice(emails).upper()
    if data.get("email"):
        emails.append(data["email"])
    updated_at = (
        created_at + rng.random() * (now - created_at) if rng.random() < 0.7 else created_at
    )
    data["createdAt"] = format_ts(created_at)
    data["updatedAt"] = format_ts(updated_at)
    new_lead_defaults(data)
    return lead_id, data.get("email"), data["createdAt"], data["updatedAt"], dumps(data)


@seeder(60)
def seed_deletes_and_merges(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    """Deletes and merges in the last ~10 days (Marketo keeps deleted leads ~14 days)."""
    cutoff = format_ts(now - 15 * 86400)
    candidates = [
        r["id"]
        for r in store.query("SELECT id FROM leads WHERE createdAt < ? ORDER BY id", (cutoff,))
    ]
    rng.shuffle(candidates)
    config = SandboxConfig()
    wanted_deletes = min(spec.deleted_leads, len(candidates))
    to_delete = candidates[:wanted_deletes]
    rest = candidates[wanted_deletes:]
    _delete_many(
        store, config, [(lead_id, now - rng.uniform(0.2, 10) * 86400) for lead_id in to_delete]
    )
    merges: list[tuple[int, list[int], float | None]] = []
    while len(merges) < spec.merged_leads and len(rest) >= 2:
        winner, loser = rest.pop(), rest.pop()
        merges.append((winner, [loser], now - rng.uniform(0.2, 10) * 86400))
    _merge_many(store, config, merges)
