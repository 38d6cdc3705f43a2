"""Execute a drain's plan against Marketo, step by step, requests in parallel within a step.

Each step of the plan is a barrier (the dependency order); inside a step, requests of up
to 300 records and under 1 MB run concurrently up to the client's concurrency cap, and
the client keeps them inside the rate window. Per-record results come back inside
``success:true`` responses: each skipped record is either harmless (already gone,
already there) or reported as a reject. Transient failures are the client's to retry;
what the client gives up on stops the run, so no STATE is emitted past unwritten records.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from marketo_core.client import MarketoClient
from marketo_core.errors import MarketoAPIError, MarketoHTTPError
from marketo_core.partitions import partitions_out_of_sight

from target_marketo_crm.bulk_import import BulkLeadImporter
from target_marketo_crm.catalog import Catalog
from target_marketo_crm.lead_ids import AMBIGUOUS, LeadResolver
from target_marketo_crm.objects import (
    COMPANIES,
    DEFAULT_ACTION,
    LEADS,
    MAX_BODY_BYTES,
    MAX_CAMPAIGN_LEADS_PER_CALL,
    MAX_RECORDS_PER_CALL,
    OPPORTUNITIES,
    OPPORTUNITY_ROLES,
    Family,
    ObjectKind,
    Op,
)
from target_marketo_crm.planner import Item, Plan, Step, make_key
from target_marketo_crm.planner import normalize_key_value as _norm
from target_marketo_crm.rejects import (
    LEAD_NOT_FOUND,
    MULTIPLE_LEADS,
    NOT_FOUND,
    RejectLog,
    json_default,
)
from target_marketo_crm.settings import DEFAULTS

_LOG = logging.getLogger("target_marketo_crm.writer")

# Request-level codes that a single record can cause (an unknown field, a bad value):
# the batch is split until the offending records are isolated and rejected, and the
# rest of the batch is written.
RECORD_CODES = frozenset({"1001", "1004", "1006", "1007", "1011"})
# Request-level codes about the program / list / campaign in the path (not found, a
# campaign that cannot be requested...): every record of that call is rejected with it.
GROUP_CODES = frozenset({"1003", "1013", "1025", "610", "709"})
# Skips that are not failures, per action: createOnly met an existing record.
UNCHANGED_ON_CREATE_ONLY = frozenset({"1005", "1017"})
# Program status: "already in/past that status" (a re-run) is not a failure.
UNCHANGED_STATUS = frozenset({"1037"})
# Lead sync refusing company-type fields of a lead Marketo already links to a company.
COMPANY_UPDATE_NOT_ALLOWED = "1021"
# Resends of a lead refused with 1021, each taking out the field Marketo named.
LINKED_LEAD_ROUNDS = 2
# Record-level "object in use (retry later)".
RETRY_LATER = "1022"
# "CRM Enabled": a native Salesforce / Dynamics sync owns companies, opportunities, roles
# and sales persons, and Marketo refuses every write of them (docs/MARKETO.md section 9).
# Nothing can change that during a run, so once Marketo has said it for an object the
# rest of that object's records are rejected with the same reason without being sent.
CRM_ENABLED = "1018"
# Marketo says "retry later"; once is enough to tell a passing lock from a parent that
# still has children (which no wait will fix).
RETRY_LATER_DELAYS = (2.0,)

_FIELD_IN_MESSAGE = re.compile(r"[Ff]ield\s+'([^']+)'")
# Bytes kept free under Marketo's 1 MB body limit for the envelope around `input`.
_BODY_MARGIN = 4096


@dataclass
class WriterSettings:
    """What the writer needs of the settings; defaults are the settings' own."""

    lookup_field: str = DEFAULTS["lookup_field"]
    partition_name: str | None = None
    bulk_import_threshold: int = DEFAULTS["bulk_import_threshold"]
    bulk_import_poll_seconds: float = DEFAULTS["bulk_import_poll_seconds"]
    bulk_import_timeout_seconds: float = 3600.0
    dry_run: bool = DEFAULTS["dry_run"]
    cascade_deletes: bool = DEFAULTS["cascade_deletes"]
    max_concurrency: int = DEFAULTS["max_concurrency"]
    batch_size: int = DEFAULTS["records_per_call"]
    # The action for company records a lead's company-type fields are routed to.
    company_action: str = DEFAULT_ACTION


@dataclass
class Call:
    """One request, and the items its ``input`` holds (in order)."""

    method: str
    path: str
    body: dict[str, Any]
    items: list[Item]
    kind: ObjectKind
    op: Op
    label: str
    # Campaign triggers answer for the campaign, not per lead.
    per_record: bool = True
    # The path names a program/list/campaign: GROUP_CODES concern every item.
    grouped: bool = False
    # How the items' statuses are judged.
    unchanged_codes: frozenset[str] = frozenset()
    rebuild: Callable[[list[Item]], list[Call]] | None = None


@dataclass
class Tally:
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    records: collections.Counter[str] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)


