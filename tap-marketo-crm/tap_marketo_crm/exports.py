"""Bulk export windows and in-flight export jobs that survive a run.

Two halves:

- The window planner (pure functions): Marketo's bulk filters take at most 31 days
  (``max_export_days``), so a sync from a bookmark to "now" is a list of windows. Windows
  are inclusive at both ends (as Marketo's are), so the boundary second is read twice:
  duplicates of the same key, never a gap.
- :class:`ExportRunner`: one window's export job from create to parsed rows. The job is
  written to state as soon as it exists, so a run that is killed, times out or hits a
  quota picks up THE SAME ``exportId`` next time instead of paying for a new export.

Marketo processes two export jobs at once. While one window's file downloads and is
parsed, the next window's job is created and queued (:meth:`ExportRunner.prefetch`), so
Marketo works on it meanwhile: at most two of the run's jobs are in flight, the one being
read and the one ahead. The job ahead is kept in state too (``next_export_job`` /
``marketo.next_activity_export``): a run that dies resumes both instead of exporting
again. Each saved job is a self-contained unit (its window, fields or types): the next
run reads it whole, commits its window, and plans on from there.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketo_core import ExportJob, iter_csv_rows
from marketo_core.bulk import ExportFileGone, ExportJobFailed
from marketo_core.errors import ExportQuotaExceeded, MarketoError
from marketo_core.timeutil import format_marketo_datetime, next_quota_reset, parse_marketo_datetime

UTC = dt.UTC
MAX_EXPORT_DAYS = 31  # Marketo's bulk window limit
_MB = 1024 * 1024


# --- windows ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Window:
    """An export window, inclusive at both ends like Marketo's ``startAt``/``endAt``."""

    start: dt.datetime
    end: dt.datetime

    def as_filter(self) -> dict[str, str]:
        return {
            "startAt": format_marketo_datetime(self.start),
            "endAt": format_marketo_datetime(self.end),
        }

    def to_state(self) -> dict[str, str]:
        return self.as_filter()

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> Window:
        return cls(parse_ts(value["startAt"]), parse_ts(value["endAt"]))

    def __str__(self) -> str:
        return f"{format_marketo_datetime(self.start)}..{format_marketo_datetime(self.end)}"


