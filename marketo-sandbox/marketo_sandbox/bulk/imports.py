"""Bulk imports: the batch queue and the work of applying one file.

Three kinds of batch share the queue: leads (``POST /bulk/v1/leads.json``), program
members (``POST /bulk/v1/program/{id}/members/import.json``) and custom objects
(``POST /bulk/v1/customobjects/{apiName}/import.json``). A batch record lives in the
store's ``documents`` table (kind ``import_batch``, ``kind`` field naming its kind); its
status goes ``Queued`` -> ``Importing`` -> ``Complete`` | ``Failed``. Per kind, at most
``import_max_running`` batches import at once and ``import_max_queued`` may wait or run
(Marketo answers 1016 "Too many imports" beyond). A batch reports ``Complete`` no sooner
than ``import_processing_seconds`` of sandbox time after it started. A batch belongs to
the API user who submitted it (``_owner``): with the ``two-users`` profile another API
user's status, failures and warnings calls answer as for an unknown batch (the rule is
:func:`marketo_sandbox.auth.owns`); the queue limits stay the instance's.

Rows are applied ``max_batch_size`` at a time through the same plain functions the REST
API uses, so an import behaves exactly like the REST calls: lead rows through lead sync
(``domain.leads.sync_leads``); program member rows through lead sync by email, then the
status change of ``domain.programs.change_status`` and the member fields of
``domain.programs.set_member_fields``; custom object rows through ``domain.objects.sync_objects``
(createOrUpdate by dedupe fields). A row the sync skips becomes a failure (original row +
"Import Failure Reason"), a value Marketo cannot store in its field is dropped with a
warning (original row + "Import Warning Reason"). A header naming a field that does not
exist fails the whole batch, as Marketo does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketo_sandbox.auth import owns
from marketo_sandbox.bulk import csvfile
from marketo_sandbox.bulk.worker import Runner, Task
from marketo_sandbox.domain import leads as lead_rules
from marketo_sandbox.domain import objects as object_rules
from marketo_sandbox.domain import programs as program_rules
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model import leads as lead_model
from marketo_sandbox.model.objects import ObjectType, custom_object_type, program_member_field
from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.store import INSERT_LIST_MEMBER
from marketo_sandbox.timestamps import format_ts

DOC_KIND = "import_batch"
SERVICE = "bulk_import_runner"

# Batch kinds (the ``kind`` of a batch record; records without one are lead batches).
LEADS = "leads"
PROGRAM_MEMBERS = "program_members"
CUSTOM_OBJECTS = "custom_objects"

QUEUED = "Queued"
IMPORTING = "Importing"
COMPLETE = "Complete"
FAILED = "Failed"
ACTIVE = (QUEUED, IMPORTING)

FAILURE_COLUMN = "Import Failure Reason"
WARNING_COLUMN = "Import Warning Reason"
FORMATS = ("CSV", "TSV", "SSV")
ADD_TO_LIST = 24
API_METHOD = "importLead"
PROGRAM_MEMBER_API_METHOD = "importProgramMember"
# Leads a bulk import creates carry Marketo's list-import source.
IMPORT_SOURCE = "List import"
STATUS_ORDER = (
    "batchId", "importId", "status", "numOfLeadsProcessed", "numOfRowsFailed",
    "numOfRowsWithWarning", "message",
)  # fmt: skip
# Custom object batches answer ImportCustomObjectResponse (swagger): no importId, an
# operation and the object's API name, objects rather than leads processed.
CUSTOM_OBJECT_STATUS_ORDER = (
    "batchId", "operation", "status", "objectApiName", "numOfObjectsProcessed",
    "numOfRowsFailed", "numOfRowsWithWarning", "message",
)  # fmt: skip
# What a submit answers: the batch as it is queued.
_CREATED_ORDER = {
    LEADS: ("batchId", "importId", "status"),
    PROGRAM_MEMBERS: ("batchId", "importId", "status"),
    CUSTOM_OBJECTS: ("batchId", "operation", "status", "objectApiName"),
}
# The counter of processed rows, by batch kind.
PROCESSED_FIELD = {
    LEADS: "numOfLeadsProcessed",
    PROGRAM_MEMBERS: "numOfLeadsProcessed",
    CUSTOM_OBJECTS: "numOfObjectsProcessed",
}


def batch_kind(batch: dict[str, Any]) -> str:
    return str(batch.get("kind") or LEADS)


def public(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch as its status endpoint answers it."""
    order = CUSTOM_OBJECT_STATUS_ORDER if batch_kind(batch) == CUSTOM_OBJECTS else STATUS_ORDER
    return {k: batch[k] for k in order if batch.get(k) is not None}


