"""One sync run: its clock, its stop flag, and what one stream finds for a later one.

Streams run in the order their ``depends_on`` declarations give (see ``sync_order``): a
stream that reuses what another found this run (keys on leads, program ids...) runs
after it. What they hand each other is a typed field here, never a loose dict.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marketo_core.errors import QuotaExhausted

from tap_marketo_crm.activity_feed import ActivityFeed
from tap_marketo_crm.probe import (
    MARKETO_EPOCH,
    lead_floor,
    object_type_floors,
    sees_every_partition,
)
from tap_marketo_crm.retention import STOP, Gap, Retention, gap, log_lost, log_recovery
from tap_marketo_crm.scheduling import ExportScheduler, UpcomingStream
from tap_marketo_crm.settings import setting
from tap_marketo_crm.state import state_time
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.windows import parse_ts, whole_second

if TYPE_CHECKING:
    from tap_marketo_crm.tap import TapMarketoCRM

UTC = dt.UTC
_MB = 1024 * 1024

# Exit status of a run that stopped at a daily limit (607, max_daily_calls, export quota)
# or left an export pending at its timeout: state is saved and the next run resumes.
# 75 is EX_TEMPFAIL ("temporary failure, try again later").
EXIT_RESUMABLE = 75
# Exit status of a run where a stream derived from activities found its position older
# than Marketo's activity retention and ``on_retention_gap`` is ``stop``: that stream was
# skipped with its state kept; someone must decide (re-sync it, or accept the loss).
# 65 is EX_DATAERR ("the input data was incorrect"): Marketo no longer has it.
EXIT_RETENTION_GAP = 65

# Lead fields companies and sales persons are read by (docs/MARKETO.md section 8).
COMPANY_KEY = "externalCompanyId"
SALES_PERSON_KEY = "externalSalesPersonId"


@dataclass
class SyncRun:
    """What the streams of one run share."""

    tap: TapMarketoCRM
    # One "now" for the whole run: window ends and the SDK's bookmark signpost agree.
    now: dt.datetime
    # Set when a daily limit is spent: every later stream is skipped.
    stopped: QuotaExhausted | None = None
    # Streams whose export job was left pending at its timeout (resumed next run).
    deferred: list[str] = field(default_factory=list)
    # Values of lead fields harvested from this run's lead export (only the fields the
    # leads stream was asked to harvest: see LeadsStream.extra_fields).
    lead_keys: dict[str, set[str]] = field(default_factory=dict)
    # True when this run's lead export covered every lead (a first sync).
    leads_full_pass: bool = False
    leads_synced: bool = False
    # Key-only lead exports made this run for by-key streams, by their start (None:
    # every lead), so streams at the same position share one.
    key_exports: dict[dt.datetime | None, dict[str, set[str]]] = field(default_factory=dict)
    # Company / sales person keys seen on objects fetched this run (opportunities,
    # companies), by lead field name.
    object_keys: dict[str, set[str]] = field(
        default_factory=lambda: {COMPANY_KEY: set(), SALES_PERSON_KEY: set()}
    )
    # The first activity stream to run exports every selected type at once.
    activities_exported: bool = False
    # Every program id, when the programs stream read them all (a first sync).
    program_ids: list[int] | None = None
    # Every program as Get Program by Id answers it (tags, costs), read once for the
    # program_tags and program_costs streams.
    program_records: dict[int, dict[str, Any]] | None = None
    # Every static list id (the lists stream always reads them all).
    list_ids: list[int] | None = None
    # Streams skipped because of a retention gap (on_retention_gap = stop), with the gap.
    retention_stops: dict[str, Gap] = field(default_factory=dict)
    _feed: ActivityFeed | None = field(default=None, init=False, repr=False)
    # Whole asset browses (no date range) already read this run, by path and parameters:
    # the forms, folders and segmentations browses also drive form_fields, program_tokens
    # and segments, and each read costs a call per 200 assets of the daily quota.
    _browses: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )
    # Where leads begin (probe.lead_floor), probed at most once per run: the leads
    # stream, lead-linked custom objects and key-only lead exports share it.
    _lead_floor: tuple[dt.datetime | None] | None = field(default=None, init=False, repr=False)
    # Whether REST reads see every lead partition (probe.sees_every_partition), read once:
    # the lead and activity probes rely on it.
    _every_partition: bool | None = field(default=None, init=False, repr=False)
    # When each custom object type was defined (probe.object_type_floors), read once.
    _type_floors: dict[str, dt.datetime] | None = field(default=None, init=False, repr=False)
    _scheduler: ExportScheduler | None = field(default=None, init=False, repr=False)
    # Where each activity type's data begins (probe.activity_floors), probed once per run:
    # the activity export plans from it both when its jobs are queued ahead of its turn
    # and when the windows after those jobs are planned.
    activity_floors: dict[int, dt.datetime] | None = field(default=None, init=False, repr=False)

    @classmethod
    def start(cls, tap: TapMarketoCRM) -> SyncRun:
        now = whole_second(dt.datetime.fromtimestamp(tap.initialized_at / 1000, tz=UTC))
        start_date = tap.config.get("start_date")
        with contextlib.suppress(ValueError):  # validated settings: never raises here
            if isinstance(start_date, str) and parse_ts(start_date) < MARKETO_EPOCH:
                tap.logger.info(
                    "start_date %s is before Marketo existed: reading from 2007-01-01 instead",
                    start_date,
                )
        return cls(tap=tap, now=now)

    def check_retention(self) -> None:
        """Before any stream reads: compare every selected stream's position with what
        Marketo still keeps of the activities it reads (see ``retention``).

        An activity stream (and ``deleted_leads``) behind retention lost rows for good:
        one warning naming the interval. A stream derived from activities recovers by a
        full re-read (its positions forgotten, its records versioned and ACTIVATE_VERSION
        sent once the re-read is complete, across runs if need be), or, with
        ``on_retention_gap`` = ``stop``, is skipped with its state kept.
        """
        config = self.tap.config
        policy = Retention(months=int(setting(config, "activity_retention_months")))
        stop = setting(config, "on_retention_gap") == STOP
        for stream in self.tap.streams.values():
            if not isinstance(stream, MarketoStream) or not stream.selected:
                continue
            logged = stream.logged_activity_types()
            if logged:
                found = gap(stream.bookmark(), logged, self.now, policy, stream.type_names())
                if found is not None:
                    log_lost(self.tap.logger, stream.name, found)
            derived = stream.derived_activity_types()
            if not derived or stream.recovering:
                continue
            found = gap(stream.feed_position(), derived, self.now, policy)
            if found is None:
                continue
            if stop:
                self.retention_stops[stream.name] = found
                self.tap.logger.error(
                    "'%s': position %s is older than Marketo's activity retention (types "
                    "%s kept since %s): the events of %s are gone. Skipped with its state "
                    "kept (on_retention_gap=stop); set on_retention_gap=recover to re-read "
                    "it whole. Exit status %d.",
                    stream.name,
                    state_time(found.position),
                    list(found.type_ids),
                    state_time(found.kept_since),
                    found.lost,
                    EXIT_RETENTION_GAP,
                )
                continue
            log_recovery(self.tap.logger, stream.name, found, stream.activates_on_restart)
            stream.restart_table()

    def lead_floor(self) -> dt.datetime | None:
        """No living lead (nor lead-linked custom object record) is older than this."""
        if self._lead_floor is None:
            self._lead_floor = (
                lead_floor(
                    self.tap.client, self.tap.logger, sees_everything=self.sees_every_partition
                ),
            )
        return self._lead_floor[0]

    def sees_every_partition(self) -> bool:
        """Whether REST reads of leads and activities see every lead (see ``probe``)."""
        if self._every_partition is None:
            self._every_partition = sees_every_partition(self.tap.client, self.tap.logger)
        return self._every_partition

    def object_type_floor(self, api_name: str) -> dt.datetime | None:
        """No record of custom object type ``api_name`` is older than this."""
        if self._type_floors is None:
            self._type_floors = object_type_floors(self.tap.client, self.tap.logger)
        return self._type_floors.get(api_name)

    @property
    def incomplete(self) -> bool:
        return self.stopped is not None or bool(self.deferred)

    @property
    def feed(self) -> ActivityFeed:
        """The run's activity feed, read on first use by whichever stream needs it."""
        if self._feed is None:
            self._feed = ActivityFeed(self.tap)
        return self._feed

    @property
    def scheduler(self) -> ExportScheduler:
        """The run's export scheduler: this tap's share of Marketo's export queue, jobs
        queued ahead across streams, progress lines (see ``scheduling``)."""
        if self._scheduler is None:
            tap = self.tap
            config = tap.config

            def upcoming() -> list[UpcomingStream]:
                # Selected streams in sync order; those with no bulk export say so
                # (export_key None). Streams skipped at a retention gap queue nothing.
                return [
                    st  # type: ignore[misc]
                    for st in tap.streams.values()
                    if st.selected and st.name not in self.retention_stops
                ]

            def usage() -> tuple[float, float | None]:
                today = tap.export_usage
                allowed = today.max_bytes
                return today.used / _MB, None if allowed is None else allowed / _MB

            self._scheduler = ExportScheduler(
                int(setting(config, "max_queued_export_jobs")),
                logger=tap.logger,
                upcoming=upcoming,
                usage=usage,
                progress_every=float(setting(config, "progress_interval_seconds")),
            )
        return self._scheduler

    def whole_browse(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every asset ``path`` lists with ``params``, read at most once per run."""
        key = f"{path}?{sorted((params or {}).items())}"
        if key not in self._browses:
            self._browses[key] = list(self.tap.client.browse_assets(path, params or {}))
        return self._browses[key]

    def close(self) -> None:
        """The run is over: no more progress lines."""
        if self._scheduler is not None:
            self._scheduler.close()

    def stop(self, exc: QuotaExhausted, stream: str) -> None:
        """A daily limit is spent: every later stream is skipped; state stays resumable."""
        self.stopped = exc
        reset = exc.resets_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        detail = f" [{exc.code}]" if exc.code and exc.code not in exc.reason else ""
        # THE log line of a quota stop: what was reached, and when it resets.
        self.tap.logger.warning(
            "Stopping the sync: %s%s during '%s'. State is saved; run again after %s "
            "(00:00 US Central) to resume. Exit status %d.",
            exc.reason,
            detail,
            stream,
            reset,
            EXIT_RESUMABLE,
        )

    def defer(self, stream: str, reason: str) -> None:
        self.deferred.append(stream)
        self.tap.logger.warning(
            "'%s' left unfinished: %s. Its export job is kept in state and resumed by the "
            "next run.",
            stream,
            reason,
        )
