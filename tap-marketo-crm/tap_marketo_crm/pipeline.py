"""The bulk export pipeline: every export the tap makes (leads, custom objects, activities,
program members, lead keys) goes through :class:`ExportPipeline`.

One job's life: create -> enqueue -> poll -> download -> parse (docs/MARKETO.md section 5).
A job is written to state (its :class:`JobSlots`) as soon as it exists, so a run that is
killed, times out or hits a quota picks up THE SAME ``exportId`` next time instead of
paying for a new export.

Marketo processes two export jobs at once. While one unit's job is processed and its
file downloads and is parsed, the next units' jobs are created and queued, so Marketo
keeps both processing slots busy: as many as the run's scheduler allows (this tap's
share of Marketo's queue, ``max_queued_export_jobs``; see ``scheduling``). State holds
the job being read (``current`` slot) and those queued ahead, in reading order
(``ahead`` slot); a run that dies resumes them all instead of exporting again. Each
saved job is a self-contained unit (its window, fields or types): the next run reads it
whole, commits it, and plans on from there.

Export file bytes count against Marketo's daily export quota; :class:`ExportUsage` keeps
the tap's own share (``max_export_mb_per_day``) across runs in state.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from marketo_core import ExportJob, iter_csv_rows
from marketo_core.bulk import ExportFileGone, ExportJobFailed, ExportJobNotFound, ExportJobTimeout
from marketo_core.errors import ExportQuotaExceeded, MarketoError, QuotaExhausted
from marketo_core.timeutil import format_marketo_datetime, next_quota_reset

from tap_marketo_crm.scheduling import ExportScheduler, Step, Ticker

_MB = 1024 * 1024

Row = dict[str, str | None]
JobState = dict[str, Any]


# --- the daily export quota we keep for ourselves ---------------------------------------


class ExportUsage:
    """Bytes of export files today (Marketo day: 00:00 US Central), kept in tap state so
    ``max_export_mb_per_day`` holds across runs. Marketo counts file bytes of every export
    kind against one daily quota (500 MB by default)."""

    def __init__(self, state: dict[str, Any], max_mb: float | None) -> None:
        self.state = state
        self.max_bytes = None if max_mb is None else int(float(max_mb) * _MB)

    @staticmethod
    def _today() -> str:
        # The reset instant identifies the Marketo day.
        return format_marketo_datetime(next_quota_reset())

    @property
    def used(self) -> int:
        if self.state.get("resets_at") != self._today():
            return 0
        return int(self.state.get("bytes") or 0)

    def add(self, size: int) -> None:
        today = self._today()
        if self.state.get("resets_at") != today:
            self.state.clear()
            self.state["resets_at"] = today
            self.state["bytes"] = 0
        self.state["bytes"] = int(self.state.get("bytes") or 0) + int(size)

    def check(self, what: str) -> None:
        """Raise before creating a job once today's allowance is spent."""
        if self.max_bytes is None or self.used < self.max_bytes:
            return
        raise ExportQuotaExceeded(
            f"max_export_mb_per_day ({self.max_bytes / _MB:g} MB) reached before exporting {what}",
            reason="max_export_mb_per_day reached",
            resets_at=next_quota_reset(),
        )


# --- what a pipeline is configured with -------------------------------------------------


@dataclass
class ExportSettings:
    poll_interval: float = 60.0
    timeout: float = 3 * 3600.0
    progress_every: float = 15.0  # seconds between progress lines while reading a file


@dataclass(frozen=True)
class ExportUnit:
    """One export job's worth of work.

    ``body`` is the create request (entity filter, fields); ``meta`` is stored with the
    job in state so a later run knows what the job covers (window, fields, types...);
    ``saved`` is that job from state when this unit resumes one; ``scope`` is what the
    unit covers in the caller's own terms (a window, an activity window, a batch of
    program ids), handed back to ``consume`` and ``done``."""

    body: Mapping[str, Any]
    meta: Mapping[str, Any]
    label: str
    saved: Mapping[str, Any] | None = None
    scope: Any = None


