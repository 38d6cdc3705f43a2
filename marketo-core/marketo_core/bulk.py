"""A bulk export job: create, enqueue, poll, download, whose state fits a Singer bookmark.

Marketo runs one export queue for leads, activities, program members and custom objects:
2 jobs processing and 10 queued per instance, 500 MB of files per day, files kept about a
week. A run that dies mid-export resumes the same ``exportId`` from :meth:`to_state`
instead of paying for a new export.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from marketo_core.client import MarketoClient
from marketo_core.errors import (
    EXPORT_JOB_NOT_FOUND_CODES,
    Action,
    ExportFileGone,
    ExportJobFailed,
    ExportJobNotFound,
    ExportJobTimeout,
    ExportQuotaExceeded,
    MarketoAPIError,
    MarketoError,
    MarketoHTTPError,
    classify,
    is_job_already_queued,
)
from marketo_core.timeutil import next_quota_reset

__all__ = [
    "ExportFileGone",
    "ExportJob",
    "ExportJobFailed",
    "ExportJobNotFound",
    "ExportJobTimeout",
]

_LOG = logging.getLogger("marketo_core.bulk")

_CUSTOM_OBJECT = re.compile(r"^customobjects/[A-Za-z0-9_]+$")
_FINAL_FAILURES = {"failed", "cancelled", "canceled"}  # Adobe's enum spells "Canceled"
_MB = 1024 * 1024


class ExportJob:
    """One bulk export job of ``entity`` (``leads``, ``activities``, ``program/members``
    or ``customobjects/{apiName}``)."""

    ENTITIES = ("leads", "activities", "program/members", "customobjects/{apiName}")

    def __init__(
        self,
        client: MarketoClient,
        entity: str,
        *,
        export_id: str | None = None,
        poll_interval: float = 60.0,
        timeout: float = 3600 * 6,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        entity = entity.strip("/")
        if entity not in self.ENTITIES[:3] and not _CUSTOM_OBJECT.match(entity):
            raise ValueError(
                f"unknown bulk export entity {entity!r}; expected one of "
                f"{', '.join(self.ENTITIES)}"
            )
        self.client = client
        self.entity = entity
        self.export_id = export_id
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.log = logger or _LOG
        self._sleep = sleep
        self._clock = clock
        self.status_name: str | None = None  # last status Marketo reported
        self.info: dict[str, Any] = {}  # last status object (fileSize, fileChecksum, ...)

    # --- bookmark state ------------------------------------------------------------------

    @classmethod
    def from_state(cls, client: MarketoClient, state: dict[str, Any], **kw: Any) -> ExportJob:
        """Rebuild a job from :meth:`to_state` output (e.g. a Singer bookmark)."""
        job = cls(client, state["entity"], export_id=state.get("exportId"), **kw)
        job.status_name = state.get("status")
        job.info = {
            key: state[key]
            for key in ("createdAt", "numberOfRecords", "fileSize", "fileChecksum")
            if state.get(key) is not None
        }
        return job

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "entity": self.entity,
            "exportId": self.export_id,
            "status": self.status_name,
        }
        for key in ("createdAt", "numberOfRecords", "fileSize", "fileChecksum"):
            if self.info.get(key) is not None:
                state[key] = self.info[key]
        return state

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def _base(self) -> str:
        return f"/bulk/v1/{self.entity}/export"

    def _job_path(self, action: str) -> str:
        if not self.export_id:
            raise MarketoError(f"{self.entity} export has no exportId; call create() first")
        return f"{self._base}/{self.export_id}/{action}.json"

    def create(self, body: dict[str, Any]) -> str:
        """Create the job (status Created) and return its exportId."""
        envelope = self.client.post(f"{self._base}/create.json", json=body)
        record = _first_result(envelope, "create")
        self.export_id = str(record["exportId"])
        self.info = {}
        self._remember(record, default_status="Created")
        self.log.info("Created %s export %s", self.entity, self.export_id)
        return self.export_id

    def enqueue(self) -> None:
        """Queue the job; waits while Marketo's export queue is full (10 jobs)."""
        path = self._job_path("enqueue")
        started = self._clock()
        while True:
            try:
                envelope = self.client.request("POST", path, raise_on={"1029"})
            except MarketoAPIError as exc:
                self._not_found(exc)
                if is_job_already_queued(exc):
                    self.log.info("%s export %s was already queued", self.entity, self.export_id)
                    if self.status_name in (None, "Created"):
                        self.status_name = "Queued"
                    return
                if classify(exc.code or "", exc.message) is Action.STOP_QUOTA:
                    raise ExportQuotaExceeded(
                        exc.message, code=exc.code, request_id=exc.request_id,
                        endpoint=exc.endpoint, resets_at=next_quota_reset(),
                    ) from None
                elapsed = self._clock() - started
                if elapsed + self.poll_interval > self.timeout:
                    raise ExportJobTimeout(
                        f"{self.entity} export {self.export_id} could not be queued in "
                        f"{elapsed:.0f} s: {exc.message}",
                        code=exc.code, endpoint=exc.endpoint,
                    ) from None
                self.log.info(
                    "Export queue full (%s); retrying enqueue of %s export %s in %.0f s "
                    "(%.0f s so far)",
                    exc.message, self.entity, self.export_id, self.poll_interval, elapsed,
                )
                self._sleep(self.poll_interval)
                continue
            record = _first_result(envelope, "enqueue", required=False)
            self._remember(record, default_status="Queued")
            self.log.info("Queued %s export %s", self.entity, self.export_id)
            return

    def status(self) -> dict[str, Any]:
        """The job's status object; also kept in :attr:`info` and :attr:`status_name`.
        Raises ExportJobNotFound when Marketo does not show this job to the caller."""
        try:
            envelope = self.client.get(self._job_path("status"))
        except MarketoAPIError as exc:
            self._not_found(exc)
            raise
        record = _first_result(envelope, "status")
        self._remember(record)
        return record

    def wait(self) -> dict[str, Any]:
        """Poll until Completed, at a steady ``poll_interval``; returns the status object.

        A job still Created (a run died between create and enqueue) is enqueued first.
        """
        started = self._clock()
        polls = 0
        while True:
            record = self.status()
            polls += 1
            status = str(record.get("status") or "")
            elapsed = self._clock() - started
            self.log.info(
                "%s export %s: %s after %.0f s%s",
                self.entity, self.export_id, status, elapsed, _progress_note(record),
            )
            if status == "Completed":
                return record
            if status.lower() in _FINAL_FAILURES:
                reason = record.get("errorMsg") or f"job ended {status}"
                raise ExportJobFailed(
                    f"{self.entity} export {self.export_id} {status}: {reason}",
                    endpoint=f"GET {self._job_path('status')}",
                )
            if status == "Created":
                self.enqueue()
            # Poll on a fixed schedule: Marketo updates status at most once a minute.
            next_poll = started + polls * self.poll_interval
            if next_poll - started > self.timeout:
                raise ExportJobTimeout(
                    f"{self.entity} export {self.export_id} still {status} after "
                    f"{elapsed:.0f} s (timeout {self.timeout:.0f} s)",
                    endpoint=f"GET {self._job_path('status')}",
                )
            self._sleep(max(0.0, next_poll - self._clock()))

    def download(self, fileobj: BinaryIO, progress: Callable[[int], None] | None = None) -> int:
        """Stream the file of a Completed job into ``fileobj``, verified against the size and
        checksum in its status. A 404 means the file expired: raises ExportFileGone."""
        if self.status_name != "Completed" or "fileSize" not in self.info:
            self.status()
        if self.status_name != "Completed":
            raise MarketoError(
                f"{self.entity} export {self.export_id} is {self.status_name}, not Completed"
            )
        size = _int_or_none(self.info.get("fileSize"))
        checksum = self.info.get("fileChecksum") or None
        reporter = _ProgressLog(self, size, progress)
        try:
            written = self.client.download(
                self._job_path("file"), fileobj,
                expected_size=size, expected_checksum=checksum, progress=reporter,
            )
        except MarketoHTTPError as exc:
            if exc.status == 404:
                raise ExportFileGone(
                    f"{self.entity} export {self.export_id} is Completed but its file is gone "
                    "(expired or never written); export again",
                    code="404", endpoint=exc.endpoint,
                ) from None
            raise
        self.log.info(
            "Downloaded %s export %s: %.1f MB", self.entity, self.export_id, written / _MB
        )
        return written

    def cancel(self) -> None:
        envelope = self.client.post(self._job_path("cancel"))
        record = _first_result(envelope, "cancel", required=False)
        self._remember(record, default_status="Cancelled")
        self.log.info("Cancelled %s export %s", self.entity, self.export_id)

    def _not_found(self, exc: MarketoAPIError) -> None:
        if (exc.code or "") in EXPORT_JOB_NOT_FOUND_CODES:
            raise ExportJobNotFound(
                f"{self.entity} export {self.export_id} is not visible to this API user "
                f"({exc.code}: {exc.message}): Marketo shows an export job only to the API "
                "user that created it (credentials changed since?), or no longer keeps it",
                code=exc.code, request_id=exc.request_id, endpoint=exc.endpoint,
            ) from None

    def _remember(self, record: dict[str, Any], default_status: str | None = None) -> None:
        status = record.get("status") or default_status
        if status:
            self.status_name = str(status)
        self.info.update({k: v for k, v in record.items() if v is not None})

    def __repr__(self) -> str:
        return (
            f"ExportJob({self.entity!r}, export_id={self.export_id!r}, "
            f"status={self.status_name!r})"
        )


