"""The bulk export pipeline: every export the tap makes (leads, custom objects, activities,
program members, lead keys) goes through :class:`ExportPipeline`.

One job's life: create -> enqueue -> poll -> download -> parse (docs/MARKETO.md section 5).
A job is written to state (its :class:`JobSlots`) as soon as it exists, so a run that is
killed, times out or hits a quota picks up THE SAME ``exportId`` next time instead of
paying for a new export.

Marketo processes two export jobs at once. While one unit's file downloads and is
parsed, the next unit's job is created and queued, so Marketo works on it meanwhile: at
most two of the run's jobs are in flight, the one being read (``current`` slot) and the
one ahead (``ahead`` slot). A run that dies resumes both instead of exporting again.
Each saved job is a self-contained unit (its window, fields or types): the next run
reads it whole, commits it, and plans on from there.

Export file bytes count against Marketo's daily export quota; :class:`ExportUsage` keeps
the tap's own share (``max_export_mb_per_day``) across runs in state.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from marketo_core import ExportJob, iter_csv_rows
from marketo_core.bulk import ExportFileGone, ExportJobFailed
from marketo_core.errors import ExportQuotaExceeded, MarketoError
from marketo_core.timeutil import format_marketo_datetime, next_quota_reset

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
    being read, ``ahead`` the key of the job queued ahead (None: nothing is queued
    ahead), ``write`` emits a STATE message."""

    holder: Callable[[], dict[str, Any]]
    current: str
    ahead: str | None
    write: Callable[[], None]

    def saved(self) -> list[Mapping[str, Any]]:
        """The jobs in state, in the order they are read: the job in progress, then the
        one queued ahead of it (alone, when the job in progress was already cleared)."""
        state = self.holder()
        current = state.get(self.current) or None
        ahead = (state.get(self.ahead) or None) if self.ahead else None
        if current is None:
            current, ahead = ahead, None
        return [job for job in (current, ahead) if job]

    def set_current(self, job: JobState | None) -> None:
        self.holder()[self.current] = job
        self.write()

    def set_ahead(self, job: JobState | None) -> None:
        assert self.ahead is not None
        self.holder()[self.ahead] = job
        self.write()

    def advance(self, upcoming: JobState | None) -> None:
        """The job queued ahead (``upcoming``) becomes the job in progress, in the same
        state message that follows the caller's commit: never out of state in between."""
        state = self.holder()
        state[self.current] = upcoming
        if self.ahead is not None:
            state[self.ahead] = None
        self.write()


# --- the pipeline -----------------------------------------------------------------------