@dataclass(frozen=True)
class JobSlots:
    """Where a pipeline keeps its jobs in state: ``holder()`` is the state dict holding
    them (a stream's bookmark or the tap-level section), ``current`` the key of the job
    being read, ``ahead`` the key of the list of jobs queued ahead of it, in reading
    order (None: nothing is queued ahead), ``write`` emits a STATE message.
    ``legacy_ahead`` is the key older releases kept their one job ahead under."""

    holder: Callable[[], dict[str, Any]]
    current: str
    ahead: str | None
    write: Callable[[], None]
    legacy_ahead: str | None = None

    def saved(self) -> list[Mapping[str, Any]]:
        """The jobs in state, in the order they are read: the job in progress, then the
        ones queued ahead of it."""
        state = self.holder()
        jobs = [state.get(self.current) or None]
        for key in (self.legacy_ahead, self.ahead):
            value = state.get(key) if key else None
            jobs += value if isinstance(value, list) else [value]
        return [job for job in jobs if job]

    def put(self, jobs: Sequence[JobState]) -> None:
        """Keep ``jobs`` (reading order): the first in progress, the rest queued ahead.
        Written in ONE state message with whatever the caller committed."""
        state = self.holder()
        state[self.current] = dict(jobs[0]) if jobs else None
        if self.ahead is not None:
            state[self.ahead] = [dict(job) for job in jobs[1:]]
        if self.legacy_ahead:
            state.pop(self.legacy_ahead, None)
        self.write()


# --- the pipeline -----------------------------------------------------------------------