class _ProgressLog:
    """Logs download progress every 10% (or 50 MB when the size is unknown)."""

    def __init__(
        self, job: ExportJob, size: int | None, callback: Callable[[int], None] | None
    ) -> None:
        self.job = job
        self.size = size
        self.callback = callback
        self.step = max(_MB, size // 10) if size else 50 * _MB
        self.next_log = self.step

    def __call__(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done)
        if done < self.next_log:
            return
        self.next_log = (done // self.step + 1) * self.step
        total = f" of {self.size / _MB:.1f}" if self.size else ""
        self.job.log.info(
            "%s export %s: %.1f%s MB downloaded",
            self.job.entity, self.job.export_id, done / _MB, total,
        )


def _first_result(
    envelope: dict[str, Any], step: str, *, required: bool = True
) -> dict[str, Any]:
    result = envelope.get("result") or []
    if result and isinstance(result[0], dict):
        return result[0]
    if required:
        raise MarketoAPIError(
            f"bulk export {step} answered without a result", request_id=envelope.get("requestId")
        )
    return {}


def _progress_note(record: dict[str, Any]) -> str:
    parts = []
    if record.get("numberOfRecords") is not None:
        parts.append(f"{record['numberOfRecords']} records")
    if record.get("fileSize") is not None:
        size = _int_or_none(record["fileSize"])
        if size is not None:
            parts.append(f"{size / _MB:.1f} MB")
    return f" ({', '.join(parts)})" if parts else ""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