def created(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch as the submit call answers it."""
    return {k: batch[k] for k in _CREATED_ORDER[batch_kind(batch)] if batch.get(k) is not None}


class ImportFailedError(Exception):
    """The whole file is refused (Marketo: status Failed with a message)."""


@dataclass
class ImportResult:
    processed: int = 0
    failed: int = 0
    warned: int = 0


def check_lookup_field(lookup_field: str) -> str:
    """The canonical lookup field, or the ApiError lead sync answers for it."""
    action = "updateOnly" if lookup_field.lower() == "id" else "createOrUpdate"
    return lead_rules.check_lookup_field(lookup_field, action)


@dataclass
class Pending:
    position: int
    raw: list[str]
    record: dict[str, Any]
    problems: list[str]
    # Values that do not go through the row's main sync (program member fields).
    extra: dict[str, Any] = field(default_factory=dict)


class FileImport:
    """Apply one uploaded file (runs in a task thread). Subclasses map the header to
    fields (:meth:`_columns`), a row to a record (:meth:`_record`) and write a chunk of
    records (:meth:`_apply`), reporting each row through :meth:`_failed` / :meth:`_done`."""

    def __init__(self, runner: ImportRunner, batch: dict[str, Any], task: Task) -> None:
        self.runner = runner
        self.store = runner.store
        self.config = runner.config
        self.batch = batch
        self.task = task
        self.fmt: str = batch["format"]
        # (position in the file, original row + reason): reports keep the file's order.
        self.failures: list[tuple[int, list[str]]] = []
        self.warnings: list[tuple[int, list[str]]] = []
        self.header: list[str] = []
        self.outcome: ImportResult | None = None

    def run(self) -> ImportResult:
        rows = self._read()
        columns = self._columns(rows[0])
        self.header = rows[0]
        result = ImportResult()
        pending: list[Pending] = []
        for position, raw in enumerate(rows[1:]):
            if not any(v.strip() for v in raw):
                continue
            if len(raw) != len(columns):
                reason = f"Invalid row: expected {len(columns)} values, found {len(raw)}"
                self.failures.append((position, [*raw, reason]))
                result.failed += 1
                continue
            pending.append(self._record(position, columns, raw))
            if len(pending) >= self.config.max_batch_size:
                self._flush(pending, result)
                pending = []
        if pending:
            self._flush(pending, result)
        self.outcome = result
        return result

    # -- parsing --------------------------------------------------------------------------

    def _read(self) -> list[list[str]]:
        data = Path(self.batch["_source"]).read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailedError("Import failed: the file is not UTF-8 text") from None
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=csvfile.DELIMITERS[self.fmt])
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise ImportFailedError(f"Import failed: malformed file ({exc})") from None
        while rows and not any(v.strip() for v in rows[0]):
            rows.pop(0)
        if not rows:
            raise ImportFailedError("Import failed: empty file")
        return rows

    def _columns(self, header: list[str]) -> list[str]:
        columns: list[str] = []
        unknown: list[str] = []
        for name in (h.strip() for h in header):
            found = self._field(name) if name else None
            if found is None:
                unknown.append(name or "<blank>")
            else:
                columns.append(found)
        if unknown:
            raise ImportFailedError(f"Import failed: field(s) not found: {', '.join(unknown)}")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ImportFailedError(f"Import failed: duplicate column(s): {', '.join(duplicates)}")
        return columns

    def _field(self, name: str) -> str | None:
        """The canonical name of a header column, or None if it names no field."""
        raise NotImplementedError

    def _record(self, position: int, columns: list[str], raw: list[str]) -> Pending:
        raise NotImplementedError

    # -- applying ---------------------------------------------------------------------------

    def _flush(self, pending: list[Pending], result: ImportResult) -> None:
        if self.task.cancel.is_set():
            raise csvfile.CancelledError
        self._apply(pending, result)
        self.task.progress.update(
            processed=result.processed, failed=result.failed, warned=result.warned
        )

    def _apply(self, pending: list[Pending], result: ImportResult) -> None:
        raise NotImplementedError

    def _failed(self, row: Pending, outcome: dict[str, Any], result: ImportResult) -> None:
        reasons = outcome.get("reasons") or [{"message": "Record skipped"}]
        reason = "; ".join(str(r.get("message")) for r in reasons)
        self.failures.append((row.position, [*row.raw, reason]))
        result.failed += 1

    def _done(self, row: Pending, result: ImportResult, problems: list[str] | None = None) -> None:
        result.processed += 1
        problems = [*row.problems, *(problems or [])]
        if problems:
            self.warnings.append((row.position, [*row.raw, "; ".join(problems)]))
            result.warned += 1

    def reports(self) -> tuple[str, str]:
        failures = [[*self.header, FAILURE_COLUMN], *(r for _, r in sorted(self.failures))]
        warnings = [[*self.header, WARNING_COLUMN], *(r for _, r in sorted(self.warnings))]
        return csvfile.render_rows(failures, self.fmt), csvfile.render_rows(warnings, self.fmt)


def _lead_value(
    name: str, value: str, lookup: str, record: dict[str, Any], problems: list[str]
) -> None:
    """Put one lead cell into ``record`` or explain in ``problems`` why it is dropped."""
    if name == lookup:
        # A bad lookup value fails the row (lead sync says why), never a warning.
        record[name] = value
        return
    spec = lead_model.FIELD_SPECS[name]
    if spec.read_only or name in lead_model.SYSTEM_FIELDS:
        problems.append(f"Field '{name}' is not updateable; value ignored")
        return
    try:
        lead_model.coerce_value(name, value)
    except lead_model.FieldValueError as exc:
        problems.append(f"{exc}; value ignored")
        return
    record[name] = value


class LeadImport(FileImport):
    """A lead file: every row is a lead synced by ``lookupField``."""

    def _field(self, name: str) -> str | None:
        return lead_model.canonical_field(name)

    def _record(self, position: int, columns: list[str], raw: list[str]) -> Pending:
        lookup = self.batch["lookupField"]
        record: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in zip(columns, raw, strict=True):
            # An empty cell leaves the field as it is: Marketo imports never blank a field.
            if value != "":
                _lead_value(name, value, lookup, record, problems)
        return Pending(position, raw, record, problems)

    def _apply(self, pending: list[Pending], result: ImportResult) -> None:
        lookup = self.batch["lookupField"]
        try:
            outcomes = lead_rules.sync_leads(
                self.store,
                self.config,
                [p.record for p in pending],
                action="updateOnly" if lookup == "id" else "createOrUpdate",
                lookup_field=lookup,
                partition_name=self.batch.get("partitionName"),
                api_method=API_METHOD,
                source=IMPORT_SOURCE,
                user=self.batch.get("_owner"),
            )
        except ApiError as exc:
            # A request-level refusal (bad lookupField, partition) refuses the file.
            raise ImportFailedError(f"Import failed: {exc.msg}") from None
        imported: list[int] = []
        for row, outcome in zip(pending, outcomes, strict=True):
            if outcome.get("status") == "skipped":
                self._failed(row, outcome, result)
                continue
            self._done(row, result)
            if outcome.get("id") is not None:
                imported.append(int(outcome["id"]))
        if self.batch.get("listId") is not None and imported:
            self._add_to_list(int(self.batch["listId"]), imported)

    def _add_to_list(self, list_id: int, lead_ids: list[int]) -> None:
        static = self.store.object_get(KIND_LISTS, list_id) or {}
        now = self.store.now_ts()
        added = []
        with self.store.transaction() as db:
            for lead_id in dict.fromkeys(lead_ids):
                cur = db.execute(
                    INSERT_LIST_MEMBER,
                    (list_id, lead_id, now),
                )
                if cur.rowcount:
                    added.append(lead_id)
            for lead_id in added:
                # Every lead entering a static list gets an Add to List activity.
                self.store.log_activity(
                    lead_id,
                    ADD_TO_LIST,
                    primary_attribute_value_id=list_id,
                    primary_attribute_value=static.get("name"),
                )


# Adobe: "All records must include the email field, which is used for deduplication".
PROGRAM_MEMBER_LOOKUP = "email"
_MEMBER_PREFIX = "member:"


class ProgramMemberImport(FileImport):
    """A program member file: lead fields (leads created or updated by email, as lead
    sync does) and custom program member fields; every lead then joins the program at
    ``programMemberStatus`` by the progression rules of Sync Program Member Status."""

    def __init__(self, runner: ImportRunner, batch: dict[str, Any], task: Task) -> None:
        super().__init__(runner, batch, task)
        prog = program_rules.program(self.store, batch["programId"])
        if prog is None:
            raise ImportFailedError(f"Import failed: program {batch['programId']} not found")
        self.program: dict[str, Any] = prog
        self.status_name: str = batch["programMemberStatus"]

    def _field(self, name: str) -> str | None:
        lead_field = lead_model.canonical_field(name)
        if lead_field is not None:
            return lead_field
        member_field = program_member_field(name)
        return _MEMBER_PREFIX + member_field["name"] if member_field else None

    def _columns(self, header: list[str]) -> list[str]:
        columns = super()._columns(header)
        if PROGRAM_MEMBER_LOOKUP not in columns:
            raise ImportFailedError("Import failed: the file has no email column")
        return columns

    def _record(self, position: int, columns: list[str], raw: list[str]) -> Pending:
        record: dict[str, Any] = {}
        member: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in zip(columns, raw, strict=True):
            if value == "":
                continue
            if not name.startswith(_MEMBER_PREFIX):
                _lead_value(name, value, PROGRAM_MEMBER_LOOKUP, record, problems)
                continue
            fdef = program_member_field(name.removeprefix(_MEMBER_PREFIX))
            assert fdef is not None
            if not fdef["updateable"]:
                problems.append(f"Field '{fdef['name']}' is not updateable; value ignored")
                continue
            try:
                member[fdef["name"]] = object_rules.coerce(fdef, value)
            except (TypeError, ValueError):
                problems.append(
                    f"Invalid value '{value}' for field '{fdef['name']}' "
                    f"(type {fdef['dataType']}); value ignored"
                )
        return Pending(position, raw, record, problems, extra=member)

    def _apply(self, pending: list[Pending], result: ImportResult) -> None:
        rows: list[Pending] = []
        for row in pending:
            if row.record.get(PROGRAM_MEMBER_LOOKUP) in (None, ""):
                self._failed(row, {"reasons": [{
                    "message": f"Value for required field '{PROGRAM_MEMBER_LOOKUP}' not specified"
                }]}, result)
            else:
                rows.append(row)
        if not rows:
            return
        try:
            synced = lead_rules.sync_leads(
                self.store,
                self.config,
                [r.record for r in rows],
                action="createOrUpdate",
                lookup_field=PROGRAM_MEMBER_LOOKUP,
                api_method=PROGRAM_MEMBER_API_METHOD,
                source=IMPORT_SOURCE,
                user=self.batch.get("_owner"),
                # A new person joining as a member is acquired by the program (Marketo).
                create_defaults={"acquisitionProgramId": self.program["id"]},
            )
        except ApiError as exc:
            raise ImportFailedError(f"Import failed: {exc.msg}") from None
        members: list[tuple[Pending, int, bool]] = []
        for row, outcome in zip(rows, synced, strict=True):
            if outcome.get("status") == "skipped" or outcome.get("id") is None:
                self._failed(row, outcome, result)
            else:
                members.append((row, int(outcome["id"]), outcome.get("status") == "created"))
        changes = program_rules.change_status(
            self.store, self.program, [lead_id for _, lead_id, _ in members], self.status_name
        )
        fields: dict[int, dict[str, Any]] = {}
        for (row, lead_id, new_lead), change in zip(members, changes, strict=True):
            if change["status"] == "skipped" and change["reasons"][0]["code"] != "1037":
                self._failed(row, change, result)
                continue
            problems = []
            if change["status"] == "skipped":
                # Progression never moves back: the member keeps its status.
                problems.append(
                    f"Lead already in or past status '{self.status_name}'; status unchanged"
                )
            values = dict(row.extra)
            if new_lead and change["status"] == "created":
                values["acquiredBy"] = True
            if values:
                fields.setdefault(lead_id, {}).update(values)
            self._done(row, result, problems)
        if fields:
            program_rules.set_member_fields(self.store, self.program["id"], fields)


class CustomObjectImport(FileImport):
    """A custom object file: records created or updated by the type's dedupe fields, as
    ``POST /rest/v1/customobjects/{apiName}.json`` with createOrUpdate does."""

    def __init__(self, runner: ImportRunner, batch: dict[str, Any], task: Task) -> None:
        super().__init__(runner, batch, task)
        ot = custom_object_type(batch["objectApiName"])
        if ot is None:
            raise ImportFailedError(
                f"Import failed: custom object '{batch['objectApiName']}' not found"
            )
        self.ot: ObjectType = ot

    def _field(self, name: str) -> str | None:
        return self.ot.canonical(name)

    def _record(self, position: int, columns: list[str], raw: list[str]) -> Pending:
        ot = self.ot
        record: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in zip(columns, raw, strict=True):
            if value == "":
                continue
            if name in ot.dedupe_fields:
                # A bad key fails the row (the sync says why), never a warning.
                record[name] = value
                continue
            fdef = ot.get_field(name)
            assert fdef is not None
            if not fdef["updateable"]:
                problems.append(f"Field '{name}' is not updateable; value ignored")
                continue
            try:
                object_rules.coerce(fdef, value)
            except (TypeError, ValueError):
                problems.append(
                    f"Invalid value '{value}' for field '{name}' "
                    f"(type {fdef['dataType']}); value ignored"
                )
                continue
            record[name] = value
        return Pending(position, raw, record, problems)

    def _apply(self, pending: list[Pending], result: ImportResult) -> None:
        outcomes = object_rules.sync_objects(
            self.store, self.ot, [p.record for p in pending], action="createOrUpdate"
        )
        for row, outcome in zip(pending, outcomes, strict=True):
            if outcome.get("status") == "skipped":
                self._failed(row, outcome, result)
            else:
                self._done(row, result)


_JOBS: dict[str, type[FileImport]] = {
    LEADS: LeadImport,
    PROGRAM_MEMBERS: ProgramMemberImport,
    CUSTOM_OBJECTS: CustomObjectImport,
}


class ImportRunner(Runner):
    thread_name = "marketo-sandbox-import"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.directory = Path(self.store.directory) / "imports"
        self.directory.mkdir(parents=True, exist_ok=True)

    def batches(self) -> list[dict[str, Any]]:
        return self.store.docs(DOC_KIND)

    def batch(
        self, batch_id: int, kind: str = LEADS, user: str | None = None
    ) -> dict[str, Any]:
        """A batch of ``kind`` by id (1003 if there is none: each import API sees only
        its own batches, each API user only the batches it submitted), with the live
        counters of a batch still importing."""
        batch = self.store.doc_get(DOC_KIND, batch_id)
        if (
            batch is None
            or batch_kind(batch) != kind
            or not owns(self.config, batch.get("_owner"), user)
        ):
            raise ApiError("1003", f"Import batch {batch_id} not found")
        task = self.tasks.get(str(batch_id))
        if batch["status"] == IMPORTING and task is not None and task.progress:
            batch.update({
                PROCESSED_FIELD[kind]: task.progress.get("processed", 0),
                "numOfRowsFailed": task.progress.get("failed", 0),
                "numOfRowsWithWarning": task.progress.get("warned", 0),
            })
        return batch

    def _save(self, batch: dict[str, Any]) -> None:
        self.store.doc_put(DOC_KIND, batch["batchId"], batch)

    def report_path(self, batch: dict[str, Any], which: str) -> Path:
        return self.directory / f"{batch['batchId']}.{which}"

    def submit(
        self,
        upload: Any,
        fmt: str,
        lookup_field: str,
        list_id: int | None,
        partition_name: str | None,
        *,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Queue a lead file."""
        return self.submit_batch(
            upload,
            LEADS,
            fmt,
            user=user,
            lookupField=lookup_field,
            listId=list_id,
            partitionName=partition_name,
        )

    def submit_batch(
        self, upload: Any, kind: str, fmt: str, *, user: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Queue a file of ``kind`` (LEADS, PROGRAM_MEMBERS, CUSTOM_OBJECTS); ``options``
        are the batch's parameters (lookupField, listId, partitionName / programId,
        programMemberStatus / objectApiName). 1016 when ``import_max_queued`` batches of
        that kind already wait or run."""
        with self.lock:
            active = sum(
                1 for b in self.batches() if b["status"] in ACTIVE and batch_kind(b) == kind
            )
            if active >= self.config.import_max_queued:
                raise ApiError("1016", "Too many imports")
            batch_id = self.store.next_id("import_batch")
            source = self.directory / f"{batch_id}.source"
            upload.save(str(source))
            now = self.now()
            batch: dict[str, Any] = {
                "batchId": batch_id,
                "kind": kind,
                "status": QUEUED,
                PROCESSED_FIELD[kind]: 0,
                "numOfRowsFailed": 0,
                "numOfRowsWithWarning": 0,
                "format": fmt,
                **options,
                "_source": str(source),
                "_queued": now,
                "_owner": user or self.config.api_user,
                "queuedAt": format_ts(now),
            }
            if kind == CUSTOM_OBJECTS:
                batch["operation"] = "import"
            else:
                batch["importId"] = str(batch_id)
            self._save(batch)
        self.wake()
        return batch

    def tick(self) -> float:
        with self.lock:
            if self._hold:
                return 1.0
            now = self.now()
            batches = [b for b in self.batches() if b["status"] in ACTIVE]
            running: dict[str, int] = {}
            waits: list[float] = []
            for batch in (b for b in batches if b["status"] == IMPORTING):
                task = self.tasks.get(str(batch["batchId"]))
                if task is None:
                    self._start(batch)
                elif task.done.is_set():
                    remaining = batch["_started"] + self.config.import_processing_seconds - now
                    if remaining <= 0:
                        self._finish(batch, task)
                        continue
                    waits.append(remaining)
                running[batch_kind(batch)] = running.get(batch_kind(batch), 0) + 1
            queued = sorted(
                (b for b in batches if b["status"] == QUEUED), key=lambda b: b["_queued"]
            )
            for batch in queued:
                kind = batch_kind(batch)
                if running.get(kind, 0) >= self.config.import_max_running:
                    continue
                batch.update(status=IMPORTING, _started=now)
                self._save(batch)
                self._start(batch)
                running[kind] = running.get(kind, 0) + 1
            if waits:
                return min(waits)
            return 0.25 if batches else 2.0

    def _start(self, batch: dict[str, Any]) -> None:
        runner = self
        job_class = _JOBS[batch_kind(batch)]

        def work(task: Task) -> FileImport:
            job = job_class(runner, batch, task)
            task.result = job
            job.run()
            return job

        self.spawn(str(batch["batchId"]), work)

    def _finish(self, batch: dict[str, Any], task: Task) -> None:
        self.tasks.pop(str(batch["batchId"]), None)
        job: FileImport | None = task.result
        if task.error is not None or job is None or job.outcome is None:
            error = task.error
            message = (
                str(error) if isinstance(error, ImportFailedError) else f"Import failed: {error}"
            )
            batch.update(status=FAILED, message=message)
            self._save(batch)
            return
        result = job.outcome
        failures, warnings = job.reports()
        self.report_path(batch, "failures").write_text(failures, encoding="utf-8")
        self.report_path(batch, "warnings").write_text(warnings, encoding="utf-8")
        kind = batch_kind(batch)
        n = result.processed
        counted = f"{n} records imported" if kind == CUSTOM_OBJECTS else (
            f"{n} records imported ({n} members)"
        )
        if result.failed:
            message = f"Import completed with errors, {counted}, {result.failed} failed"
        else:
            message = f"Import succeeded, {counted}"
        batch.update({
            "status": COMPLETE,
            PROCESSED_FIELD[kind]: n,
            "numOfRowsFailed": result.failed,
            "numOfRowsWithWarning": result.warned,
            "message": message,
        })
        self._save(batch)

    def on_reset(self) -> None:
        for path in self.directory.glob("*"):
            path.unlink(missing_ok=True)


def runner(app: Any) -> ImportRunner:
    return ImportRunner.attach(app, SERVICE)
