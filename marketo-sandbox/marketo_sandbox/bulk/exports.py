"""The bulk extract job queue, shared by every export kind as Marketo's is.

A job record lives in the store's ``documents`` table (kind ``export_job``), so it is
part of the sandbox's state (reset returns to none) and of the ground truth. Its life:
``Created`` -(enqueue)-> ``Queued`` -> ``Processing`` -> ``Completed`` | ``Failed``, or
``Cancelled`` from any of the first three. The worker moves a job on after
``export_queued_seconds`` of sandbox time queued, then processes it for
``export_processing_seconds`` plus ``export_processing_seconds_per_1k_rows`` per thousand
rows (a bigger export takes longer, as on Marketo), with at most ``bulk_max_processing``
processing at once (Marketo: 2) and at most ``bulk_max_queued`` queued or processing
(Marketo: 10; one more enqueue is refused with 1029). A job is reported ``Completed``
only once its file is fully written and checksummed.

Every job keeps its queue and processing instants (``_queued``, ``_started``,
``_finished``), and the runner counts the most jobs ever queued or processing at once
and the enqueues refused because the queue was full: ``GET /_sandbox/export-jobs``
shows them, so a benchmark can compute the two-slot floor (processing seconds / 2).

A job belongs to the API user who created it (``_owner``). With the ``two-users`` profile
another API user cannot see it: its status, enqueue, cancel and file answer as for an
unknown job, and the job list leaves it out (docs/MARKETO.md section 9; the rule is
:func:`marketo_sandbox.auth.owns`). The queue limits and the daily quota stay the
instance's, whoever's jobs fill them.

Faults (``POST /_sandbox/faults``) are matched against the job's STATUS path,
``GET /bulk/v1/<E>/export/<exportId>/status.json``, when the job finishes processing:
``export_fail`` ends the job ``Failed`` (``errorMsg`` = the fault's ``message`` or a
default), ``export_file_gone`` completes it normally but its ``file.json`` answers 404.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from marketo_sandbox.auth import owns
from marketo_sandbox.bulk import csvfile
from marketo_sandbox.bulk.export_kinds import header_for, kind_for
from marketo_sandbox.bulk.worker import Runner, Task
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.limits import quota_day
from marketo_sandbox.profiles import LEGACY_CSV
from marketo_sandbox.timestamps import format_ts

DOC_KIND = "export_job"
SERVICE = "bulk_export_runner"

CREATED = "Created"
QUEUED = "Queued"
PROCESSING = "Processing"
COMPLETED = "Completed"
FAILED = "Failed"
CANCELLED = "Cancelled"
STATUSES = (CREATED, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)
ACTIVE = (QUEUED, PROCESSING)

DAY = 86_400.0
LIST_WINDOW_DAYS = 7
STATUS_ORDER = (
    "exportId", "format", "status", "createdAt", "queuedAt", "startedAt", "finishedAt",
    "numberOfRecords", "fileSize", "fileChecksum", "errorMsg",
)  # fmt: skip
DEFAULT_FAILURE = "Export failed: internal error while writing the file"


def status_path(entity: str, export_id: str) -> str:
    return f"/bulk/v1/{entity}/export/{export_id}/status.json"


def public(job: dict[str, Any]) -> dict[str, Any]:
    """The status object Marketo returns: only the members the job has reached."""
    return {k: job[k] for k in STATUS_ORDER if job.get(k) is not None}


def _mb(quota: int) -> str:
    mib = 1024 * 1024
    return f"{quota // mib}MB" if quota % mib == 0 else f"{quota} bytes"


class ExportRunner(Runner):
    thread_name = "marketo-sandbox-export"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.directory = Path(self.store.directory) / "exports"
        self.directory.mkdir(parents=True, exist_ok=True)
        # Since start or the last reset: the most jobs Queued or Processing at once, the
        # most Processing at once, and enqueues refused because the queue was full.
        self.peak_active = 0
        self.peak_processing = 0
        self.queue_full_refusals = 0

    def processing_seconds(self, records: int) -> float:
        """How long a job of ``records`` rows stays Processing (its minimum plus its rows)."""
        per_1k = self.config.export_processing_seconds_per_1k_rows
        return self.config.export_processing_seconds + per_1k * records / 1000.0

    # -- records ------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        return self.store.docs(DOC_KIND)

    def visible(self, job: dict[str, Any] | None, entity: str, user: str | None) -> bool:
        return (
            job is not None
            and job.get("entity") == entity
            and owns(self.config, job.get("_owner"), user)
        )

    def job(self, entity: str, export_id: str, user: str | None = None) -> dict[str, Any]:
        """The job as ``user`` may see it: an unknown job and another API user's job
        answer alike (1003), as Marketo shows a job to its creator only."""
        job = self.store.doc_get(DOC_KIND, export_id)
        if job is None or not self.visible(job, entity, user):
            raise ApiError("1003", f"Export job '{export_id}' not found")
        return job

    def _save(self, job: dict[str, Any]) -> None:
        self.store.doc_put(DOC_KIND, job["exportId"], job)

    def file_path(self, job: dict[str, Any]) -> Path:
        return self.directory / f"{job['exportId']}.{job['format'].lower()}"

    # -- quota --------------------------------------------------------------------------

    def bytes_today(self, now: float | None = None) -> int:
        """File bytes of jobs completed in the current quota day (US Central)."""
        today = quota_day(self.now() if now is None else now)
        return sum(
            int(j.get("fileSize") or 0)
            for j in self.jobs()
            if j["status"] == COMPLETED and quota_day(j["_finished"]) == today
        )

    def check_quota(self) -> None:
        quota = self.config.export_daily_quota_bytes
        if self.bytes_today() >= quota:
            raise ApiError("1029", f"Export daily quota {_mb(quota)} exceeded")

    # -- API operations -----------------------------------------------------------------

    def create(
        self, entity: str, body: dict[str, Any], user: str | None = None
    ) -> dict[str, Any]:
        spec = kind_for(entity).validate(self.store, self.config, body)
        with self.lock:
            self.check_quota()
            now = self.now()
            job = {
                "exportId": str(uuid.uuid4()),
                "format": spec["format"],
                "status": CREATED,
                "createdAt": format_ts(now),
                "entity": entity,
                "spec": spec,
                "fileGone": False,
                "_created": now,
                "_owner": user or self.config.api_user,
            }
            self._save(job)
        return job

    def enqueue(self, entity: str, export_id: str, user: str | None = None) -> dict[str, Any]:
        with self.lock:
            job = self.job(entity, export_id, user)
            if job["status"] != CREATED:
                raise ApiError("1029", "Job already queued")
            self.check_quota()
            active = sum(1 for j in self.jobs() if j["status"] in ACTIVE)
            if active >= self.config.bulk_max_queued:
                self.queue_full_refusals += 1
                raise ApiError("1029", "Too many jobs in queue")
            now = self.now()
            job.update(status=QUEUED, queuedAt=format_ts(now), _queued=now)
            self._save(job)
            self.peak_active = max(self.peak_active, active + 1)
        self.wake()
        return job

    def cancel(self, entity: str, export_id: str, user: str | None = None) -> dict[str, Any]:
        with self.lock:
            job = self.job(entity, export_id, user)
            if job["status"] not in (CREATED, QUEUED, PROCESSING):
                raise ApiError(
                    "1003", f"Export job '{export_id}' cannot be cancelled: it is {job['status']}"
                )
            job["status"] = CANCELLED
            self._save(job)
            task = self.discard(export_id)
            if task is not None and task.done.is_set():
                self.file_path(job).unlink(missing_ok=True)
        self.wake()
        return job

    def listing(
        self, entity: str, statuses: set[str] | None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """``user``'s jobs of the last 7 days (only one's own: see :meth:`job`)."""
        horizon = self.now() - LIST_WINDOW_DAYS * DAY
        return [
            j
            for j in self.jobs()
            if self.visible(j, entity, user)
            and j["_created"] >= horizon
            and (statuses is None or j["status"] in statuses)
        ]

    def file_for(self, entity: str, export_id: str, user: str | None = None) -> Path | None:
        """The file to serve, or None (404) when the job has none to give ``user``."""
        job = self.store.doc_get(DOC_KIND, export_id)
        if job is None or not self.visible(job, entity, user) or job["status"] != COMPLETED:
            return None
        path = self.file_path(job)
        if job.get("fileGone"):
            return None
        if self.now() - job["_finished"] > self.config.export_file_retention_days * DAY:
            path.unlink(missing_ok=True)
            return None
        return path if path.exists() else None

    # -- the worker -------------------------------------------------------------------------

    def tick(self) -> float:
        with self.lock:
            if self._hold:
                return 1.0
            now = self.now()
            jobs = [j for j in self.jobs() if j["status"] in ACTIVE]
            waits: list[float] = []
            processing = 0
            for job in (j for j in jobs if j["status"] == PROCESSING):
                task = self.tasks.get(job["exportId"])
                if task is None:
                    self._start(job)
                    processing += 1
                    continue
                if task.done.is_set():
                    records = task.result.records if task.error is None else 0
                    remaining = job["_started"] + self.processing_seconds(records) - now
                    if remaining <= 0:
                        self._finish(job, task)
                        continue
                    waits.append(remaining)
                processing += 1
            for job in sorted(
                (j for j in jobs if j["status"] == QUEUED), key=lambda j: j["_queued"]
            ):
                if processing >= self.config.bulk_max_processing:
                    break
                remaining = job["_queued"] + self.config.export_queued_seconds - now
                if remaining > 0:
                    waits.append(remaining)
                    continue
                job.update(status=PROCESSING, startedAt=format_ts(now), _started=now)
                self._save(job)
                self._start(job)
                processing += 1
                self.peak_processing = max(self.peak_processing, processing)
            if waits:
                return min(waits)
            return 0.25 if jobs else 2.0

    def _start(self, job: dict[str, Any]) -> None:
        entity, spec = job["entity"], job["spec"]
        path = self.file_path(job)
        quirks = bool(self.config.csv_quirks)
        legacy = self.config.has_profile(LEGACY_CSV)
        store = self.store

        def work(task: Task) -> csvfile.FileResult:
            source = kind_for(entity).open(store, spec)
            header = header_for(source.columns, spec.get("columnHeaderNames") or {})
            try:
                return csvfile.write_file(
                    path,
                    header,
                    source.rows,
                    fmt=spec["format"],
                    quirks=quirks,
                    text_columns=source.text_columns,
                    cancel=task.cancel,
                    legacy=legacy,
                    boolean_columns=source.legacy_boolean_columns,
                )
            finally:
                close = getattr(source.rows, "close", None)
                if close is not None:
                    close()

        self.spawn(job["exportId"], work)

    def _finish(self, job: dict[str, Any], task: Task) -> None:
        self.tasks.pop(job["exportId"], None)
        now = self.now()
        path = status_path(job["entity"], job["exportId"])
        faults = self.app.faults
        failed = None
        if task.error is not None:
            failed = f"Export failed: {task.error}"
        else:
            hit = faults.take("GET", path, ("export_fail",))
            if hit:
                failed = hit[0].message or DEFAULT_FAILURE
        if failed is not None:
            self.file_path(job).unlink(missing_ok=True)
            job.update(status=FAILED, finishedAt=format_ts(now), _finished=now, errorMsg=failed)
            self._save(job)
            return
        result: csvfile.FileResult = task.result
        job.update(
            status=COMPLETED,
            finishedAt=format_ts(now),
            _finished=now,
            numberOfRecords=result.records,
            fileSize=result.size,
            fileChecksum=result.checksum,
        )
        if faults.take("GET", path, ("export_file_gone",)):
            job["fileGone"] = True
            result.path.unlink(missing_ok=True)
        self._save(job)

    def on_reset(self) -> None:
        for path in self.directory.glob("*"):
            path.unlink(missing_ok=True)
        self.peak_active = self.peak_processing = self.queue_full_refusals = 0

    def timeline(self) -> dict[str, Any]:
        """Every job's queue and processing instants (sandbox clock, epoch seconds) and
        the queue's high-water marks: what a benchmark needs for the two-slot floor."""
        with self.lock:
            jobs = [
                {
                    "exportId": j["exportId"],
                    "entity": j["entity"],
                    "status": j["status"],
                    "numberOfRecords": j.get("numberOfRecords"),
                    "fileSize": j.get("fileSize"),
                    "created": j.get("_created"),
                    "queued": j.get("_queued"),
                    "started": j.get("_started"),
                    "finished": j.get("_finished"),
                }
                for j in sorted(self.jobs(), key=lambda j: j["_created"])
            ]
            processing = sum(
                j["finished"] - j["started"]
                for j in jobs
                if j["started"] is not None and j["finished"] is not None
            )
            return {
                "jobs": jobs,
                "processing_seconds": processing,
                "two_slot_floor_seconds": processing / max(1, self.config.bulk_max_processing),
                "peak_active": self.peak_active,
                "peak_processing": self.peak_processing,
                "queue_full_refusals": self.queue_full_refusals,
            }


def runner(app: Any) -> ExportRunner:
    return ExportRunner.attach(app, SERVICE)
