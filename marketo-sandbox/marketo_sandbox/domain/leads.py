"""Marketo's rules for the lead database: sync (create / update by lookup field), delete and
merge, with the activities Marketo records for each (docs/MARKETO.md section 6).

Writes are plain functions (:func:`sync_leads`, :func:`delete_leads`, :func:`merge_leads`)
so the REST routes, the bulk import and the seeders apply exactly the same rules, with the
same side effects: New Lead (12) on create, one Change Data Value (13) per changed field on
update, Delete Lead (37) on delete, Merge Leads (32) on the winner.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain.activities import API_SOURCE, change_data_value
from marketo_sandbox.domain.objects import on_lead_deleted, on_leads_merged
from marketo_sandbox.envelope import ApiError, request_id, skipped
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.leads import (
    DEFAULT_PARTITION_ID,
    FIELD_SPECS,
    LEAD_PARTITIONS,
    SEARCHABLE_FIELDS,
    SYSTEM_FIELDS,
    FieldValueError,
    canonical_field,
    coerce_value,
    company_values,
    full_name,
)
from marketo_sandbox.model.shared import (
    COMPANY_FIELDS,
    KIND_COMPANIES,
    KIND_LEAD_PARTITIONS,
    KIND_OPPORTUNITY_ROLES,
)
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.store import INSERT_LEAD, Store, dedupe_key, dumps, json_path, lead_row
from marketo_sandbox.timestamps import format_ts

SYNC_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")

MAX_MERGE_LOSERS = 25


_BOOLEAN_FIELDS = tuple(name for name, spec in FIELD_SPECS.items() if spec.data_type == "boolean")


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


def lead_partitions(store: Store) -> list[dict[str, Any]]:
    """The subscription's lead partitions: Default, then those it defines."""
    default = next(p for p in LEAD_PARTITIONS if p["id"] == DEFAULT_PARTITION_ID)
    defined = sorted(store.objects(KIND_LEAD_PARTITIONS), key=lambda p: int(p["id"]))
    return [dict(default), *defined]


def define_partitions(store: Store) -> None:
    """Define every partition the sandbox knows (a subscription with Workspaces and
    Partitions, as the seeds with leads are)."""
    for partition in LEAD_PARTITIONS:
        if partition["id"] != DEFAULT_PARTITION_ID:
            store.object_put(KIND_LEAD_PARTITIONS, partition["id"], dict(partition))


def _partition(store: Store, name: str) -> dict[str, Any] | None:
    for partition in lead_partitions(store):
        if partition["name"].lower() == name.lower():
            return partition
    return None


# The partitions the API user's role reaches under the `partitions` profile: its
# workspaces hold Default and EMEA, while APAC belongs to another team's workspace. REST
# lead reads, and writes into or onto a lead of a partition outside these, behave as if
# those leads were not there (reads) or are refused with 1008 (writes); bulk exports
# ignore the role and serve every lead (docs/MARKETO.md section 9).
API_ROLE_PARTITIONS = ("Default", "EMEA")

_PARTITION_EXPR = f"COALESCE(json_extract(data, '$.leadPartitionId'), {DEFAULT_PARTITION_ID})"


def hidden_partition_ids(config: SandboxConfig) -> tuple[int, ...]:
    """Ids of the lead partitions the API user cannot see (none on a default instance)."""
    if not config.has_profile(PARTITIONS):
        return ()
    return tuple(p["id"] for p in LEAD_PARTITIONS if p["name"] not in API_ROLE_PARTITIONS)


def visible_leads_clause(config: SandboxConfig) -> tuple[str, list[Any]]:
    """A condition on the ``leads`` table keeping the leads a REST read may return."""
    hidden = hidden_partition_ids(config)
    if not hidden:
        return "1", []
    return f"{_PARTITION_EXPR} NOT IN ({','.join('?' * len(hidden))})", list(hidden)


def visible_lead_rows_clause(
    config: SandboxConfig, column: str = "leadId"
) -> tuple[str, list[Any]]:
    """A condition keeping rows about a lead (activities, memberships) that a REST read
    may return: rows of a living lead in a hidden partition are left out. A lead no
    longer in the database (deleted) has no partition left to check, so its rows stay."""
    hidden = hidden_partition_ids(config)
    if not hidden:
        return "1", []
    marks = ",".join("?" * len(hidden))
    return (
        f"{column} NOT IN (SELECT id FROM leads WHERE {_PARTITION_EXPR} IN ({marks}))",  # noqa: S608
        list(hidden),
    )


def lead_visible(config: SandboxConfig, data: dict[str, Any]) -> bool:
    return _partition_id(data) not in hidden_partition_ids(config)


def _partition_id(data: dict[str, Any]) -> int:
    return int(data.get("leadPartitionId") or DEFAULT_PARTITION_ID)