class Writer:
    def __init__(
        self,
        client: MarketoClient,
        catalog: Catalog,
        rejects: RejectLog,
        settings: WriterSettings,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.rejects = rejects
        self.settings = settings
        self.log = logger or _LOG
        self.resolver = LeadResolver(client, settings.lookup_field, logger=self.log)
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, settings.max_concurrency), thread_name_prefix="marketo-write"
        )
        self.bulk = BulkLeadImporter(
            client, settings.lookup_field, rejects,
            partition_name=settings.partition_name,
            poll_seconds=settings.bulk_import_poll_seconds,
            timeout_seconds=settings.bulk_import_timeout_seconds,
            logger=self.log,
        )
        self.tally = Tally()
        self._lock = threading.Lock()
        self._campaign_ids: dict[str, int | None] = {}
        self._retry_later: list[tuple[Call, Item]] = []
        self._upcoming: list[Step] = []
        self._linked_leads: list[tuple[Call, Item, str]] = []
        self._dry_known: set[Any] = set()  # dry run: lead keys a real run would know
        # ids of items rejected so far: a membership whose status failed gets no field update
        self._failed: set[int] = set()
        # Objects Marketo answered 1018 for (CRM-owned): object name -> Marketo's message.
        self._crm_owned: dict[str, str] = {}
        # (stream, object) pairs already told about in the log: once each.
        self._crm_owned_told: set[tuple[str, str]] = set()
        # Lead partitions that show no lead over REST (None: not read yet).
        self._unseen_partitions: list[str] | None = None

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    # --- bookkeeping -------------------------------------------------------------------------

    def _count(self, outcome: str, label: str, n: int = 1) -> None:
        with self._lock:
            self.tally.outcomes[f"{label}: {outcome}"] += n

    def _count_call(self, label: str, records: int) -> None:
        with self._lock:
            self.tally.calls[label] += 1
            self.tally.records[label] += records

    def _reject(self, item: Item, code: str, message: str, op: str | None = None) -> None:
        self.rejects.add(
            stream=item.stream, object_name=item.kind, op=op or str(item.op),
            key=item.key_dict(), code=code, message=message, record=item.record,
        )
        self._count("rejected", _item_label(item))
        with self._lock:
            self._failed.add(id(item))

    # --- the plan ----------------------------------------------------------------------------

    def execute(self, plan: Plan) -> None:
        self.resolver.drop_misses()
        with self._lock:
            # Item ids are only meaningful while the plan's items are alive.
            self._failed.clear()
        for index, step in enumerate(plan.steps):
            started = time.monotonic()
            self._upcoming = plan.steps[index + 1:]
            self._run_step(step)
            self.log.info(
                "%s: %d records in %.2f s%s", step.label, len(step.items),
                time.monotonic() - started, " (dry run)" if self.settings.dry_run else "",
            )

    def _run_step(self, step: Step) -> None:
        items = self._with_lead_ids(step)
        if not items:
            return
        write = WRITES.get((step.kind.family, step.op))
        if write is None:
            raise ValueError(f"no way to write {step.op} of {step.kind.name} "
                             f"({step.kind.family} objects)")
        write(self, step.kind, items)
        self._retry_in_use()

    # --- one step's writes, by object family and operation (the WRITES table) ---------------

    def _upsert_leads(self, kind: ObjectKind, items: list[Item]) -> None:
        """Through bulk import when the load is large enough, else REST batches; then
        the leads Marketo refused for company-type fields, without them."""
        _ = kind
        if self._use_bulk_import(items):
            self._bulk_import([i for i in items if self.bulk.importable(i)])
            items = [i for i in items if not self.bulk.importable(i)]
        self._send_all(self._lead_upsert_calls(items))
        self._resend_linked_leads()

    def _delete_leads(self, kind: ObjectKind, items: list[Item]) -> None:
        _ = kind
        self._send_all(self._lead_delete_calls(items))

    def _sync_records(self, kind: ObjectKind, items: list[Item]) -> None:
        self._send_all(self._sync_calls(kind, items))

    def _delete_records(self, kind: ObjectKind, items: list[Item]) -> None:
        if self.settings.cascade_deletes:
            self._cascade_before_delete(kind, items)
        self._send_all(self._delete_calls(kind, items))

    def _remove_program_members(self, kind: ObjectKind, items: list[Item]) -> None:
        self._send_all(self._program_member_delete_calls(kind, items))

    def _add_list_members(self, kind: ObjectKind, items: list[Item]) -> None:
        self._send_all(self._list_calls(kind, Op.UPSERT, items))

    def _remove_list_members(self, kind: ObjectKind, items: list[Item]) -> None:
        self._send_all(self._list_calls(kind, Op.DELETE, items))

    def _trigger_campaigns(self, kind: ObjectKind, items: list[Item]) -> None:
        self._send_all(self._campaign_calls(kind, items))

    # --- lead ids ----------------------------------------------------------------------------

    def _with_lead_ids(self, step: Step) -> list[Item]:
        """Fill leadId/id from lead keys; settle the items whose lead cannot be found."""
        kind = step.kind
        needing = [i for i in step.items if i.lead_key is not None]
        if not needing:
            return list(step.items)
        target_field = self._lead_id_field(kind)
        later = [i.lead_key for s in self._upcoming for i in s.items if i.lead_key is not None]
        if self.settings.dry_run:
            # As in a real run: leads upserted earlier are known from their results, and
            # one pass resolves this step's keys and the later steps' together.
            wanted = {_norm(k) for k in (*(i.lead_key for i in needing), *later)}
            missing = wanted - self._dry_known
            if missing:
                with self._lock:
                    self.tally.calls["resolve lead ids (read)"] += -(
                        -len(missing) // MAX_RECORDS_PER_CALL
                    )
            self._dry_known |= missing
            for item in needing:
                item.fields[target_field] = 0
            return list(step.items)
        # One resolution pass for this step AND the steps after it: every lead they name
        # exists by now (lead upserts come first in ORDER), so 300 keys share each call
        # instead of each step paying for its own partial batch.
        self.resolver.resolve([*(i.lead_key for i in needing), *later], executor=self.executor)
        resolved = self.resolver.resolve(i.lead_key for i in needing)
        ready: list[Item] = []
        lookup = self.settings.lookup_field
        for item in step.items:
            if item.lead_key is None:
                ready.append(item)
                continue
            found = resolved.get(_norm(item.lead_key))
            if found is AMBIGUOUS:
                self._reject(item, MULTIPLE_LEADS,
                             f"Multiple leads match the lookup criteria {lookup}="
                             f"{item.lead_key!r}; not guessing which one")
            elif found is None:
                # REST reads leave out leads of partitions the API role cannot see: such a
                # lead looks exactly like one that does not exist (docs/MARKETO.md section 9).
                unseen = (f"Lead not found ({lookup}={item.lead_key!r}): no such lead, or it is "
                          "in a lead partition the API user's role cannot see")
                if step.op is Op.DELETE:
                    # No such lead: whatever hung off it is gone too. Where some partition
                    # shows no lead over REST it may be a lead out of sight that stays:
                    # then it is said in reject_file, as a warning.
                    self._count("already gone", _item_label(item))
                    if self._partitions_out_of_sight():
                        self.rejects.add(
                            stream=item.stream, object_name=item.kind, op=str(item.op),
                            key=item.key_dict(), code=LEAD_NOT_FOUND,
                            message=f"{unseen}; nothing deleted", record=item.record,
                            warning=True,
                        )
                else:
                    self._reject(item, LEAD_NOT_FOUND, unseen)
            else:
                item.fields[target_field] = found
                ready.append(item)
        return ready

    def _partitions_out_of_sight(self) -> list[str]:
        """Lead partitions showing no lead over REST (marketo_core.partitions), read once
        per run and only when a lead key finds nothing; unknown (an error) counts as some."""
        if self._unseen_partitions is None:
            try:
                self._unseen_partitions = partitions_out_of_sight(self.client)
            except MarketoAPIError as exc:
                self._unseen_partitions = [f"(not readable: {exc})"]
            if self._unseen_partitions:
                self.log.info(
                    "Lead partition(s) %s show no lead over REST (empty, or outside the API "
                    "role): a lead delete whose key finds no lead is reported as a warning",
                    ", ".join(self._unseen_partitions),
                )
        return self._unseen_partitions

    @staticmethod
    def _lead_id_field(kind: ObjectKind) -> str:
        if kind.family in (Family.LEADS, Family.LIST_MEMBERS, Family.CAMPAIGN_REQUESTS):
            return "id"
        return kind.lead_ref or "leadId"

    # --- batching ----------------------------------------------------------------------------

    def _batches(
        self, items: list[Item], payload: Callable[[Item], Any], limit: int | None = None
    ) -> Iterator[list[Item]]:
        """<= ``limit`` records and under Marketo's 1 MB body per request."""
        limit = min(limit or self.settings.batch_size, self.settings.batch_size)
        budget = MAX_BODY_BYTES - _BODY_MARGIN
        batch: list[Item] = []
        size = 0
        for item in items:
            item_size = len(
                json.dumps(payload(item), default=json_default, ensure_ascii=False).encode()
            ) + 1
            if batch and (len(batch) >= limit or size + item_size > budget):
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += item_size
        if batch:
            yield batch

    @staticmethod
    def _grouped(items: Iterable[Item], key: Callable[[Item], Any]) -> dict[Any, list[Item]]:
        groups: dict[Any, list[Item]] = {}
        for item in items:
            groups.setdefault(key(item), []).append(item)
        return groups

    # --- leads -------------------------------------------------------------------------------

    def _use_bulk_import(self, items: list[Item]) -> bool:
        threshold = self.settings.bulk_import_threshold
        return (
            threshold > 0
            and len(items) >= threshold
            # Bulk import always upserts by lookupField: other actions stay on REST.
            and all(i.action == "createOrUpdate" for i in items)
        )

    def _bulk_import(self, items: list[Item]) -> None:
        if not items:
            return
        label = "leads bulk import"
        if self.settings.dry_run:
            files = self.bulk.plan_files(items)
            with self._lock:
                # One upload, at least one status poll, per file.
                self.tally.calls[label] += 2 * len(files)
                self.tally.records[label] += len(items)
            return
        outcome = self.bulk.run(items)
        self.resolver.drop_misses()
        with self._lock:
            self.tally.calls[label] += outcome.calls
            self.tally.records[label] += len(items)
        self._count("imported", label, outcome.imported)

    def _lead_upsert_calls(self, items: list[Item]) -> list[Call]:
        if not items:
            return []
        if self.settings.dry_run:
            lookup = self.settings.lookup_field
            self._dry_known |= {_norm(i.fields.get(lookup)) for i in items}
        calls: list[Call] = []
        for action, group in self._grouped(items, lambda i: i.action).items():
            def build(batch_items: list[Item], action: str = action) -> list[Call]:
                out = []
                for batch in self._batches(batch_items, lambda i: i.fields):
                    body: dict[str, Any] = {
                        "action": action,
                        "lookupField": self.settings.lookup_field,
                        "input": [dict(i.fields) for i in batch],
                    }
                    if self.settings.partition_name:
                        body["partitionName"] = self.settings.partition_name
                    out.append(Call(
                        "POST", LEADS.sync_path, body, batch, LEADS, Op.UPSERT,
                        f"leads {action}",
                        unchanged_codes=(
                            UNCHANGED_ON_CREATE_ONLY if action == "createOnly" else frozenset()
                        ),
                        rebuild=build,
                    ))
                return out
            calls.extend(build(group))
        return calls

    def _resend_linked_leads(self) -> None:
        """Leads Marketo refused with 1021 ("company update not allowed"): the record
        carries company-type fields of a lead linked to a company. They are taken out and
        the rest of the lead is sent again.

        - The record names its company (``externalCompanyId``): the planner routed the
          company-type fields describe knows, so Marketo refused one it does not list
          as such. Those fields go to that company record (values only, never nulls,
          as the planner does), then the lead is resent; nothing is lost.
        - The lead is linked in Marketo but the record does not say to which company:
          the fields are dropped (the lead's copy may be stale) and reported as a
          warning.

        A field named in Marketo's message is taken out too, so a describe that misses
        one cannot make the resend fail the same way; a lead refused again after
        ``LINKED_LEAD_ROUNDS`` resends, or with nothing left to take out, is a reject.
        """
        lookup = self.settings.lookup_field
        for attempt in range(LINKED_LEAD_ROUNDS + 1):
            with self._lock:
                pending, self._linked_leads = self._linked_leads, []
            if not pending:
                return
            company_fields = self.catalog.company_type_fields()
            resend: dict[int, tuple[Call, list[Item]]] = {}
            to_company: dict[Any, Item] = {}
            for call, item, message in pending:
                refused = set(company_fields)
                named = _FIELD_IN_MESSAGE.search(message)
                if named:
                    refused.add(named.group(1))
                refused -= {lookup, "externalCompanyId"}
                dropped = sorted(k for k in item.fields if k in refused)
                if not dropped or attempt == LINKED_LEAD_ROUNDS:
                    self._reject(item, COMPANY_UPDATE_NOT_ALLOWED, message)
                    continue
                moved = {k: item.fields[k] for k in dropped if item.fields[k] is not None}
                item.fields = {k: v for k, v in item.fields.items() if k not in refused}
                company_id = item.fields.get("externalCompanyId")
                if company_id is not None and company_id != "":
                    if moved:
                        self._company_item(to_company, item, company_id, moved)
                    self.log.info(
                        "Lead %s: Marketo refused %s through lead sync (1021); written to "
                        "company %s instead", item.key_dict(), ", ".join(dropped), company_id,
                    )
                else:
                    self.rejects.add(
                        stream=item.stream, object_name=item.kind, op=str(item.op),
                        key=item.key_dict(), code=COMPANY_UPDATE_NOT_ALLOWED,
                        message=f"{message}; the lead is linked to a company in Marketo, "
                        f"so {', '.join(dropped)} were not written (they belong to the "
                        "company) and the rest of the lead was",
                        record=item.record, warning=True,
                    )
                if any(k != lookup for k in item.fields):
                    resend.setdefault(id(call.rebuild), (call, []))[1].append(item)
                else:
                    self._count("unchanged", call.label)
            # The company first: the lead written next links to it with its values.
            self._send_all(self._sync_calls(COMPANIES, list(to_company.values())))
            calls: list[Call] = []
            for call, items in resend.values():
                assert call.rebuild is not None
                calls.extend(call.rebuild(items))
            self._send_all(calls)

    def _company_item(self, to_company: dict[Any, Item], lead: Item, company_id: Any,
                      moved: dict[str, Any]) -> None:
        key = make_key([("externalCompanyId", company_id)])
        existing = to_company.get(key)
        if existing is not None:
            for name, value in moved.items():
                existing.fields.setdefault(name, value)
            return
        to_company[key] = Item(
            stream=lead.stream, kind=COMPANIES.name, op=Op.UPSERT,
            fields={"externalCompanyId": company_id, **moved}, key=key, record=lead.record,
            action=self.settings.company_action,
        )

    def _lead_delete_calls(self, items: list[Item]) -> list[Call]:
        def build(group: list[Item]) -> list[Call]:
            return [
                Call("POST", LEADS.delete_path, {"input": [{"id": i.fields["id"]} for i in b]},
                     b, LEADS, Op.DELETE, "leads delete", rebuild=build)
                for b in self._batches(group, lambda i: {"id": i.fields["id"]})
            ]
        return build(items)

    # --- standard and custom objects --------------------------------------------------------

    def _sync_calls(self, kind: ObjectKind, items: list[Item]) -> list[Call]:
        calls: list[Call] = []
        for (action, dedupe_by), group in self._grouped(
            items, lambda i: (i.action, i.dedupe_by)
        ).items():
            def build(batch_items: list[Item], action: str = action,
                      dedupe_by: str = dedupe_by) -> list[Call]:
                return [
                    Call(
                        "POST", kind.sync_path,
                        {"action": action, "dedupeBy": dedupe_by,
                         "input": [dict(i.fields) for i in b]},
                        b, kind, Op.UPSERT, f"{kind.name} {action}",
                        unchanged_codes=(
                            UNCHANGED_ON_CREATE_ONLY if action == "createOnly" else frozenset()
                        ),
                        rebuild=build,
                    )
                    for b in self._batches(batch_items, lambda i: i.fields)
                ]
            calls.extend(build(group))
        return calls

    def _delete_calls(self, kind: ObjectKind, items: list[Item]) -> list[Call]:
        calls: list[Call] = []
        for delete_by, group in self._grouped(items, lambda i: i.dedupe_by).items():
            def build(batch_items: list[Item], delete_by: str = delete_by) -> list[Call]:
                return [
                    Call("POST", kind.delete_path,
                         {"deleteBy": delete_by, "input": [dict(i.fields) for i in b]},
                         b, kind, Op.DELETE, f"{kind.name} delete", rebuild=build)
                    for b in self._batches(batch_items, lambda i: i.fields)
                ]
            calls.extend(build(group))
        return calls

    def _cascade_before_delete(self, kind: ObjectKind, items: list[Item]) -> None:
        """Children a CRM delete leaves behind, removed so the parent can go.

        An opportunity's remaining roles are deleted first: a CRM deleting an opportunity
        deletes its contact roles without telling anyone. (Sales persons have no such
        cascade: leads cannot be searched by ``externalSalesPersonId``, so the re-pointing
        Adobe asks for comes from the CRM's own lead updates, which ORDER writes first;
        a sales person still owning leads is reported with Marketo's 1022.)
        """
        if kind.name == OPPORTUNITIES.name:
            self._delete_remaining_roles(items)

    def _query_all(self, path: str, filter_type: str, values: list[Any],
                   fields: list[str]) -> list[dict[str, Any]]:
        chunks = [values[i:i + MAX_RECORDS_PER_CALL]
                  for i in range(0, len(values), MAX_RECORDS_PER_CALL)]

        def fetch(chunk: list[Any]) -> list[dict[str, Any]]:
            params = {"filterType": filter_type, "filterValues": [str(v) for v in chunk],
                      "fields": fields, "batchSize": MAX_RECORDS_PER_CALL}
            return list(self.client.iter_results(path, params))

        if self.settings.dry_run:
            with self._lock:
                self.tally.calls[f"read {path}"] += len(chunks)
            return []
        found: list[dict[str, Any]] = []
        for part in self.executor.map(fetch, chunks):
            found.extend(part)
        return found

    def _delete_remaining_roles(self, items: list[Item]) -> None:
        by_external = {
            _norm(i.fields["externalOpportunityId"]): i for i in items
            if i.dedupe_by == "dedupeFields" and "externalOpportunityId" in i.fields
        }
        if not by_external:
            return
        roles = self._query_all(
            OPPORTUNITY_ROLES.sync_path, "externalOpportunityId",
            [i.fields["externalOpportunityId"] for i in by_external.values()],
            ["marketoGUID", "externalOpportunityId", "leadId", "role"],
        )
        children: list[Item] = []
        for role in roles:
            parent = by_external.get(_norm(role.get("externalOpportunityId")))
            if parent is None or not role.get("marketoGUID"):
                continue
            children.append(Item(
                stream=parent.stream, kind=OPPORTUNITY_ROLES.name, op=Op.DELETE,
                fields={"marketoGUID": role["marketoGUID"]},
                key=make_key([("externalOpportunityId", role.get("externalOpportunityId")),
                              ("leadId", role.get("leadId")), ("role", role.get("role"))]),
                record=parent.record, dedupe_by="idField",
            ))
        if children:
            self.log.info("Deleting %d remaining roles of %d deleted opportunities first",
                          len(children), len(by_external))
            self._send_all(self._delete_calls(OPPORTUNITY_ROLES, children))

    # --- program membership ------------------------------------------------------------------

    def _program_member_upserts(self, kind: ObjectKind, items: list[Item]) -> None:
        """Status first (it creates the membership), then member fields."""
        status_calls: list[Call] = []
        by_status = self._grouped(
            (i for i in items if i.status_name), lambda i: (i.group[0], i.status_name)
        )
        for (program_id, status), group in by_status.items():
            def build(batch_items: list[Item], program_id: int = program_id,
                      status: str = status) -> list[Call]:
                return [
                    Call("POST", f"/rest/v1/programs/{program_id}/members/status.json",
                         {"statusName": status,
                          "input": [{"leadId": i.fields["leadId"]} for i in b]},
                         b, kind, Op.UPSERT, "program_members status",
                         grouped=True, unchanged_codes=UNCHANGED_STATUS, rebuild=build)
                    for b in self._batches(batch_items, lambda i: {"leadId": 0})
                ]
            status_calls.extend(build(group))
        self._send_all(status_calls)
        self._retry_in_use()
        with_data = [
            i for i in items
            if any(k != "leadId" for k in i.fields) and id(i) not in self._failed
        ]
        data_calls: list[Call] = []
        for (program_id,), group in self._grouped(with_data, lambda i: i.group).items():
            def build_data(batch_items: list[Item], program_id: int = program_id) -> list[Call]:
                return [
                    Call("POST", f"/rest/v1/programs/{program_id}/members.json",
                         {"input": [dict(i.fields) for i in b]},
                         b, kind, Op.UPSERT, "program_members fields", grouped=True,
                         rebuild=build_data)
                    for b in self._batches(batch_items, lambda i: i.fields)
                ]
            data_calls.extend(build_data(group))
        self._send_all(data_calls)
        self._retry_in_use()

    def _program_member_delete_calls(self, kind: ObjectKind, items: list[Item]) -> list[Call]:
        calls: list[Call] = []
        for (program_id,), group in self._grouped(items, lambda i: i.group).items():
            def build(batch_items: list[Item], program_id: int = program_id) -> list[Call]:
                return [
                    Call("POST", f"/rest/v1/programs/{program_id}/members/delete.json",
                         {"input": [{"leadId": i.fields["leadId"]} for i in b]},
                         b, kind, Op.DELETE, "program_members delete", grouped=True,
                         rebuild=build)
                    for b in self._batches(batch_items, lambda i: {"leadId": 0})
                ]
            calls.extend(build(group))
        return calls

    # --- static lists ------------------------------------------------------------------------

    def _list_calls(self, kind: ObjectKind, op: Op, items: list[Item]) -> list[Call]:
        # Add is POST, remove is DELETE on the same path, both with {"input":[{"id"}]}.
        method = "DELETE" if op is Op.DELETE else "POST"
        label = "list_members remove" if op is Op.DELETE else "list_members add"
        calls: list[Call] = []
        for (list_id,), group in self._grouped(items, lambda i: i.group).items():
            def build(batch_items: list[Item], list_id: int = list_id) -> list[Call]:
                return [
                    Call(method, f"/rest/v1/lists/{list_id}/leads.json",
                         {"input": [{"id": i.fields["id"]} for i in b]},
                         b, kind, op, label, grouped=True, rebuild=build)
                    for b in self._batches(batch_items, lambda i: {"id": 0})
                ]
            calls.extend(build(group))
        return calls

    # --- campaign requests -------------------------------------------------------------------

    def _campaign_id(self, campaign: Any) -> int | None:
        if isinstance(campaign, int):
            return campaign
        name = str(campaign)
        if name not in self._campaign_ids:
            if self.settings.dry_run:
                with self._lock:
                    self.tally.calls["read /rest/v1/campaigns.json"] += 1
                self._campaign_ids[name] = 0
            else:
                found = None
                for item in self.client.iter_results(
                    "/rest/v1/campaigns.json", {"name": name, "batchSize": 300}
                ):
                    if str(item.get("name")) == name:
                        found = int(item["id"])
                        break
                self._campaign_ids[name] = found
        return self._campaign_ids[name]

    def _campaign_calls(self, kind: ObjectKind, items: list[Item]) -> list[Call]:
        calls: list[Call] = []
        for (campaign, tokens), group in self._grouped(items, lambda i: i.group).items():
            campaign_id = self._campaign_id(campaign)
            if campaign_id is None:
                for item in group:
                    self._reject(item, NOT_FOUND, f"Campaign {campaign!r} not found")
                continue
            token_list = [{"name": n, "value": v} for n, v in tokens]

            def build(batch_items: list[Item], campaign_id: int = campaign_id,
                      token_list: list[dict[str, str]] = token_list) -> list[Call]:
                out = []
                for b in self._batches(batch_items, lambda i: {"id": 0},
                                       limit=MAX_CAMPAIGN_LEADS_PER_CALL):
                    body_input: dict[str, Any] = {"leads": [{"id": i.fields["id"]} for i in b]}
                    if token_list:
                        body_input["tokens"] = token_list
                    out.append(Call(
                        "POST", f"/rest/v1/campaigns/{campaign_id}/trigger.json",
                        {"input": body_input}, b, kind, Op.TRIGGER, "campaign trigger",
                        per_record=False, grouped=True, rebuild=build,
                    ))
                return out
            calls.extend(build(group))
        return calls

    # --- sending -----------------------------------------------------------------------------

    def _send_all(self, calls: list[Call]) -> None:
        if not calls:
            return
        if self.settings.dry_run:
            for call in calls:
                self._count_call(call.label, len(call.items))
            return
        futures: list[Future[None]] = [self.executor.submit(self._send, c) for c in calls]
        first_error: BaseException | None = None
        for future in futures:
            # Every request is waited for, so a failure does not leave others unaccounted.
            error = future.exception()
            if error is not None and first_error is None:
                first_error = error
        if first_error is not None:
            raise first_error

    def _send(self, call: Call) -> None:
        with self._lock:
            owned_message = self._crm_owned.get(call.kind.name)
        if owned_message is not None:
            for item in call.items:
                self._reject_crm_owned(item, owned_message)
            return
        self._count_call(call.label, len(call.items))
        raise_on = RECORD_CODES | {CRM_ENABLED} | (GROUP_CODES if call.grouped else frozenset())
        try:
            body = self.client.request(
                call.method, call.path, json=call.body, raise_on=raise_on,
            )
        except MarketoAPIError as exc:
            if exc.code == CRM_ENABLED:
                # Documented per record; should an instance say it for the whole call, it
                # means the same for every record in it.
                for item in call.items:
                    self._reject_crm_owned(item, exc.message)
                return
            if exc.code in RECORD_CODES or (call.grouped and exc.code in GROUP_CODES):
                self._split_or_reject(call, str(exc.code), exc.message)
                return
            raise
        except MarketoHTTPError as exc:
            if exc.status == 413:
                self._split_or_reject(call, "413", "request body too large for Marketo")
                return
            raise
        self._settle(call, body)

    def _split_or_reject(self, call: Call, code: str, message: str) -> None:
        if call.grouped and code in GROUP_CODES:
            for item in call.items:
                self._reject(item, code, message)
            return
        if len(call.items) == 1 or call.rebuild is None:
            for item in call.items:
                self._reject(item, code, message)
            return
        items = call.items
        if code == "1006":
            # "Field 'x' not found": reject exactly the records carrying it, resend the rest.
            match = _FIELD_IN_MESSAGE.search(message)
            if match:
                bad = [i for i in items if match.group(1) in i.fields]
                if bad and len(bad) < len(items):
                    for item in bad:
                        self._reject(item, code, message)
                    rest = [i for i in items if i not in bad]
                    for sub in call.rebuild(rest):
                        self._send(sub)
                    return
        middle = len(items) // 2
        self.log.info("%s: Marketo refused a batch of %d with %s; splitting it to find the "
                      "records at fault", call.label, len(items), code)
        for half in (items[:middle], items[middle:]):
            for sub in call.rebuild(half):
                self._send(sub)

    def _settle(self, call: Call, body: dict[str, Any]) -> None:
        """Per-record outcomes of a successful call (result order = input order)."""
        if not call.per_record:
            self._count("ok", call.label, len(call.items))
            return
        results = [r for r in body.get("result") or [] if isinstance(r, dict)]
        by_seq = {int(r["seq"]): r for r in results if isinstance(r.get("seq"), int)}
        for index, item in enumerate(call.items):
            result = by_seq.get(index) if by_seq else (
                results[index] if index < len(results) else None
            )
            if result is None:
                self._reject(item, "no_result",
                             "Marketo returned no result for this record")
                continue
            status = str(result.get("status") or "")
            if status != "skipped":
                self._count(status or "ok", call.label)
                self._learn(call, item, result)
                continue
            code, message = _first_reason(result)
            if call.op is Op.DELETE and code in call.kind.gone_codes:
                self._count("already gone", call.label)
                self._forget(call, item)
            elif code in call.unchanged_codes:
                self._count("unchanged", call.label)
            elif (
                code == COMPANY_UPDATE_NOT_ALLOWED
                and call.kind.family is Family.LEADS
                and call.rebuild is not None
            ):
                with self._lock:
                    self._linked_leads.append((call, item, message))
            elif code == RETRY_LATER and call.rebuild is not None:
                with self._lock:
                    self._retry_later.append((call, item))
            elif code == CRM_ENABLED:
                self._reject_crm_owned(item, message)
            else:
                self._reject(item, code, message)

    def _reject_crm_owned(self, item: Item, message: str) -> None:
        """Reject a record of an object the CRM owns; the first one of each stream and
        object also says so in one log line, naming the stream and Marketo's reason."""
        with self._lock:
            self._crm_owned.setdefault(item.kind, message)
            first = (item.stream, item.kind) not in self._crm_owned_told
            self._crm_owned_told.add((item.stream, item.kind))
        if first:
            self.log.warning(
                "Stream %s: Marketo refuses writes of %s on this instance ([%s] %s: a "
                "native Salesforce / Dynamics sync owns them). Every %s record of this run is "
                "rejected with this reason (reject_file); write them in the CRM instead.",
                item.stream, item.kind, CRM_ENABLED, message, item.kind,
            )
        self._reject(item, CRM_ENABLED, message)

    def crm_owned_objects(self) -> dict[str, str]:
        """Objects Marketo refused as CRM-owned in this run, with its message."""
        with self._lock:
            return dict(self._crm_owned)

    def _learn(self, call: Call, item: Item, result: dict[str, Any]) -> None:
        if call.kind.family is not Family.LEADS:
            return
        lookup = self.settings.lookup_field
        if call.op is Op.UPSERT and call.body.get("lookupField") == lookup:
            self.resolver.learn(item.fields.get(lookup), result.get("id"))
        elif call.op is Op.DELETE:
            self._forget(call, item)

    def _forget(self, call: Call, item: Item) -> None:
        if call.kind.family is Family.LEADS and call.op is Op.DELETE:
            if item.lead_key is not None:
                self.resolver.forget(item.lead_key)
            self.resolver.forget_id(item.fields.get("id"))

    def _retry_in_use(self) -> None:
        """Records Marketo called "in use (retry later)": retried a few times, then
        reported with 1022."""
        for delay in RETRY_LATER_DELAYS:
            with self._lock:
                pending, self._retry_later = self._retry_later, []
            if not pending:
                return
            self.log.info("%d records were in use; retrying in %.0f s", len(pending), delay)
            time.sleep(delay)
            by_call: dict[int, tuple[Call, list[Item]]] = {}
            for call, item in pending:
                by_call.setdefault(id(call.rebuild), (call, []))[1].append(item)
            calls: list[Call] = []
            for call, items in by_call.values():
                assert call.rebuild is not None
                calls.extend(call.rebuild(items))
            self._send_all(calls)
        with self._lock:
            pending, self._retry_later = self._retry_later, []
        for _call, item in pending:
            self._reject(item, RETRY_LATER, "Object in use (still, after retries)")


