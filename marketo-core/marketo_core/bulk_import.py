"""A bulk lead import job: upload a file, poll until Marketo is done, read back the rows it
failed or warned about (docs/MARKETO.md section 6).

Marketo runs 2 imports at a time and queues 10 more per instance (1016 beyond, which the
client retries). An import reports per-row problems only as CSV files: the original row
plus a reason column. What to do with those rows is the caller's business.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from marketo_core.client import MarketoClient
from marketo_core.errors import ImportJobFailed, ImportJobTimeout

__all__ = ["ImportJob", "ImportJobFailed", "ImportJobTimeout"]

_LOG = logging.getLogger("marketo_core.bulk_import")

IMPORT_PATH = "/bulk/v1/leads.json"
_DONE = {"complete", "failed"}
# A small import finishes in seconds: the first poll comes soon, later ones back off to
# the job's poll interval (every poll is a call against the daily quota).
_FIRST_POLL = 0.5


class ImportJob:
    """One bulk lead import job, from its upload to its failure and warning rows.

    :attr:`calls` counts the API calls the job made (upload, polls, file downloads).
    """

    def __init__(
        self,
        client: MarketoClient,
        *,
        batch_id: str | None = None,
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.batch_id = batch_id
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.log = logger or _LOG
        self._sleep = sleep
        self._clock = clock
        self.calls = 0
        self.info: dict[str, Any] = {}  # last status object Marketo returned

    def create(
        self,
        data: bytes,
        *,
        lookup_field: str,
        partition_name: str | None = None,
        file_format: str = "csv",
        filename: str = "leads.csv",
    ) -> str:
        """Upload the file (<= 10 MB, REST field names as header) and return the batchId."""
        params: dict[str, Any] = {"format": file_format, "lookupField": lookup_field}
        if partition_name:
            params["partitionName"] = partition_name
        self.calls += 1
        body = self.client.post(
            IMPORT_PATH, params=params,
            files={"file": (filename, io.BytesIO(data), f"text/{file_format}")},
        )
        result = (body.get("result") or [{}])[0]
        batch_id = result.get("batchId") or result.get("importId")
        if batch_id is None:
            raise ImportJobFailed(f"bulk import answered without a batchId: {body!r}")
        self.batch_id = str(batch_id)
        self.info = dict(result)
        return self.batch_id

    def status(self) -> dict[str, Any]:
        """The job's status object (status, numOfLeadsProcessed, numOfRowsFailed, ...)."""
        self.calls += 1
        body = self.client.get(f"/bulk/v1/leads/batch/{self._batch_id()}.json")
        self.info = dict((body.get("result") or [{}])[0])
        return self.info

    def wait(self) -> dict[str, Any]:
        """Poll until Complete; returns the status object. A Failed job (a bad file, not
        bad rows) raises ImportJobFailed, one still running after ``timeout`` seconds
        ImportJobTimeout."""
        deadline = self._clock() + self.timeout
        delay = min(_FIRST_POLL, self.poll_interval)
        while True:
            self._sleep(delay)
            status = self.status()
            state = str(status.get("status") or "").lower()
            if state in _DONE:
                if state == "failed":
                    raise ImportJobFailed(
                        f"bulk import {self.batch_id} failed: {status.get('message') or status}"
                    )
                return status
            if self._clock() > deadline:
                raise ImportJobTimeout(
                    f"bulk import {self.batch_id} still {state or 'unknown'} after "
                    f"{self.timeout:.0f} s"
                )
            delay = min(self.poll_interval, delay * 2)

    @property
    def rows_failed(self) -> int:
        return int(self.info.get("numOfRowsFailed") or 0)

    @property
    def rows_with_warning(self) -> int:
        return int(self.info.get("numOfRowsWithWarning") or 0)

    @property
    def leads_processed(self) -> int:
        return int(self.info.get("numOfLeadsProcessed") or 0)

    def failures(self) -> list[dict[str, str]]:
        """The rows Marketo did not import: the original columns plus its reason."""
        return self._rows("failures")

    def warnings(self) -> list[dict[str, str]]:
        """The rows imported with a warning (e.g. a value dropped): columns plus reason."""
        return self._rows("warnings")

    def _rows(self, kind: str) -> list[dict[str, str]]:
        self.calls += 1
        sink = io.BytesIO()
        self.client.download(f"/bulk/v1/leads/batch/{self._batch_id()}/{kind}.json", sink)
        text = sink.getvalue().decode("utf-8", errors="replace")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def _batch_id(self) -> str:
        if not self.batch_id:
            raise ImportJobFailed("bulk import has no batchId; call create() first")
        return self.batch_id

    def __repr__(self) -> str:
        return f"ImportJob(batch_id={self.batch_id!r}, status={self.info.get('status')!r})"


def reason_of(row: Mapping[str, str | None]) -> str | None:
    """The reason Marketo gives for a failure or warning row: the column the original file
    did not have ("Import Failure Reason" / "Import Warning Reason")."""
    columns = [c for c in row if c and "reason" in c.lower()]
    return row.get(columns[-1]) if columns else None