def _partition_name(partition_id: int) -> str:
    for partition in LEAD_PARTITIONS:
        if partition["id"] == partition_id:
            return str(partition["name"])
    return str(partition_id)


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
        user: str | None = None,
    ) -> None:
        self.store = store
        self.db = db
        # The API user whose call this is: Marketo names it on every activity it logs.
        self.user = user or config.api_user
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
    user: str | None = None,
) -> list[dict[str, Any]]:
    """Create/update leads as ``POST /rest/v1/leads.json`` does; one result per row, in order.

    Raises ApiError for request-level problems (bad action or lookupField). Rows are
    processed in order inside one transaction, so a later row sees an earlier one's lead.
    ``create_defaults`` are values new leads get unless the row sets them (e.g. the bulk
    import's original source); ``source`` fills the activities' Source / Source Type.
    """
    lookup = check_lookup_field(lookup_field, action)
    partition: dict[str, Any] | None = None
    hidden = hidden_partition_ids(config)
    if partition_name is not None:
        partition = _partition(store, partition_name)
        if partition is None or partition["id"] in hidden:
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
            user=user,
        )
        for row in rows:
            results.append(
                _sync_one(
                    writer,
                    row,
                    action,
                    lookup,
                    partition=partition,
                    defaults=create_defaults,
                    hidden=hidden,
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
    hidden: tuple[int, ...] = (),
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
    if existing is not None and _partition_id(existing) in hidden:
        # Adobe: 1008 when the user has no workspace holding the record's partition.
        name = _partition_name(_partition_id(existing))
        return skipped("1008", f"Access denied to partition '{name}'")
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
    w.db.execute(INSERT_LEAD, lead_row(data))
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
        w.log(
            lead_id,
            at.CHANGE_DATA_VALUE,
            **change_data_value(
                field,
                old,
                new,
                Reason="Lead updated through the API",
                Source=w.source,
                **w.api_attrs(),
            ),
        )
    return {"id": lead_id, "status": "updated"}



def push_leads(
    store: Store,
    config: SandboxConfig,
    rows: list[Any],
    program: dict[str, Any],
    *,
    lookup_field: str,
    partition_name: str | None,
    reason: str | None,
    source: str | None,
    request_id_: str,
    user: str | None = None,
) -> list[dict[str, Any]]:
    """``POST /rest/v1/leads/push.json``: a createOrUpdate sync whose new leads are acquired
    by ``program``, then Push Lead to Marketo (145) on every lead created or updated."""
    program_id = program.get("id")
    result = sync_leads(
        store,
        config,
        rows,
        "createOrUpdate",
        lookup_field,
        partition_name,
        api_method="pushLeadToMarketo",
        request_id_=request_id_,
        create_defaults={"acquisitionProgramId": program_id},
        user=user,
    )
    with store.transaction():
        for item in result:
            if item.get("status") in ("created", "updated"):
                attrs = {
                    "Reason": reason,
                    "Source": source or API_SOURCE,
                    "API Method Name": "pushLeadToMarketo",
                    "Modifying User": user or config.api_user,
                    "Request Id": request_id_,
                }
                store.log_activity(
                    item["id"],
                    at.PUSH_LEAD_TO_MARKETO,
                    primary_attribute_value_id=program_id,
                    primary_attribute_value=str(program.get("name")),
                    attributes={k: v for k, v in attrs.items() if v is not None},
                )
    return result


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
    user: str | None = None,
) -> list[dict[str, Any]]:
    """Delete leads by id as ``POST /rest/v1/leads/delete.json`` does; results in input order."""
    return delete_many(store, config, [(raw, when) for raw in ids], request_id_, user)


def delete_many(
    store: Store,
    config: SandboxConfig,
    items: list[tuple[Any, float | None]],
    request_id_: str | None = None,
    user: str | None = None,
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
            user=user,
        )
        roles = _roles_by_lead(db)
        hidden = hidden_partition_ids(config)
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
            if _partition_id(data) in hidden:
                name = _partition_name(_partition_id(data))
                results.append(skipped("1008", f"Access denied to partition '{name}'", id=lead_id))
                continue
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
    user: str | None = None,
) -> None:
    """Merge losers into the winner as ``POST /rest/v1/leads/{id}/merge.json`` does.

    The winner keeps its values; its empty fields take the first loser value found. The
    losers disappear (no Delete Lead: a merge is reported by Merge Leads on the winner).
    """
    merge_many(store, config, [(winner_id, loser_ids, when)], request_id_, user)


def merge_many(
    store: Store,
    config: SandboxConfig,
    merges: list[tuple[int, list[int], float | None]],
    request_id_: str | None = None,
    user: str | None = None,
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
            user=user,
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