class ExportPipeline:
    """Runs export jobs of one ``entity`` (``leads``, ``activities``, ``program/members``,
    ``customobjects/<name>``) and hands their rows to the caller.

    - :meth:`run` reads units in order: each unit's rows go to ``consume``, then ``done``
      moves the caller's bookmarks and the pipeline writes them with its slots advanced
      in ONE state message. Meanwhile the next units' jobs are queued ahead, as far as
      the run's :class:`~tap_marketo_crm.scheduling.ExportScheduler` allows (this tap's
      share of Marketo's queue), and then the next streams' (see ``scheduling``).
    - :meth:`rows` is one unit alone (no queuing ahead).
    - :meth:`queue_next` queues the next unit's job ahead of the stream's turn.
    - :meth:`saved_jobs` and :meth:`discard` let the caller resume or drop what state holds.

    Jobs are saved to ``slots`` when created, queued and completed; a unit's job is
    cleared only after ``done`` committed its bookmark, so a kill between the two
    re-reads the unit (at-least-once). Jobs are queued ahead only for the units right
    after those that already have one, so what state holds is always the next units in
    order. Without slots, jobs live for the run only.
    """

    def __init__(
        self,
        client: Any,
        entity: str,
        *,
        settings: ExportSettings,
        usage: ExportUsage,
        logger: logging.Logger,
        slots: JobSlots | None = None,
        sleep: Callable[[float], None] = time.sleep,
        scheduler: ExportScheduler | None = None,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.entity = entity
        self.settings = settings
        self.usage = usage
        self.log = logger
        self.slots = slots
        self._sleep = sleep
        # Alone, a pipeline keeps the job being read plus one queued ahead.
        self.scheduler = scheduler or ExportScheduler(2, logger=logger)
        self.name = name or entity
        self.export_id: str | None = None
        self.file_bytes: int = 0
        self.records: int = 0  # rows of the unit last read
        # The units being read, each one's job (saved or queued ahead), the unit read now.
        self._units: Sequence[ExportUnit] = ()
        self._jobs: dict[int, JobState] = {}
        self._reading = -1
        self._ahead = False
        self._more_follow = False
        self._current: ExportJob | None = None
        # Told when Marketo refuses to create a job queued ahead (e.g. 1035: the stream
        # remembers what its own turn would have learnt, instead of asking again).
        self.on_refused: Callable[[MarketoError], None] | None = None

    # --- what state holds --------------------------------------------------------------

    def saved_jobs(self) -> list[Mapping[str, Any]]:
        """The jobs state holds for this pipeline, in reading order (see JobSlots.saved)."""
        return self.slots.saved() if self.slots is not None else []

    def discard(self, saved: Mapping[str, Any], label: str) -> None:
        """Cancel a job from state that this run will not read (the selection changed),
        freeing its place in Marketo's queue; best effort."""
        if not saved.get("exportId") or saved.get("status") == "Completed":
            return
        self.scheduler.ended(saved["exportId"])
        try:
            ExportJob.from_state(self.client, dict(saved), logger=self.log).cancel()
        except MarketoError as exc:
            self.log.info("%s: export %s not cancelled (%s)", label, saved["exportId"], exc)

    # --- reading units -----------------------------------------------------------------

    def plan(
        self, units: Sequence[ExportUnit], *, ahead: bool = True, more_follow: bool = False
    ) -> None:
        """Take ``units`` as the work to read (their saved jobs included); with ``ahead``
        the next units' jobs may be queued ahead (:meth:`queue_next`). ``more_follow``:
        the caller plans more units once these are read, so the room left after them is
        not handed to later streams meanwhile."""
        self._units = units
        self._jobs = {i: dict(u.saved) for i, u in enumerate(units) if u.saved}
        self._reading = -1
        self._ahead = ahead
        self._more_follow = more_follow

    def run(
        self,
        units: Sequence[ExportUnit],
        consume: Callable[[ExportUnit, Iterator[Row]], None],
        done: Callable[[ExportUnit], None] | None = None,
        *,
        prefetch: bool = True,
        more_follow: bool = False,
    ) -> None:
        """Read ``units`` in order. ``consume(unit, rows)`` takes a unit's rows (the hot
        loop stays in the caller); ``done(unit)`` moves the caller's bookmarks in memory
        once the unit is read, and the pipeline then writes them with its slots advanced.
        With ``prefetch``, the next units' jobs are queued ahead while this one is
        processed and read."""
        self.plan(units, ahead=prefetch, more_follow=more_follow)
        self.scheduler.begin(self.name, len(units))
        try:
            for index, unit in enumerate(units):
                self._reading = index
                consume(unit, self._rows(replace(unit, saved=self._jobs.get(index))))
                if done is not None:
                    done(unit)
                self._jobs.pop(index, None)
                self.scheduler.window_done(self.name, self.records)
                self._reading = index + 1
                self._write_slots()
                if self.scheduler.call_quota_refusal is not None:
                    raise self.scheduler.call_quota_refusal
        finally:
            self.scheduler.end(self.name)

    def rows(self, unit: ExportUnit) -> Iterator[Row]:
        """Rows of one unit's job (resumed from ``unit.saved`` when it has an exportId)."""
        self.plan([unit], ahead=False)
        self._reading = 0
        yield from self._rows(unit)

    def _rows(self, unit: ExportUnit) -> Iterator[Row]:
        job = self._job(unit, resume=True)
        for attempt in (1, 2):
            try:
                status = self._wait(job, unit)
                self.records = _int(status.get("numberOfRecords")) or 0
                if self.records == 0:
                    # Nothing matched: no file to fetch (saves a call on quiet windows).
                    self.log.info("%s: export %s is empty", unit.label, job.export_id)
                    return
                # This job left Marketo's queue: its place goes to a job ahead now,
                # processed while this file downloads and is read.
                self._fill()
                with tempfile.TemporaryFile(prefix="marketo-export-") as spool:
                    job.download(spool, progress=None)
                    self.file_bytes = spool.tell()
                    spool.seek(0)
                    yield from self.read(spool, unit.label)
                return
            except (ExportFileGone, ExportJobFailed) as exc:
                if attempt == 2:
                    raise
                # The file expired (kept ~7 days), Marketo failed the job, or the job from
                # state is not visible to this API user (ExportJobNotFound: the credentials
                # changed to another user since it was created): export again.
                reason = self._why_gone(job, unit, exc)
                self.log.warning("%s: %s; exporting the window again", unit.label, reason)
                job = self._job(unit, resume=False)

    def _why_gone(self, job: ExportJob, unit: ExportUnit, exc: MarketoError) -> MarketoError:
        """Why a job's rows cannot be read. A file that answers 404 for a job resumed from
        state may belong to another API user rather than be expired: its status (one
        call) tells the two apart, so the log says which."""
        if not isinstance(exc, ExportFileGone) or not (unit.saved or {}).get("exportId"):
            return exc
        try:
            job.status()
        except ExportJobNotFound as hidden:
            return hidden
        except MarketoError:
            return exc
        return exc

    # --- queuing ahead -----------------------------------------------------------------

    def _fill(self) -> None:
        self.scheduler.fill(self.queue_next if self._ahead else None)

    def queue_next(self) -> Step:
        """Queue the job of the first unit after the one being read that has none yet
        (or enqueue one only created, when the queue was full). Its state goes to the
        slots as soon as it exists (a run that dies resumes it). Never waits and never
        fails the current unit: a full queue (1029), a spent quota or any refusal leaves
        the job to be created (or queued) in its turn."""
        if not self._ahead:
            return Step.DONE
        index = self._reading + 1
        while index in self._jobs and self._jobs[index].get("status") not in (None, "Created"):
            index += 1
        if index >= len(self._units):
            return Step.BLOCKED if self._more_follow else Step.DONE
        unit = self._units[index]
        saved = self._jobs.get(index)
        # timeout 0: enqueue once, no waiting for room in the queue here.
        kw: dict[str, Any] = {
            "poll_interval": self.settings.poll_interval,
            "timeout": 0.0,
            "logger": self.log,
        }
        if saved and saved.get("exportId"):
            job = ExportJob.from_state(self.client, dict(saved), **kw)
        else:
            if not self._fits_allowance():
                return Step.BLOCKED
            job = ExportJob(self.client, self.entity, **kw)
            try:
                self.usage.check(unit.label)
                job.create(dict(unit.body))
            except MarketoError as exc:
                self._quota_refusal(exc)
                # Refused (a filter the subscription lacks...): not asked again ahead;
                # the unit's own turn creates its job and handles the refusal.
                self._ahead = False
                self.log.info("%s: not exported ahead (%s); exported in its turn", unit.label, exc)
                if self.on_refused is not None:
                    self.on_refused(exc)
                return Step.BLOCKED
            self._jobs[index] = self._job_state(job, unit)
            self._write_slots()
        try:
            job.enqueue()
        except MarketoError as exc:  # 1029 queue full (no waiting here), quota...
            if isinstance(exc, ExportJobNotFound):
                # A job from state that another API user created: its own turn exports
                # the window again.
                self.log.warning(
                    "%s: %s; exporting the window again in its turn", unit.label, exc
                )
                self._jobs.pop(index, None)
                self._write_slots()
            else:
                self._quota_refusal(exc)
                if not isinstance(exc, ExportJobTimeout):
                    self._ahead = False  # not a full queue: do not ask again ahead
                self.log.info(
                    "%s: export %s created ahead, queued later (%s)",
                    unit.label,
                    job.export_id,
                    exc,
                )
            return Step.BLOCKED
        self.scheduler.queued(job.export_id, self.name)
        self._jobs[index] = self._job_state(job, unit)
        self._write_slots()
        self.log.info(
            "%s: export %s queued ahead, processed while earlier files are read",
            unit.label,
            job.export_id,
        )
        return Step.QUEUED

    def _quota_refusal(self, exc: MarketoError) -> None:
        """A daily limit met while queuing ahead stops the run as if met in the unit's
        own turn, never in the middle of the unit being read: the daily call quota
        (607) or the call budget once that unit is committed (see :meth:`run`), the
        export quota at the next job to create (see :meth:`_job`), jobs that exist
        being still read."""
        if isinstance(exc, ExportQuotaExceeded):
            self.scheduler.export_quota_refusal = exc
        elif isinstance(exc, QuotaExhausted):
            self.scheduler.call_quota_refusal = exc

    def _fits_allowance(self) -> bool:
        """Whether one more job ahead fits today's ``max_export_mb_per_day`` when every job
        already in the queue brings a file of the average size seen so far: jobs queued
        ahead are exported (and count on Marketo's side) even if the tap stops before
        reading them, so they are not queued past the allowance."""
        if self.usage.max_bytes is None:
            return True
        coming = (len(self.scheduler.active) + 1) * self.scheduler.average_file_bytes()
        return self.usage.used + coming < self.usage.max_bytes

    def _write_slots(self) -> None:
        if self.slots is not None:
            self.slots.put([self._jobs[i] for i in sorted(self._jobs) if i >= self._reading])

    def read(self, spool: Any, label: str) -> Iterator[Row]:
        """Rows of a downloaded export file, streamed. Progress (MB read, elapsed) is
        logged from a timer thread, so the per-row path carries no bookkeeping of its own."""
        started = time.monotonic()
        total = self.file_bytes or 1

        def progress() -> None:
            self.log.info(
                "%s: export %s: %.1f of %.1f MB read, %.0f s",
                label,
                self.export_id,
                min(spool.tell(), total) / _MB,
                total / _MB,
                time.monotonic() - started,
            )

        with Ticker(self.settings.progress_every, progress, "export-read-progress"):
            yield from iter_csv_rows(spool, name=f"{label}: export {self.export_id} file")
        self.log.info(
            "%s: export %s read (%.1f MB) in %.1f s",
            label,
            self.export_id,
            self.file_bytes / _MB,
            time.monotonic() - started,
        )

    # --- steps -------------------------------------------------------------------------

    def _job(self, unit: ExportUnit, *, resume: bool) -> ExportJob:
        kw: dict[str, Any] = {
            "poll_interval": self.settings.poll_interval,
            "timeout": self.settings.timeout,
            "logger": self.log,
            "sleep": self._idle,
        }
        saved = unit.saved if resume else None
        if saved and saved.get("exportId"):
            job = ExportJob.from_state(self.client, dict(saved), **kw)
            self.log.info(
                "%s: resuming export %s (%s) from state",
                unit.label,
                job.export_id,
                job.status_name,
            )
        else:
            if self.scheduler.export_quota_refusal is not None:
                raise self.scheduler.export_quota_refusal
            self.usage.check(unit.label)
            job = ExportJob(self.client, self.entity, **kw)
            job.create(dict(unit.body))
            self._save_current(self._job_state(job, unit))
        self.export_id = job.export_id
        self._current = job
        return job

    def _idle(self, seconds: float) -> None:
        """Between status checks of the job being read: queue ahead if there is room
        (not while the job itself waits for a place in a full queue)."""
        if self._current is not None and self._current.status_name in ("Queued", "Processing"):
            self._fill()
        self._sleep(seconds)

    def _wait(self, job: ExportJob, unit: ExportUnit) -> dict[str, Any]:
        if job.status_name in (None, "Created"):
            job.enqueue()
            self.scheduler.queued(job.export_id, self.name)
            self._save_current(self._job_state(job, unit))
        elif job.status_name in ("Queued", "Processing"):
            self.scheduler.queued(job.export_id, self.name)  # resumed: still in the queue
        if job.status_name != "Completed" or "fileSize" not in job.info:
            # Marketo moves a job along at most once a minute; the first look waits one
            # poll interval so a quick job costs one status call, not two (unless the job
            # was queued ahead that long ago).
            queued = self.scheduler.queued_at(job.export_id)
            waited = 0.0 if queued is None else time.monotonic() - queued
            if waited < self.settings.poll_interval:
                self._idle(self.settings.poll_interval - waited)
            before = job.status_name
            try:
                status = job.wait()
            except ExportJobFailed:
                self.scheduler.ended(job.export_id)
                raise
            self.scheduler.ended(job.export_id)
            if before != "Completed":
                self.usage.add(int(status.get("fileSize") or 0))
                self.scheduler.file_seen(int(status.get("fileSize") or 0))
            self._save_current(self._job_state(job, unit))
        else:
            status = dict(job.info, status=job.status_name)
            self.scheduler.ended(job.export_id)
        self.log.info(
            "%s: export %s Completed (%s records, %.1f MB)",
            unit.label,
            job.export_id,
            status.get("numberOfRecords"),
            (_int(status.get("fileSize")) or 0) / _MB,
        )
        return status

    def _save_current(self, state: JobState) -> None:
        self._jobs[max(self._reading, 0)] = state
        self._write_slots()

    @staticmethod
    def _job_state(job: ExportJob, unit: ExportUnit) -> JobState:
        return {**job.to_state(), **unit.meta}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
