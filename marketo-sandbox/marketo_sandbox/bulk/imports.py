"""Bulk lead import: the batch queue and the work of applying one file.

A batch record lives in the store's ``documents`` table (kind ``import_batch``); its
status goes ``Queued`` -> ``Importing`` -> ``Complete`` | ``Failed``. At most
``import_max_running`` batches import at once and ``import_max_queued`` may wait or run
(Marketo answers 1016 "Too many imports" beyond). A batch reports ``Complete`` no sooner
than ``import_processing_seconds`` of sandbox time after it started.

Rows are applied ``max_batch_size`` at a time through the lead model's own sync
(``marketo_sandbox.api.leads.sync_leads``), so an import behaves exactly like REST lead
sync: a row the sync skips becomes a failure (original row + "Import Failure Reason"),
a value Marketo cannot store in its field is dropped with a warning (original row +
"Import Warning Reason"). A header naming a field that does not exist fails the whole
batch, as Marketo does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketo_sandbox.api import leads as leads_api
from marketo_sandbox.bulk import csvfile
from marketo_sandbox.bulk.worker import Runner, Task
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model import leads as lead_model
from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.store import format_ts

DOC_KIND = "import_batch"
SERVICE = "bulk_import_runner"

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
# Leads a bulk import creates carry Marketo's list-import source.
IMPORT_SOURCE = "List import"
STATUS_ORDER = (
    "batchId", "importId", "status", "numOfLeadsProcessed", "numOfRowsFailed",
    "numOfRowsWithWarning", "message",
)  # fmt: skip


def public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: batch[k] for k in STATUS_ORDER if batch.get(k) is not None}


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
    return leads_api.check_lookup_field(lookup_field, action)


@dataclass
class Pending:
    position: int
    raw: list[str]
    record: dict[str, Any]
    problems: list[str]


class LeadImport:
    """Apply one uploaded lead file (runs in a task thread)."""

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
        lookup = self.batch["lookupField"]
        action = "updateOnly" if lookup == "id" else "createOrUpdate"
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
            record, problems = self._record(columns, raw, lookup)
            pending.append(Pending(position, raw, record, problems))
            if len(pending) >= self.config.max_batch_size:
                self._apply(pending, action, lookup, result)
                pending = []
        if pending:
            self._apply(pending, action, lookup, result)
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
            found = lead_model.canonical_field(name) if name else None
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

    def _record(
        self, columns: list[str], raw: list[str], lookup: str
    ) -> tuple[dict[str, Any], list[str]]:
        record: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in zip(columns, raw, strict=True):
            # An empty cell leaves the field as it is: Marketo imports never blank a field.
            if value == "":
                continue
            if name == lookup:
                # A bad lookup value fails the row (lead sync says why), never a warning.
                record[name] = value
                continue
            spec = lead_model.FIELD_SPECS[name]
            if spec.read_only or name in lead_model.SYSTEM_FIELDS:
                problems.append(f"Field '{name}' is not updateable; value ignored")
                continue
            try:
                lead_model.coerce_value(name, value)
            except lead_model.FieldValueError as exc:
                problems.append(f"{exc}; value ignored")
                continue
            record[name] = value
        return record, problems

    # -- applying ---------------------------------------------------------------------------

    def _apply(
        self,
        pending: list[Pending],
        action: str,
        lookup: str,
        result: ImportResult,
    ) -> None:
        if self.task.cancel.is_set():
            raise csvfile.CancelledError
        try:
            outcomes = leads_api.sync_leads(
                self.store,
                self.config,
                [p.record for p in pending],
                action=action,
                lookup_field=lookup,
                partition_name=self.batch.get("partitionName"),
                api_method=API_METHOD,
                source=IMPORT_SOURCE,
            )
        except ApiError as exc:
            # A request-level refusal (bad lookupField, partition) refuses the file.
            raise ImportFailedError(f"Import failed: {exc.msg}") from None
        imported: list[int] = []
        for row, outcome in zip(pending, outcomes, strict=True):
            if outcome.get("status") == "skipped":
                reasons = outcome.get("reasons") or [{"message": "Record skipped"}]
                reason = "; ".join(str(r.get("message")) for r in reasons)
                self.failures.append((row.position, [*row.raw, reason]))
                result.failed += 1
                continue
            result.processed += 1
            if outcome.get("id") is not None:
                imported.append(int(outcome["id"]))
            if row.problems:
                self.warnings.append((row.position, [*row.raw, "; ".join(row.problems)]))
                result.warned += 1
        if self.batch.get("listId") is not None and imported:
            self._add_to_list(int(self.batch["listId"]), imported)
        self.task.progress.update(
            processed=result.processed, failed=result.failed, warned=result.warned
        )

    def _add_to_list(self, list_id: int, lead_ids: list[int]) -> None:
        static = self.store.object_get(KIND_LISTS, list_id) or {}
        now = self.store.now_ts()
        added = []
        with self.store.transaction() as db:
            for lead_id in dict.fromkeys(lead_ids):
                cur = db.execute(
                    "INSERT OR IGNORE INTO list_members(listId, leadId, createdAt) VALUES(?,?,?)",
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

    def reports(self) -> tuple[str, str]:
        failures = [[*self.header, FAILURE_COLUMN], *(r for _, r in sorted(self.failures))]
        warnings = [[*self.header, WARNING_COLUMN], *(r for _, r in sorted(self.warnings))]
        return csvfile.render_rows(failures, self.fmt), csvfile.render_rows(warnings, self.fmt)


class ImportRunner(Runner):
    thread_name = "marketo-sandbox-import"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.directory = Path(self.store.directory) / "imports"
        self.directory.mkdir(parents=True, exist_ok=True)

    def batches(self) -> list[dict[str, Any]]:
        return self.store.docs(DOC_KIND)

    def batch(self, batch_id: int) -> dict[str, Any]:
        batch = self.store.doc_get(DOC_KIND, batch_id)
        if batch is None:
            raise ApiError("1003", f"Import batch {batch_id} not found")
        task = self.tasks.get(str(batch_id))
        if batch["status"] == IMPORTING and task is not None and task.progress:
            batch.update(
                numOfLeadsProcessed=task.progress.get("processed", 0),
                numOfRowsFailed=task.progress.get("failed", 0),
                numOfRowsWithWarning=task.progress.get("warned", 0),
            )
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
    ) -> dict[str, Any]:
        with self.lock:
            active = sum(1 for b in self.batches() if b["status"] in ACTIVE)
            if active >= self.config.import_max_queued:
                raise ApiError("1016", "Too many imports")
            batch_id = self.store.next_id("import_batch")
            source = self.directory / f"{batch_id}.source"
            upload.save(str(source))
            now = self.now()
            batch = {
                "batchId": batch_id,
                "importId": str(batch_id),
                "status": QUEUED,
                "numOfLeadsProcessed": 0,
                "numOfRowsFailed": 0,
                "numOfRowsWithWarning": 0,
                "format": fmt,
                "lookupField": lookup_field,
                "listId": list_id,
                "partitionName": partition_name,
                "_source": str(source),
                "_queued": now,
                "queuedAt": format_ts(now),
            }
            self._save(batch)
        self.wake()
        return batch

    def tick(self) -> float:
        with self.lock:
            if self._hold:
                return 1.0
            now = self.now()
            batches = [b for b in self.batches() if b["status"] in ACTIVE]
            running = 0
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
                running += 1
            queued = sorted(
                (b for b in batches if b["status"] == QUEUED), key=lambda b: b["_queued"]
            )
            for batch in queued:
                if running >= self.config.import_max_running:
                    break
                batch.update(status=IMPORTING, _started=now)
                self._save(batch)
                self._start(batch)
                running += 1
            if waits:
                return min(waits)
            return 0.25 if batches else 2.0

    def _start(self, batch: dict[str, Any]) -> None:
        runner = self

        def work(task: Task) -> LeadImport:
            job = LeadImport(runner, batch, task)
            task.result = job
            job.run()
            return job

        self.spawn(str(batch["batchId"]), work)

    def _finish(self, batch: dict[str, Any], task: Task) -> None:
        self.tasks.pop(str(batch["batchId"]), None)
        job: LeadImport | None = task.result
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
        n = result.processed
        if result.failed:
            message = (
                f"Import completed with errors, {n} records imported ({n} members), "
                f"{result.failed} failed"
            )
        else:
            message = f"Import succeeded, {n} records imported ({n} members)"
        batch.update(
            status=COMPLETE,
            numOfLeadsProcessed=n,
            numOfRowsFailed=result.failed,
            numOfRowsWithWarning=result.warned,
            message=message,
        )
        self._save(batch)

    def on_reset(self) -> None:
        for path in self.directory.glob("*"):
            path.unlink(missing_ok=True)


def runner(app: Any) -> ImportRunner:
    return ImportRunner.attach(app, SERVICE)
