"""Keeping Marketo's two export processing slots busy across streams, within this tap's
share of the export queue, and telling a person how far a long sync is
(docs/MARKETO.md section 5).

Marketo processes 2 export jobs at a time and holds at most 10 Queued or Processing for
every integration of the instance together; real jobs take minutes. A first sync's wall
time is set by how well both processing slots are kept busy, not by parsing. So:

- the pipeline of the stream being read queues its next windows' jobs ahead (each into
  state as soon as it exists: a killed run resumes the same exportIds);
- when that stream has no window left to queue, the bulk streams next in sync order
  queue their first windows' jobs into their OWN state slots, and each finds its jobs
  waiting (resumed from state) when its turn comes;
- at most ``max_queued_export_jobs`` of this tap's jobs are Queued or Processing at
  once, as far as the tap knows (a job counts from its enqueue, or from being resumed
  Queued/Processing, until a status check sees it end), so other integrations keep the
  rest of Marketo's queue. Queuing ahead never waits: a full queue (1029, another
  integration's jobs) stops it until the next status check.

Every ``progress_interval_seconds`` one log line per active bulk stream says where it
stands: windows done of planned, rows, jobs in Marketo's queue, export MB used today
against the tap's and Marketo's daily quota, and the time left at the rate so far.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from marketo_core.errors import ExportQuotaExceeded, QuotaExhausted

_MB = 1024 * 1024
MARKETO_EXPORT_MB_PER_DAY = 500  # Marketo's default daily export quota, every integration


class Step(enum.Enum):
    """What an attempt to queue one more job ahead came to."""

    QUEUED = "queued"  # a job was created and queued: it holds a place in the queue
    DONE = "done"  # nothing left to queue ahead (every remaining window has its job)
    BLOCKED = "blocked"  # refused (queue full, quota, error): stop queuing for now


class Lookahead(Protocol):
    """A bulk stream not yet at its turn that can queue its next window's job into its
    own state (see ``WindowedExportStream.export_lookahead``)."""

    def queue_next(self) -> Step: ...


class UpcomingStream(Protocol):
    """What the scheduler needs of a stream later in the sync order."""

    @property
    def export_key(self) -> str | None: ...

    def export_lookahead(self) -> Lookahead | None: ...


@dataclass
class StreamProgress:
    """Where one bulk stream's export stands, for the progress line."""

    name: str
    windows: int = 0
    done: int = 0
    rows: int = 0
    started: float | None = None  # monotonic: when its own turn began
    reading: bool = False


