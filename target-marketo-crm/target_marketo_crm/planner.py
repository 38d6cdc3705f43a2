"""Per-drain planning: what every buffered record asks of Marketo, in dependency order.

Sinks only validate and buffer. When the target drains, the planner takes the records of
ALL streams at once, collapses repeats of one key (the last word wins, as in the CRM),
routes a converted lead's company-type fields to its company, and lays the writes out in
``objects.ORDER``, so that the order streams arrived in never matters.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from target_marketo_crm.objects import (
    COMPANIES,
    DEFAULT_ACTION,
    LEADS,
    ObjectKind,
    Op,
    ordered_steps,
)

_LOG = logging.getLogger("target_marketo_crm.planner")


@dataclass(eq=False)
class Item:
    """One record turned into one Marketo operation."""

    stream: str
    kind: str  # ObjectKind.name
    op: Op
    fields: dict[str, Any]  # the Marketo payload (leadId may still be missing)
    key: tuple[Any, ...]  # identity within a drain, for collapsing repeats
    record: dict[str, Any]  # as received, for the reject file
    action: str = DEFAULT_ACTION
    # "dedupeFields" or "idField" (standard/custom objects; deleteBy for deletes).
    dedupe_by: str = "dedupeFields"
    # The lookup-field value of a lead to resolve into ``leadId`` / ``id`` before sending.
    lead_key: Any = None
    # Request grouping beyond the object: programId, listId, campaign + tokens...
    group: tuple[Any, ...] = ()
    # Program membership: the status to set (the member-data fields stay in ``fields``).
    status_name: str | None = None
    seq: int = 0

    def key_dict(self) -> dict[str, Any]:
        """The key as the reject file shows it: field names with values as received."""
        shown = getattr(self.key, "shown", None)
        if shown is not None:
            return dict(shown)
        names = self.key[0::2]
        values = self.key[1::2]
        return dict(zip(names, values, strict=False))


class Key(tuple[Any, ...]):
    """A record's identity: compares by normalized values, shows the values as sent."""

    shown: dict[str, Any]


def make_key(pairs: Iterable[tuple[str, Any]]) -> Key:
    pairs = list(pairs)
    flat: list[Any] = []
    for name, value in pairs:
        flat.extend((name, normalize_key_value(value)))
    key = Key(flat)
    key.shown = dict(pairs)
    return key


def normalize_key_value(value: Any) -> Any:
    # Marketo matches string keys without regard to case or surrounding blanks
    # (lookups on email in particular), so two spellings are one record to it.
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Step:
    kind: ObjectKind
    op: Op
    items: list[Item]

    @property
    def label(self) -> str:
        return f"{self.op} {self.kind.name}"


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    merged_duplicates: int = 0

    @property
    def size(self) -> int:
        return sum(len(step.items) for step in self.steps)

    def counts(self) -> dict[str, int]:
        return {step.label: len(step.items) for step in self.steps}