class ExportPipeline:
    """Runs export jobs of one ``entity`` (``leads``, ``activities``, ``program/members``,
    ``customobjects/<name>``) and hands their rows to the caller.

    - :meth:`run` reads units in order: each unit's rows go to ``consume``, then ``done``
      moves the caller's bookmarks and the pipeline advances its slots in ONE state
      message. While a unit's file downloads, the next unit's job is queued ahead.
    - :meth:`rows` is one unit alone (no prefetch).
    - :meth:`saved_jobs` and :meth:`discard` let the caller resume or drop what state holds.

    Jobs are saved to ``slots`` when created, queued and completed; a unit's job is
    cleared only after ``done`` committed its bookmark, so a kill between the two
    re-reads the unit (at-least-once). Without slots, jobs live for the run only.
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
    ) -> None:
        self.client = client
        self.entity = entity
        self.settings = settings
        self.usage = usage
        self.log = logger
        self.slots = slots
        self._sleep = sleep
        self.export_id: str | None = None
        self.file_bytes: int = 0
        # exportId -> when this pipeline queued it (a job queued ahead has been processing
        # while the previous file was read: its first status check need not wait).
        self._queued_at: dict[str, float] = {}

    # --- what state holds --------------------------------------------------------------

    def saved_jobs(self) -> list[Mapping[str, Any]]:
        """The jobs state holds for this pipeline, in reading order (see JobSlots.saved)."""
        return self.slots.saved() if self.slots is not None else []

    def discard(self, saved: Mapping[str, Any], label: str) -> None:
        """Cancel a job from state that this run will not read (the selection changed),
        freeing its place in Marketo's queue; best effort."""
        if not saved.get("exportId") or saved.get("status") == "Completed":
            return
        try:
            ExportJob.from_state(self.client, dict(saved), logger=self.log).cancel()
        except MarketoError as exc:
            self.log.info("%s: export %s not cancelled (%s)", label, saved["exportId"], exc)

    # --- reading units -----------------------------------------------------------------

    def run(
        self,
        units: Sequence[ExportUnit],
        consume: Callable[[ExportUnit, Iterator[Row]], None],
        done: Callable[[ExportUnit], None] | None = None,
        *,
        prefetch: bool = True,
    ) -> None:
        """Read ``units`` in order. ``consume(unit, rows)`` takes a unit's rows (the hot
        loop stays in the caller); ``done(unit)`` moves the caller's bookmarks in memory
        once the unit is read, and the pipeline then writes them with its slots advanced.
        With ``prefetch``, the next unit's job (unless state already has it) is created
        and queued while the current file downloads."""
        carried: Mapping[str, Any] | None = None  # the job queued ahead for this unit
        for index, unit in enumerate(units):
            following = units[index + 1] if index + 1 < len(units) else None
            queued_ahead: JobState = {}

            def ahead(
                following: ExportUnit | None = following, into: JobState = queued_ahead
            ) -> None:
                if not prefetch or following is None or following.saved is not None:
                    return  # last unit, or the next one is already a job in state
                into.update(self.prefetch(following) or {})

            current = replace(unit, saved=carried or unit.saved)
            consume(unit, self.rows(current, ahead=ahead))
            upcoming = dict(queued_ahead) or (
                dict(following.saved) if following is not None and following.saved else None
            )
            if done is not None:
                done(unit)
            if self.slots is not None:
                self.slots.advance(upcoming)
            carried = upcoming

    def rows(self, unit: ExportUnit, *, ahead: Callable[[], None] | None = None) -> Iterator[Row]:
        """Rows of one unit's job (resumed from ``unit.saved`` when it has an exportId).

        ``ahead`` is called once the job is Completed with a file to read, before the
        download: :meth:`run` queues the next unit's job there."""
        job = self._job(unit, resume=True)
        for attempt in (1, 2):
            try:
                status = self._wait(job, unit)
                if _int(status.get("numberOfRecords")) == 0:
                    # Nothing matched: no file to fetch (saves a call on quiet windows).
                    self.log.info("%s: export %s is empty", unit.label, job.export_id)
                    return
                if ahead is not None:
                    ahead()
                    ahead = None
                with tempfile.TemporaryFile(prefix="marketo-export-") as spool:
                    job.download(spool, progress=None)
                    self.file_bytes = spool.tell()
                    spool.seek(0)
                    yield from self.read(spool, unit.label)
                return
            except (ExportFileGone, ExportJobFailed) as exc:
                if attempt == 2:
                    raise
                # The file expired (kept ~7 days) or Marketo failed the job: export again.
                self.log.warning("%s: %s; exporting the window again", unit.label, exc)
                job = self._job(unit, resume=False)

    def prefetch(self, unit: ExportUnit) -> JobState | None:
        """Create and queue ``unit``'s job now, so Marketo processes it while the current
        file is read. Its state goes to the ``ahead`` slot as soon as it exists (a run
        that dies resumes it) and is returned; None when it was not created. Never waits
        and never fails the current unit: a full queue (1029), a spent quota or any
        refusal leaves the job to be created (or queued) in its turn, as without this."""
        try:
            self.usage.check(unit.label)
        except ExportQuotaExceeded:
            return None
        job = ExportJob(
            self.client,
            self.entity,
            poll_interval=self.settings.poll_interval,
            timeout=0.0,  # enqueue once: no waiting for room in the queue here
            logger=self.log,
        )
        try:
            job.create(dict(unit.body))
        except MarketoError as exc:
            self.log.info("%s: not exported ahead (%s); exported in its turn", unit.label, exc)
            return None
        state = self._job_state(job, unit)
        self._save_ahead(state)
        try:
            job.enqueue()
        except MarketoError as exc:  # 1029 queue full (no waiting here), quota...
            self.log.info(
                "%s: export %s created ahead, queued in its turn (%s)",
                unit.label,
                job.export_id,
                exc,
            )
            return state
        self._queued_at[str(job.export_id)] = time.monotonic()
        state = self._job_state(job, unit)
        self._save_ahead(state)
        self.log.info(
            "%s: export %s queued ahead, processing while the previous file is read",
            unit.label,
            job.export_id,
        )
        return state

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

        with _Ticker(self.settings.progress_every, progress):
            yield from iter_csv_rows(spool)
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
            self.usage.check(unit.label)
            job = ExportJob(self.client, self.entity, **kw)
            job.create(dict(unit.body))
            self._save_current(self._job_state(job, unit))
        self.export_id = job.export_id
        return job

    def _wait(self, job: ExportJob, unit: ExportUnit) -> dict[str, Any]:
        if job.status_name in (None, "Created"):
            job.enqueue()
            self._save_current(self._job_state(job, unit))
        if job.status_name != "Completed" or "fileSize" not in job.info:
            # Marketo moves a job along at most once a minute; the first look waits one
            # poll interval so a quick job costs one status call, not two (unless the job
            # was queued ahead that long ago).
            queued = self._queued_at.pop(str(job.export_id), None)
            waited = 0.0 if queued is None else time.monotonic() - queued
            if waited < self.settings.poll_interval:
                self._sleep(self.settings.poll_interval - waited)
            before = job.status_name
            status = job.wait()
            if before != "Completed":
                self.usage.add(int(status.get("fileSize") or 0))
            self._save_current(self._job_state(job, unit))
        else:
            status = dict(job.info, status=job.status_name)
        self.log.info(
            "%s: export %s Completed (%s records, %.1f MB)",
            unit.label,
            job.export_id,
            status.get("numberOfRecords"),
            (_int(status.get("fileSize")) or 0) / _MB,
        )
        return status

    def _save_current(self, state: JobState) -> None:
        if self.slots is not None:
            self.slots.set_current(state)

    def _save_ahead(self, state: JobState) -> None:
        if self.slots is not None and self.slots.ahead is not None:
            self.slots.set_ahead(state)

    @staticmethod
    def _job_state(job: ExportJob, unit: ExportUnit) -> JobState:
        return {**job.to_state(), **unit.meta}


class _Ticker:
    """Calls ``tick`` every ``every`` seconds from a daemon thread while in the block."""

    def __init__(self, every: float, tick: Callable[[], None]) -> None:
        self.every = every
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="export-progress", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except (OSError, ValueError):  # the file closed under us: the block is ending
                return

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