# How each step of a plan is written: (object family, operation) -> the Writer method that
# builds and sends its calls. objects.ObjectKind gives each object its family (salespersons,
# companies, opportunities and roles are STANDARD; custom objects, found by describe, are
# CUSTOM); the action (createOrUpdate, createOnly, updateOnly) travels in each record.
WRITES: dict[tuple[Family, Op], Callable[[Writer, ObjectKind, list[Item]], None]] = {
    (Family.LEADS, Op.UPSERT): Writer._upsert_leads,
    (Family.LEADS, Op.DELETE): Writer._delete_leads,
    (Family.STANDARD, Op.UPSERT): Writer._sync_records,
    (Family.STANDARD, Op.DELETE): Writer._delete_records,
    (Family.CUSTOM, Op.UPSERT): Writer._sync_records,
    (Family.CUSTOM, Op.DELETE): Writer._delete_records,
    (Family.PROGRAM_MEMBERS, Op.UPSERT): Writer._program_member_upserts,
    (Family.PROGRAM_MEMBERS, Op.DELETE): Writer._remove_program_members,
    (Family.LIST_MEMBERS, Op.UPSERT): Writer._add_list_members,
    (Family.LIST_MEMBERS, Op.DELETE): Writer._remove_list_members,
    (Family.CAMPAIGN_REQUESTS, Op.TRIGGER): Writer._trigger_campaigns,
}


def _item_label(item: Item) -> str:
    """The label under which an item's outcome is counted (the same as its calls')."""
    if item.op is Op.TRIGGER:
        return "campaign trigger"
    if item.op is Op.DELETE:
        return "list_members remove" if item.kind == "list_members" else f"{item.kind} delete"
    if item.kind == "list_members":
        return "list_members add"
    if item.kind == "program_members":
        return "program_members status" if item.status_name else "program_members fields"
    return f"{item.kind} {item.action}"


def _first_reason(result: dict[str, Any]) -> tuple[str, str]:
    reasons = result.get("reasons") or []
    first = reasons[0] if reasons and isinstance(reasons[0], dict) else {}
    return str(first.get("code") or ""), str(first.get("message") or "skipped")