def parse_ts(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_marketo_datetime(value)


def whole_second(value: dt.datetime) -> dt.datetime:
    """Marketo keeps whole seconds; windows on whole seconds read back exactly."""
    return value.astimezone(UTC).replace(microsecond=0)


def plan_windows(start: dt.datetime, end: dt.datetime, max_days: int) -> list[Window]:
    """Forward windows covering ``start..end``, oldest first, each at most ``max_days``."""
    start, end = whole_second(start), whole_second(end)
    if end <= start:
        return []
    step = dt.timedelta(days=_clamp_days(max_days))
    windows = []
    cursor = start
    while cursor < end:
        stop = min(cursor + step, end)
        windows.append(Window(cursor, stop))
        cursor = stop
    return windows


def plan_backward(frontier: dt.datetime, floor: dt.datetime, max_days: int) -> list[Window]:
    """Windows covering ``floor..frontier``, NEWEST first (priority-first backfill)."""
    frontier, floor = whole_second(frontier), whole_second(floor)
    step = dt.timedelta(days=_clamp_days(max_days))
    windows = []
    cursor = frontier
    while cursor > floor:
        stop = max(cursor - step, floor)
        windows.append(Window(stop, cursor))
        cursor = stop
    return windows


def _clamp_days(max_days: int) -> int:
    return max(1, min(int(max_days), MAX_EXPORT_DAYS))


# --- activity windows: one job per window for every type that needs it ----------------


@dataclass
class TypeProgress:
    """Where one activity type stands: ``forward`` is its bookmark (everything up to it is
    synced); ``backfill`` (priority_first only) is the older edge still to go back from,
    down to start_date; None when there is nothing left to backfill."""

    type_id: int
    forward: dt.datetime | None = None
    backfill: dt.datetime | None = None


@dataclass
class ActivityWindow:
    window: Window
    type_ids: tuple[int, ...]
    backfill: bool = False
    # Per type bounds on activityDate, as Marketo text: rows outside are not this type's
    # to emit in this window (another window or an earlier run covers them).
    floors: dict[int, str] = field(default_factory=dict)
    ceilings: dict[int, str] = field(default_factory=dict)


def activity_forward_start(
    progress: TypeProgress,
    *,
    start_date: dt.datetime,
    now: dt.datetime,
    max_days: int,
    lookback: dt.timedelta,
    priority_first: bool,
) -> dt.datetime:
    """Where a type's forward sync starts this run."""
    if progress.forward is not None:
        return max(start_date, progress.forward - lookback)
    if priority_first:
        # First sync, newest window first: older data is backfilled by later runs.
        return max(start_date, now - dt.timedelta(days=_clamp_days(max_days)))
    return start_date


def plan_activity_windows(
    types: Sequence[TypeProgress],
    *,
    start_date: dt.datetime,
    now: dt.datetime,
    max_days: int,
    lookback: dt.timedelta = dt.timedelta(0),
    priority_first: bool = False,
    include_backfill: bool = True,
) -> list[ActivityWindow]:
    """Forward windows (oldest first), then priority-first backfill windows (newest first).

    Each window lists only the types that need data in it, so a type selected later does
    not cost a second export of months the others already have.
    """
    start_date, now = whole_second(start_date), whole_second(now)
    starts = {
        p.type_id: whole_second(
            activity_forward_start(
                p,
                start_date=start_date,
                now=now,
                max_days=max_days,
                lookback=lookback,
                priority_first=priority_first,
            )
        )
        for p in types
    }
    plan: list[ActivityWindow] = []
    if starts:
        for window in plan_windows(min(starts.values()), now, max_days):
            ids = tuple(sorted(t for t, s in starts.items() if s < window.end))
            if not ids:
                continue
            floors = {
                t: format_marketo_datetime(starts[t]) for t in ids if starts[t] > window.start
            }
            plan.append(ActivityWindow(window, ids, floors=floors))
    if not include_backfill:
        return plan
    edges = {
        p.type_id: whole_second(p.backfill)
        for p in types
        if p.backfill is not None and whole_second(p.backfill) > start_date
    }
    if edges:
        for window in plan_backward(max(edges.values()), start_date, max_days):
            ids = tuple(sorted(t for t, e in edges.items() if e > window.start))
            if not ids:
                continue
            ceilings = {t: format_marketo_datetime(edges[t]) for t in ids if edges[t] < window.end}
            plan.append(ActivityWindow(window, ids, backfill=True, ceilings=ceilings))
    return plan


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


# --- one export window, resumable ------------------------------------------------------


@dataclass
class ExportSettings:
    poll_interval: float = 60.0
    timeout: float = 3 * 3600.0
    progress_every: float = 15.0  # seconds between progress lines while reading a file


class ExportRunner:
    """Runs one export (``entity`` + create ``body``) and yields its rows.

    ``saved``/``save`` connect the job to state: ``save(job_state)`` is called when the job
    is created, queued and completed (the caller writes a STATE message); ``save(None)``
    is NOT called here: the caller clears the job only after it has committed the
    window's bookmark, so a kill between the two re-reads the window (at-least-once).
    """

    def __init__(
        self,
        client: Any,
        entity: str,
        *,
        settings: ExportSettings,
        usage: ExportUsage,
        logger: logging.Logger,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.entity = entity
        self.settings = settings
        self.usage = usage
        self.log = logger
        self._sleep = sleep
        self.export_id: str | None = None
        self.number_of_records: int | None = None
        self.file_bytes: int = 0
        # exportId -> when this runner queued it (a job queued ahead has been processing
        # while the previous file was read: its first status check need not wait).
        self._queued_at: dict[str, float] = {}

    def rows(
        self,
        body: Mapping[str, Any],
        *,
        meta: Mapping[str, Any],
        saved: Mapping[str, Any] | None,
        save: Callable[[dict[str, Any]], None],
        label: str,
        ahead: Callable[[], None] | None = None,
    ) -> Iterator[dict[str, str | None]]:
        """Rows of the window described by ``body``; ``meta`` (window, fields, types...)
        is stored with the job so a later run knows what the job covers.

        ``ahead`` is called once the job is Completed with a file to read, before the
        download: the caller queues the next window's job there (:meth:`prefetch`)."""
        job = self._job(body, meta=meta, saved=saved, save=save, label=label)
        for attempt in (1, 2):
            try:
                status = self._wait(job, meta, save, label)
                if _int(status.get("numberOfRecords")) == 0:
                    # Nothing matched: no file to fetch (saves a call on quiet windows).
                    self.log.info("%s: export %s is empty", label, job.export_id)
                    return
                if ahead is not None:
                    ahead()
                    ahead = None
                with tempfile.TemporaryFile(prefix="marketo-export-") as spool:
                    job.download(spool, progress=None)
                    self.file_bytes = spool.tell()
                    spool.seek(0)
                    yield from self.read(spool, label)
                return
            except (ExportFileGone, ExportJobFailed) as exc:
                if attempt == 2:
                    raise
                # The file expired (kept ~7 days) or Marketo failed the job: export again.
                self.log.warning("%s: %s; exporting the window again", label, exc)
                job = self._job(body, meta=meta, saved=None, save=save, label=label)

    def prefetch(
        self,
        body: Mapping[str, Any],
        *,
        meta: Mapping[str, Any],
        save: Callable[[dict[str, Any]], None],
        label: str,
    ) -> dict[str, Any] | None:
        """Create and queue the next window's job now, so Marketo processes it while the
        current file is read. Its state goes to ``save`` as soon as it exists (a run that
        dies resumes it) and is returned; None when it was not created. Never waits and
        never fails the current window: a full queue (1029), a spent quota or any
        refusal leaves the job to be created (or queued) in its turn, as without this."""
        try:
            self.usage.check(label)
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
            job.create(dict(body))
        except MarketoError as exc:
            self.log.info("%s: not exported ahead (%s); exported in its turn", label, exc)
            return None
        state = self._state(job, meta)
        save(state)
        try:
            job.enqueue()
        except MarketoError as exc:  # 1029 queue full (no waiting here), quota...
            self.log.info(
                "%s: export %s created ahead, queued in its turn (%s)", label, job.export_id, exc
            )
            return state
        self._queued_at[str(job.export_id)] = time.monotonic()
        state = self._state(job, meta)
        save(state)
        self.log.info(
            "%s: export %s queued ahead, processing while the previous file is read",
            label,
            job.export_id,
        )
        return state

    def discard(self, saved: Mapping[str, Any], label: str) -> None:
        """Cancel a job from state that this run will not read (the selection changed),
        freeing its place in Marketo's queue; best effort."""
        if not saved.get("exportId") or saved.get("status") == "Completed":
            return
        try:
            ExportJob.from_state(self.client, dict(saved), logger=self.log).cancel()
        except MarketoError as exc:
            self.log.info("%s: export %s not cancelled (%s)", label, saved["exportId"], exc)

    # --- steps -----------------------------------------------------------------------

    def _job(
        self,
        body: Mapping[str, Any],
        *,
        meta: Mapping[str, Any],
        saved: Mapping[str, Any] | None,
        save: Callable[[dict[str, Any]], None],
        label: str,
    ) -> ExportJob:
        kw: dict[str, Any] = {
            "poll_interval": self.settings.poll_interval,
            "timeout": self.settings.timeout,
            "logger": self.log,
        }
        if saved and saved.get("exportId"):
            job = ExportJob.from_state(self.client, dict(saved), **kw)
            self.log.info(
                "%s: resuming export %s (%s) from state", label, job.export_id, job.status_name
            )
        else:
            self.usage.check(label)
            job = ExportJob(self.client, self.entity, **kw)
            job.create(dict(body))
            save(self._state(job, meta))
        self.export_id = job.export_id
        return job

    def _wait(
        self,
        job: ExportJob,
        meta: Mapping[str, Any],
        save: Callable[[dict[str, Any]], None],
        label: str,
    ) -> dict[str, Any]:
        if job.status_name in (None, "Created"):
            job.enqueue()
            save(self._state(job, meta))
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
            save(self._state(job, meta))
        else:
            status = dict(job.info, status=job.status_name)
        self.number_of_records = _int(status.get("numberOfRecords"))
        self.log.info(
            "%s: export %s Completed (%s records, %.1f MB)",
            label,
            job.export_id,
            status.get("numberOfRecords"),
            (_int(status.get("fileSize")) or 0) / _MB,
        )
        return status

    def read(
        self, spool: Any, label: str, count: Callable[[], int] | None = None
    ) -> Iterator[dict[str, str | None]]:
        """Rows of a downloaded export file, streamed. Progress (MB read, records written
        when ``count`` tells them, elapsed) is logged from a timer thread, so the per-row
        path carries no bookkeeping of its own."""
        started = time.monotonic()
        total = self.file_bytes or 1

        def progress() -> None:
            written = f", {count()} records" if count is not None else ""
            self.log.info(
                "%s: export %s: %.1f of %.1f MB read%s, %.0f s",
                label,
                self.export_id,
                min(spool.tell(), total) / _MB,
                total / _MB,
                written,
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

    @staticmethod
    def _state(job: ExportJob, meta: Mapping[str, Any]) -> dict[str, Any]:
        return {**job.to_state(), **meta}


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
