"""Sinks: map and validate each stream's records, then hand them to the drain planner.

A sink never writes. Writes wait for the target-level drain, which plans every stream's
records together in dependency order (see ``planner.py`` and ``objects.ORDER``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import typing as t
from dataclasses import dataclass, field
from typing import Any

from singer_sdk.exceptions import InvalidRecord

from target_marketo_crm.catalog import Catalog, Description
from target_marketo_crm.objects import (
    DEFAULT_ACTION,
    Family,
    ObjectKind,
    Op,
)
from target_marketo_crm.planner import Item, make_key
from target_marketo_crm.rejects import (
    FIELD_NOT_FOUND,
    MISSING_KEY,
    SCHEMA_VIOLATION,
    UNUSABLE_RECORD,
    RejectLog,
    json_default,
)
from target_marketo_crm.sdk_seam import SDC_DELETED_AT, SeamSink

if t.TYPE_CHECKING:
    from target_marketo_crm.target import TargetMarketoCRM

SDC_PREFIX = "_sdc_"


@dataclass(frozen=True)
class Binding:
    """How one stream becomes one Marketo object (from the ``stream_objects`` setting)."""

    stream: str
    object_name: str
    # Source field -> Marketo field; a None target drops the field.
    renames: dict[str, str | None] = field(default_factory=dict)
    delete_flag_field: str | None = None
    action: str = DEFAULT_ACTION


@dataclass(frozen=True)
class MapperSettings:
    lookup_field: str
    # "reject" (Marketo's 1006 for the record) or "ignore" (drop the field, log once).
    unknown_fields: str


class Rejected(Exception):  # noqa: N818 - a verdict on a record, not a failure of ours
    def __init__(self, code: str, message: str, key: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.key = key


def to_marketo_value(value: Any) -> Any:
    """Python values the SDK parsed back into what Marketo's JSON expects."""
    if isinstance(value, dt.datetime | dt.date | decimal.Decimal):
        return json_default(value)
    if isinstance(value, dict):
        return {k: to_marketo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_marketo_value(v) for v in value]
    return value


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "t"}
    return bool(value)