class ExportScheduler:
    """One per run: this tap's jobs in Marketo's queue, who may queue ahead, progress."""

    def __init__(
        self,
        limit: int,
        *,
        logger: logging.Logger | None = None,
        upcoming: Callable[[], Iterable[UpcomingStream]] = tuple,
        usage: Callable[[], tuple[float, float | None]] | None = None,
        progress_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, int(limit))
        self.log = logger or logging.getLogger(__name__)
        self._upcoming = upcoming
        self._usage = usage
        self._progress_every = progress_every
        self._clock = clock
        self._lock = threading.RLock()
        # exportId -> (stream it is for, when it was queued or first seen active)
        self.active: dict[str, tuple[str, float]] = {}
        self.peak = 0
        self.progress: dict[str, StreamProgress] = {}
        self._lookaheads: dict[str, Lookahead | None] = {}  # None: nothing more to queue
        self._begun: set[str] = set()
        self._filling = False
        self._ticker: Ticker | None = None
        self._files = 0
        self._file_bytes = 0
        # Marketo's (or the tap's) export quota, met by a job queued ahead: no job is
        # created after it this run (the run stops there, resumable).
        self.export_quota_refusal: ExportQuotaExceeded | None = None
        # The daily call quota (607) or call budget, met by a job queued ahead: the run
        # stops once the unit being read is committed.
        self.call_quota_refusal: QuotaExhausted | None = None

    # --- this tap's jobs in Marketo's queue ------------------------------------------

    def room(self) -> int:
        return self.limit - len(self.active)

    def queued(self, export_id: str | None, name: str) -> None:
        """A job of ``name`` was queued (or resumed Queued / Processing) by this run."""
        if not export_id:
            return
        with self._lock:
            self.active.setdefault(str(export_id), (name, self._clock()))
            self.peak = max(self.peak, len(self.active))

    def ended(self, export_id: str | None) -> None:
        """A status check saw the job end (Completed, Failed, Cancelled)."""
        with self._lock:
            self.active.pop(str(export_id), None)

    def file_seen(self, size: int) -> None:
        """A job of this run completed with a file of ``size`` bytes."""
        self._files += 1
        self._file_bytes += size

    def average_file_bytes(self) -> float:
        return self._file_bytes / self._files if self._files else 0.0

    def queued_at(self, export_id: str | None) -> float | None:
        entry = self.active.get(str(export_id))
        return entry[1] if entry else None

    # --- queuing ahead ---------------------------------------------------------------

    def fill(self, own: Callable[[], Step] | None = None) -> None:
        """Queue jobs ahead while this tap's share of the queue has room: first the
        reading stream's next windows (``own``), then the next streams' first ones."""
        with self._lock:
            if self._filling:
                return
            self._filling = True
        try:
            while self.room() > 0:
                if own is not None:
                    step = own()
                    if step is Step.BLOCKED:
                        return
                    if step is Step.QUEUED:
                        continue
                    own = None  # every remaining window of the reading stream has a job
                found = self._next_lookahead()
                if found is None:
                    return
                key, lookahead = found
                step = lookahead.queue_next()
                if step is Step.BLOCKED:
                    return
                if step is Step.DONE:
                    self._lookaheads[key] = None
        finally:
            self._filling = False

    def _next_lookahead(self) -> tuple[str, Lookahead] | None:
        for stream in self._upcoming():
            key = stream.export_key
            if key is None or key in self._begun:
                continue
            if key not in self._lookaheads:
                self._lookaheads[key] = stream.export_lookahead()
            lookahead = self._lookaheads[key]
            if lookahead is not None:
                return key, lookahead
        return None

    # --- progress --------------------------------------------------------------------

    def begin(self, name: str, windows: int) -> None:
        """``name``'s own turn reads ``windows`` more units (its jobs queued ahead included)."""
        with self._lock:
            entry = self.progress.get(name)
            if entry is None or name not in self._begun:
                entry = self.progress[name] = StreamProgress(name, started=self._clock())
            self._begun.add(name)
            self._lookaheads[name] = None
            entry.windows += windows
            entry.reading = True
        self._start_ticker()

    def window_done(self, name: str, rows: int) -> None:
        entry = self.progress.get(name)
        if entry is not None:
            entry.done += 1
            entry.rows += rows

    def end(self, name: str) -> None:
        entry = self.progress.get(name)
        if entry is not None:
            entry.reading = False

    def planned_ahead(self, name: str, windows: int) -> None:
        """A stream not at its turn yet plans ``windows`` (its jobs are being queued ahead)."""
        with self._lock:
            if name not in self._begun:
                self.progress[name] = StreamProgress(name, windows=windows)

    def progress_lines(self) -> list[str]:
        with self._lock:
            entries = list(self.progress.values())
            in_queue: dict[str, int] = {}
            for name, _ in self.active.values():
                in_queue[name] = in_queue.get(name, 0) + 1
        usage = self._usage_text()
        lines = []
        for entry in entries:
            queued = in_queue.get(entry.name, 0)
            if entry.reading:
                lines.append(
                    f"'{entry.name}' export progress: {entry.done}/{entry.windows} windows, "
                    f"{entry.rows:,} rows, {queued} job(s) queued or processing; {usage}; "
                    f"{self._left(entry)}"
                )
            elif entry.name not in self._begun and queued:
                lines.append(
                    f"'{entry.name}' export progress: waiting for its turn, {queued} of its "
                    f"{entry.windows} windows' jobs queued ahead; {usage}"
                )
        return lines

    def _usage_text(self) -> str:
        if self._usage is None:
            return "export MB today unknown"
        used, allowed = self._usage()
        mine = f"of max_export_mb_per_day {allowed:g} MB" if allowed is not None else "no cap"
        return (
            f"export {used:.1f} MB used today {mine} "
            f"(Marketo's quota: {MARKETO_EXPORT_MB_PER_DAY} MB for every integration)"
        )

    def _left(self, entry: StreamProgress) -> str:
        if entry.done == 0 or entry.started is None:
            return "time left: estimated after its first window"
        per_window = (self._clock() - entry.started) / entry.done
        return f"about {_duration(per_window * max(0, entry.windows - entry.done))} left"

    def log_progress(self) -> None:
        for line in self.progress_lines():
            self.log.info(line)

    def _start_ticker(self) -> None:
        if self._ticker is None and self._progress_every:
            self._ticker = Ticker(self._progress_every, self.log_progress, "export-progress")
            self._ticker.__enter__()

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.__exit__()
            self._ticker = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Ticker:
    """Calls ``tick`` every ``every`` seconds from a daemon thread while in the block."""

    def __init__(self, every: float, tick: Callable[[], None], name: str) -> None:
        self.every = every
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except (OSError, ValueError):  # the file closed under us: the block is ending
                return

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