class Planner:
    """Collects items from every sink between drains; ``take_plan`` empties it."""

    def __init__(
        self,
        *,
        kinds: Callable[[], dict[str, ObjectKind]],
        company_type_fields: Callable[[], frozenset[str]],
        action_for: Callable[[str], str],
        logger: logging.Logger | None = None,
    ) -> None:
        self._kinds = kinds
        self._company_type_fields = company_type_fields
        self._action_for = action_for
        self.log = logger or _LOG
        self._lock = threading.Lock()
        self._staged: list[Item] = []
        self._seq = 0

    @property
    def staged_count(self) -> int:
        with self._lock:
            return len(self._staged)

    def stage(self, items: Iterable[Item]) -> None:
        with self._lock:
            for item in items:
                self._seq += 1
                item.seq = self._seq
                self._staged.append(item)

    def take_plan(self) -> Plan:
        with self._lock:
            staged, self._staged = self._staged, []
        return self.build(staged)

    # --- building ---------------------------------------------------------------------

    def build(self, items: list[Item]) -> Plan:
        latest, merged = self._collapse(items)
        self._route_company_fields(latest)
        by_step: dict[tuple[str, Op], list[Item]] = collections.defaultdict(list)
        for item in sorted(
            (i for per_kind in latest.values() for i in per_kind.values()),
            key=lambda i: i.seq,
        ):
            by_step[(item.kind, item.op)].append(item)
        kinds = self._kinds()
        plan = Plan(merged_duplicates=merged)
        for name, op in ordered_steps(kinds):
            step_items = by_step.pop((name, op), None)
            if step_items:
                plan.steps.append(Step(kinds[name], op, step_items))
        if by_step:  # an object the order does not know: a bug, never silently skipped
            unknown = ", ".join(f"{op} {name}" for name, op in by_step)
            raise RuntimeError(f"no place in the write order for: {unknown}")
        return plan

    def _collapse(
        self, items: list[Item]
    ) -> tuple[dict[str, dict[tuple[Any, ...], Item]], int]:
        """One item per (object, key): the CRM's last word wins.

        An upsert after an upsert merges (later fields override, earlier ones not repeated
        survive, as two successive syncs would leave them); a delete replaces whatever came
        before it, and an upsert after a delete replaces the delete (the record was
        re-created), so Adobe's "upserts before deletes" order cannot undo the CRM's order.
        """
        latest: dict[str, dict[tuple[Any, ...], Item]] = collections.defaultdict(dict)
        merged = 0
        for item in sorted(items, key=lambda i: i.seq):
            per_kind = latest[item.kind]
            previous = per_kind.get(item.key)
            if previous is None:
                per_kind[item.key] = item
                continue
            merged += 1
            if item.op is Op.UPSERT and previous.op is Op.UPSERT and previous.group == item.group:
                item.fields = {**previous.fields, **item.fields}
                if item.status_name is None:
                    item.status_name = previous.status_name
            # Keep the key's first position so ordering inside a step stays stable.
            item.seq = previous.seq
            per_kind[item.key] = item
        return latest, merged

    def _route_company_fields(self, latest: dict[str, dict[tuple[Any, ...], Item]]) -> None:
        """Lead conversion: company-type fields of a company-linked lead go to the company.

        Marketo refuses them through lead sync (1021). Only values are moved, never nulls:
        a contact export rarely carries its account's data, and a null would wipe what the
        companies stream (or an earlier run) wrote. The companies stream wins over values
        derived from leads for the same company.
        """
        lead_items = [i for i in latest.get(LEADS.name, {}).values() if i.op is Op.UPSERT]
        linked = [i for i in lead_items if _present(i.fields.get("externalCompanyId"))]
        if not linked:
            return
        company_fields = self._company_type_fields()
        companies = latest.setdefault(COMPANIES.name, {})
        for lead in linked:
            moved = {
                name: lead.fields[name] for name in company_fields
                if name in lead.fields and lead.fields[name] is not None
            }
            lead.fields = {k: v for k, v in lead.fields.items() if k not in company_fields}
            if not moved:
                continue
            external_id = lead.fields["externalCompanyId"]
            key = make_key([("externalCompanyId", external_id)])
            existing = companies.get(key)
            if existing is None:
                companies[key] = Item(
                    stream=lead.stream, kind=COMPANIES.name, op=Op.UPSERT,
                    fields={"externalCompanyId": external_id, **moved}, key=key,
                    record=lead.record, action=self._action_for(COMPANIES.name),
                    seq=lead.seq,
                )
            elif existing.op is Op.UPSERT:
                for name, value in moved.items():
                    existing.fields.setdefault(name, value)
            else:
                self.log.info(
                    "Company %s is deleted in this batch; company fields of lead %s not "
                    "written", external_id, lead.key_dict(),
                )


def _present(value: Any) -> bool:
    return value is not None and value != ""