class RecordMapper:
    """One stream's records -> Items: renames, delete detection, keys, field checks."""

    def __init__(
        self,
        binding: Binding,
        catalog: Catalog,
        settings: MapperSettings,
        *,
        logger: Any = None,
    ) -> None:
        self.binding = binding
        self.catalog = catalog
        self.settings = settings
        self.log = logger
        self.description: Description = catalog.describe(binding.object_name)
        self.kind: ObjectKind = self.description.kind
        self._ignored_logged: set[str] = set()
        self._dropped_logged: set[str] = set()

    # --- entry point -----------------------------------------------------------------------

    def to_item(self, record: dict[str, Any]) -> Item:
        """Raises :class:`Rejected` when the record cannot be sent as it is."""
        fields, is_delete = self._prepare(record)
        try:
            return self._dispatch(dict(fields), record, is_delete)
        except Rejected as rejected:
            if rejected.key is None:
                rejected.key = self.best_key(fields)
            raise

    def is_delete(self, record: dict[str, Any]) -> bool:
        return self._prepare(record)[1]

    def key_of(self, record: dict[str, Any]) -> dict[str, Any]:
        """The key fields of a record as it came in (renamed), for the reject file."""
        return self.best_key(self._prepare(record)[0])

    def best_key(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The key fields a record has, for the reject file, when it has no full key."""
        if self.kind.family is Family.LEADS:
            names: tuple[str, ...] = (self.settings.lookup_field,)
        else:
            names = self.kind.dedupe_fields
        key = {name: fields.get(name) for name in names}
        if self.settings.lookup_field in fields and self.kind.lead_ref:
            key[self.settings.lookup_field] = fields[self.settings.lookup_field]
        return key

    def _dispatch(self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool) -> Item:
        family = self.kind.family
        if family is Family.LEADS:
            return self._lead(fields, record, is_delete)
        if family in (Family.STANDARD, Family.CUSTOM):
            return self._standard(fields, record, is_delete)
        if family is Family.PROGRAM_MEMBERS:
            return self._program_member(fields, record, is_delete)
        if family is Family.LIST_MEMBERS:
            return self._list_member(fields, record, is_delete)
        if family is Family.CAMPAIGN_REQUESTS:
            return self._campaign_request(fields, record, is_delete)
        raise Rejected(UNUSABLE_RECORD, f"no writer for {self.kind.name}")

    def _prepare(self, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        flag = self.binding.delete_flag_field
        is_delete = _present(record.get(SDC_DELETED_AT)) or bool(
            flag and _truthy(record.get(flag))
        )
        fields: dict[str, Any] = {}
        for name, value in record.items():
            if name.startswith(SDC_PREFIX) or name == flag:
                continue
            if name in self.binding.renames:
                target_name = self.binding.renames[name]
                if not target_name:
                    continue
                name = target_name  # noqa: PLW2901
            fields[name] = to_marketo_value(value)
        return fields, is_delete

    def _item(self, record: dict[str, Any], op: Op, fields: dict[str, Any],
              key: tuple[Any, ...], **kw: Any) -> Item:
        return Item(
            stream=self.binding.stream, kind=self.kind.name, op=op, fields=fields, key=key,
            record=record, action=kw.pop("action", self.binding.action), **kw,
        )

    # --- field checks --------------------------------------------------------------------

    def _check_fields(self, fields: dict[str, Any], keep: set[str]) -> dict[str, Any]:
        """Unknown fields -> 1006 (or dropped, per ``unknown_fields``); read-only fields
        such as ``createdAt`` are Marketo's own and dropped (a tap round trip has them)."""
        out: dict[str, Any] = {}
        unknown: list[str] = []
        for name, value in fields.items():
            if name in keep:
                out[name] = value
            elif not self.description.knows(name):
                unknown.append(name)
            elif self.description.writable(name):
                out[name] = value
            elif name not in self._dropped_logged:
                self._dropped_logged.add(name)
                if self.log is not None:
                    self.log.info(
                        "Field %r of %s is read-only in Marketo; not written",
                        name, self.kind.name,
                    )
        if unknown:
            if self.settings.unknown_fields == "reject":
                names = ", ".join(repr(n) for n in sorted(unknown))
                raise Rejected(FIELD_NOT_FOUND, f"Field {names} not found")
            for name in unknown:
                if name not in self._ignored_logged and self.log is not None:
                    self._ignored_logged.add(name)
                    self.log.warning(
                        "Field %r is not a %s field in Marketo; ignored (unknown_fields="
                        "ignore)", name, self.kind.name,
                    )
        return out

    def _lead_ref(self, fields: dict[str, Any]) -> tuple[Any, Any]:
        """(leadId, lookup value) of the lead a record names; (None, None) when neither.

        The lookup value is consumed unless the object itself has such a field.
        """
        lookup = self.settings.lookup_field
        ref = self.kind.lead_ref or "leadId"
        lead_id = fields.pop(ref, None)
        lookup_value = fields.get(lookup) if lookup != ref else None
        if lookup in fields and not self.description.knows(lookup):
            fields.pop(lookup)
        if _present(lead_id):
            return lead_id, None
        if lookup == "id" and _present(lookup_value):
            return lookup_value, None
        if _present(lookup_value):
            return None, lookup_value
        return None, None

    def _required_lead_ref(self, fields: dict[str, Any]) -> tuple[Any, Any]:
        lead_id, lead_key = self._lead_ref(fields)
        if lead_id is None and lead_key is None:
            raise Rejected(
                MISSING_KEY,
                "Value for required field 'leadId' not specified (nor the lookup field "
                f"{self.settings.lookup_field!r} to find the lead by)",
            )
        return lead_id, lead_key

    # --- leads -----------------------------------------------------------------------------

    def _lead(self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool) -> Item:
        lookup = self.settings.lookup_field
        if is_delete:
            if _present(fields.get("id")):
                return self._item(record, Op.DELETE, {"id": fields["id"]},
                                  make_key([("id", fields["id"])]))
            if _present(fields.get(lookup)):
                value = fields[lookup]
                return self._item(record, Op.DELETE, {}, make_key([(lookup, value)]),
                                  lead_key=value)
            raise Rejected(MISSING_KEY, f"Value for lookup field '{lookup}' not specified "
                           "(nor 'id')")
        if not _present(fields.get(lookup)):
            raise Rejected(MISSING_KEY, f"Value for lookup field '{lookup}' not specified",
                           {lookup: fields.get(lookup)})
        key = make_key([(lookup, fields[lookup])])
        payload = self._check_fields(fields, keep={lookup})
        action = self.binding.action
        if lookup == "id" and action != "updateOnly":
            # Marketo accepts `id` as the lookup only with updateOnly.
            action = "updateOnly"
        return self._item(record, Op.UPSERT, payload, key, action=action)

    # --- companies, sales persons, opportunities, roles, custom objects --------------------

    def _standard(self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool) -> Item:
        kind = self.kind
        lead_key = None
        if kind.lead_ref:
            # Roles (and lead-linked custom objects) may name their lead by the CRM's key;
            # it is resolved to Marketo's lead id before sending.
            lead_id, lead_key = self._lead_ref(fields)
            if lead_id is not None:
                fields[kind.lead_ref] = lead_id
        keys = kind.dedupe_fields
        have = {
            name: (fields.get(name) if name != kind.lead_ref or lead_key is None else lead_key)
            for name in keys
        }
        missing = [name for name, value in have.items() if not _present(value)]
        id_value = fields.get(kind.id_field)
        if missing and not (
            _present(id_value) and (is_delete or self.binding.action == "updateOnly")
        ):
            what = ", ".join(f"'{m}'" for m in missing)
            raise Rejected(
                MISSING_KEY, f"Value for required field {what} not specified",
                {name: have[name] for name in keys},
            )
        if missing:
            # Only the Marketo id is known: dedupeBy/deleteBy idField.
            key = make_key([(kind.id_field, id_value)])
            if is_delete:
                return self._item(record, Op.DELETE, {kind.id_field: id_value}, key,
                                  dedupe_by="idField")
            payload = self._check_fields(fields, keep={kind.id_field})
            return self._item(record, Op.UPSERT, payload, key, dedupe_by="idField",
                              action="updateOnly")
        key = make_key(have.items())
        if is_delete:
            payload = {name: fields[name] for name in keys if name in fields}
            return self._item(record, Op.DELETE, payload, key, lead_key=lead_key)
        # The Marketo id of a record is not sent with dedupeFields (idField only pairs
        # with updateOnly); tap records carry it, so it is dropped here.
        fields.pop(kind.id_field, None)
        payload = self._check_fields(fields, keep=set(keys) - {kind.lead_ref or ""})
        return self._item(record, Op.UPSERT, payload, key, lead_key=lead_key)

    # --- program and list membership, campaign requests -------------------------------------

    def _int_field(self, fields: dict[str, Any], name: str, alt: str | None = None) -> Any:
        value = fields.pop(name, None)
        if not _present(value) and alt:
            value = fields.pop(alt, None)
        if not _present(value):
            raise Rejected(MISSING_KEY, f"Value for required field '{name}' not specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise Rejected("1001", f"Invalid value '{value}' for field '{name}'") from None

    def _program_member(
        self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool
    ) -> Item:
        program_id = self._int_field(fields, "programId")
        lead_id, lead_key = self._required_lead_ref(fields)
        key = make_key([("programId", program_id), ("lead", lead_id or lead_key)])
        base = {"leadId": lead_id} if lead_id is not None else {}
        if is_delete:
            return self._item(record, Op.DELETE, base, key, lead_key=lead_key,
                              group=(program_id,))
        status = fields.pop("statusName", None)
        # A tap round trip carries Marketo-managed member fields (membershipDate,
        # reachedSuccess...): describe marks them read-only and they are dropped.
        for name in ("program", "programId", "leadId"):
            fields.pop(name, None)
        data = self._check_fields(fields, keep=set())
        if not _present(status) and not data:
            raise Rejected(UNUSABLE_RECORD, "nothing to write: no statusName and no "
                           "updateable member field")
        return self._item(record, Op.UPSERT, {**base, **data}, key, lead_key=lead_key,
                          group=(program_id,), status_name=status or None)

    def _list_member(self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool) -> Item:
        list_id = self._int_field(fields, "listId")
        lead_id, lead_key = self._required_lead_ref(fields)
        key = make_key([("listId", list_id), ("lead", lead_id or lead_key)])
        # Membership has no fields of its own: anything else (createdAt...) is context.
        payload = {"id": lead_id} if lead_id is not None else {}
        return self._item(record, Op.DELETE if is_delete else Op.UPSERT, payload, key,
                          lead_key=lead_key, group=(list_id,))

    def _campaign_request(
        self, fields: dict[str, Any], record: dict[str, Any], is_delete: bool
    ) -> Item:
        if is_delete:
            raise Rejected(UNUSABLE_RECORD, "a campaign request cannot be deleted: a "
                           "triggered campaign has already run")
        campaign: Any = fields.pop("campaignId", None)
        campaign_name = fields.pop("campaignName", None)
        if _present(campaign):
            try:
                campaign = int(campaign)
            except (TypeError, ValueError):
                raise Rejected("1001", f"Invalid value '{campaign}' for 'campaignId'") from None
        elif _present(campaign_name):
            campaign = str(campaign_name)  # resolved to an id before sending
        else:
            raise Rejected(MISSING_KEY, "Value for required field 'campaignId' (or "
                           "'campaignName') not specified")
        lead_id, lead_key = self._required_lead_ref(fields)
        tokens = _tokens(fields.pop("tokens", None))
        key = make_key([("campaign", campaign), ("lead", lead_id or lead_key),
                        ("tokens", json.dumps(tokens))])
        payload = {"id": lead_id} if lead_id is not None else {}
        return self._item(record, Op.TRIGGER, payload, key, lead_key=lead_key,
                          group=(campaign, tuple(tuple(t) for t in tokens)))


def _tokens(value: Any) -> list[list[str]]:
    """``tokens`` as a list of {name, value} or a {name: value} object -> sorted pairs."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Rejected("1001", "tokens is not JSON") from None
    pairs: list[list[str]] = []
    if isinstance(value, dict):
        pairs = [[str(k), "" if v is None else str(v)] for k, v in value.items()]
    elif isinstance(value, list):
        for token in value:
            if not isinstance(token, dict) or "name" not in token:
                raise Rejected("1001", "each token needs a name and a value")
            pairs.append([str(token["name"]), str(token.get("value") or "")])
    else:
        raise Rejected("1001", "tokens must be a list of {name, value} or an object")
    return sorted(pairs)


def schema_problems(error: InvalidRecord, validator: Any) -> str:
    """Every way a record breaks its stream's schema, each naming its field."""
    found: list[Any] = []
    checker = getattr(validator, "validator", None)  # the SDK's jsonschema validator
    if checker is not None and hasattr(checker, "iter_errors") and error.record is not None:
        found = sorted(checker.iter_errors(error.record),
                       key=lambda e: [str(p) for p in e.absolute_path])
    if not found and error.__cause__ is not None:
        found = [error.__cause__]
    parts = []
    for problem in found:
        path = [str(p) for p in getattr(problem, "absolute_path", ())]
        where = f"Field '{'.'.join(path)}'" if path else "Record"
        parts.append(f"{where}: {getattr(problem, 'message', problem)}")
    detail = "; ".join(parts) or error.error_message
    return f"{detail} (violates the stream's schema)"


class CRMSink(SeamSink):
    """Buffers one stream's records as validated Items; writes happen at the drain.

    A record that breaks its stream's SCHEMA or lacks a declared key property is a
    reject (stream, key, code, message, record), not the end of the run: the SDK's checks
    are overridden to leave a verdict that ``process_record`` reports.
    """

    def __init__(
        self,
        target: TargetMarketoCRM,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        self.crm_target = target
        super().__init__(target, stream_name, schema, key_properties)
        self.binding = target.binding_for(stream_name)
        self.mapper = RecordMapper(
            self.binding, target.catalog, target.mapper_settings, logger=self.logger
        )
        self.rejects: RejectLog = target.rejects

    # --- verdicts on the SDK's record checks (see sdk_seam.SeamSink) ----------------------

    def verdict_on_schema(self, error: InvalidRecord, validator: Any) -> tuple[str, str]:
        return SCHEMA_VIOLATION, schema_problems(error, validator)

    def verdict_on_timestamp(self, error: ValueError) -> tuple[str, str]:
        return SCHEMA_VIOLATION, f"{error} (violates the stream's schema)"

    def verdict_on_missing_keys(self, missing: list[str]) -> tuple[str, str]:
        what = ", ".join(f"'{name}'" for name in missing)
        return (
            MISSING_KEY,
            f"Value for required field {what} not specified (key_properties of stream "
            f"{self.stream_name!r})",
        )

    def process_record(self, record: dict, context: dict) -> None:
        original = dict(record)
        verdict = self.take_verdict()
        try:
            if verdict is not None:
                raise Rejected(*verdict)
            item = self.mapper.to_item(dict(record))
        except Rejected as rejected:
            if rejected.key is None:
                rejected.key = self.mapper.key_of(original)
            self.rejects.add(
                stream=self.stream_name, object_name=self.mapper.kind.name,
                op="delete" if self.mapper.is_delete(original) else "upsert",
                key=rejected.key, code=rejected.code, message=rejected.message,
                record=original,
            )
            self.crm_target.count_record(rejected=True)
            return
        self.crm_target.count_record(rejected=False)
        context.setdefault("items", []).append(item)

    def process_batch(self, context: dict) -> None:
        # Staging only: the target's drain plans all streams together, in ORDER.
        self.crm_target.planner.stage(context.get("items", []))
