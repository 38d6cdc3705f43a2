"""Large lead loads through Marketo's bulk lead import instead of REST batches of 300.

One CSV upload (<= 10 MB) replaces dozens of REST calls: 100,000 leads cost a handful of
calls instead of 334. The price is latency (Marketo queues imports) and coarser results:
no per-lead ids, and per-row failures and warnings come back as CSV files, which are read
back into the reject file so that nothing is silently dropped.

The job itself (upload, poll, failure and warning rows) is marketo_core's ImportJob; what
is the target's is here: which leads can go through an import, how they are cut into
files, and how the rows Marketo refused become rejects.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from marketo_core.bulk_import import ImportJob, reason_of
from marketo_core.client import MarketoClient

from target_marketo_crm.objects import MAX_IMPORT_FILE_BYTES, Op
from target_marketo_crm.planner import Item, normalize_key_value
from target_marketo_crm.rejects import (
    BULK_IMPORT_FAILURE,
    BULK_IMPORT_WARNING,
    RejectLog,
    json_default,
)

_LOG = logging.getLogger("target_marketo_crm.bulk_import")

# Marketo allows 2 imports running and 10 queued (1016 beyond): submit in waves of 10.
MAX_QUEUED_IMPORTS = 10
# Bytes kept free under the 10 MB file limit for multipart framing.
_FILE_MARGIN = 64 * 1024


@dataclass
class ImportOutcome:
    calls: int = 0
    imported: int = 0
    failed: int = 0
    warned: int = 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=json_default, ensure_ascii=False)
    converted = json_default(value) if not isinstance(value, str | int | float) else value
    return str(converted)


@dataclass
class _File:
    columns: list[str]
    items: list[Item]
    data: bytes


class BulkLeadImporter:
    def __init__(
        self,
        client: MarketoClient,
        lookup_field: str,
        rejects: RejectLog,
        *,
        partition_name: str | None = None,
        poll_seconds: float = 5.0,
        timeout_seconds: float = 3600.0,
        max_file_bytes: int = MAX_IMPORT_FILE_BYTES - _FILE_MARGIN,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.lookup_field = lookup_field
        self.rejects = rejects
        self.partition_name = partition_name
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.max_file_bytes = max_file_bytes
        self.log = logger or _LOG

    # --- files -------------------------------------------------------------------------------

    @staticmethod
    def importable(item: Item) -> bool:
        """An import leaves a field alone when its cell is empty (it never blanks a
        field), which is exactly right for fields a record does not carry, but cannot
        clear one: records with explicit nulls are left to REST sync."""
        return all(value is not None for value in item.fields.values())

    def plan_files(self, items: list[Item]) -> list[_File]:
        """CSV files of <= 10 MB with the union of the records' fields as columns."""
        others = sorted({k for item in items for k in item.fields} - {self.lookup_field})
        return self._split([self.lookup_field, *others], items)

    def _split(self, columns: list[str], items: list[Item]) -> list[_File]:
        files: list[_File] = []
        header = self._row(columns)
        buffer = io.BytesIO()
        buffer.write(header)
        batch: list[Item] = []
        for item in items:
            row = self._row([_cell(item.fields.get(c)) for c in columns])
            if batch and buffer.tell() + len(row) > self.max_file_bytes:
                files.append(_File(columns, batch, buffer.getvalue()))
                buffer = io.BytesIO()
                buffer.write(header)
                batch = []
            buffer.write(row)
            batch.append(item)
        if batch:
            files.append(_File(columns, batch, buffer.getvalue()))
        return files

    @staticmethod
    def _row(cells: list[str]) -> bytes:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(cells)
        return text.getvalue().encode("utf-8")

    # --- the import --------------------------------------------------------------------------

    def run(self, items: list[Item]) -> ImportOutcome:
        outcome = ImportOutcome()
        files = self.plan_files(items)
        self.log.info("Bulk importing %d leads in %d file(s)", len(items), len(files))
        for start in range(0, len(files), MAX_QUEUED_IMPORTS):
            wave = files[start:start + MAX_QUEUED_IMPORTS]
            jobs = [(self._submit(f), f) for f in wave]
            for job, file in jobs:
                try:
                    job.wait()
                    self._read_back(job, file, outcome)
                finally:
                    outcome.calls += job.calls
        return outcome

    def _submit(self, file: _File) -> ImportJob:
        job = ImportJob(self.client, poll_interval=self.poll_seconds,
                        timeout=self.timeout_seconds, logger=self.log)
        job.create(file.data, lookup_field=self.lookup_field, partition_name=self.partition_name)
        self.log.info("Bulk import %s queued (%d rows, %d bytes)", job.batch_id,
                      len(file.items), len(file.data))
        return job

    def _read_back(self, job: ImportJob, file: _File, outcome: ImportOutcome) -> None:
        failed, warned = job.rows_failed, job.rows_with_warning
        outcome.imported += job.leads_processed - failed
        by_key = {normalize_key_value(i.fields.get(self.lookup_field)): i for i in file.items}
        if failed:
            outcome.failed += self._report(job.failures(), by_key, BULK_IMPORT_FAILURE,
                                           warning=False)
        if warned:
            outcome.warned += self._report(job.warnings(), by_key, BULK_IMPORT_WARNING,
                                           warning=True)
        self.log.info(
            "Bulk import %s complete: %s processed, %d failed, %d with warnings", job.batch_id,
            job.info.get("numOfLeadsProcessed"), failed, warned,
        )

    def _report(
        self, rows: list[dict[str, str]], by_key: dict[Any, Item], code: str, *, warning: bool
    ) -> int:
        for row in rows:
            reason = reason_of(row)
            item = by_key.get(normalize_key_value(row.get(self.lookup_field)))
            self.rejects.add(
                stream=item.stream if item else "leads",
                object_name="leads",
                op=str(Op.UPSERT),
                key={self.lookup_field: row.get(self.lookup_field)},
                code=code,
                message=reason or "bulk import reported this row without a reason",
                record=item.record if item else dict(row),
                warning=warning,
            )
        return len(rows)
