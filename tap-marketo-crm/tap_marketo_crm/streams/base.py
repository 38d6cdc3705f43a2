"""The base stream every Marketo stream derives from.

Streams are thin (name, keys, schema, what to fetch, what they depend on); the base holds
the rest:

- access to the run's one :class:`~marketo_core.MarketoClient` (owned by the tap, built
  lazily so ``--about`` and ``--help`` never touch Marketo) and to the :class:`SyncRun`;
- Marketo errors mapped to SDK behaviour: a spent daily limit (607, ``max_daily_calls``,
  the export quota) stops the run cleanly with state saved and one log line; an export job
  still pending at ``bulk_job_timeout_seconds`` is left in state for the next run; other
  failures are fatal with Marketo's own message;
- records written through a :class:`~tap_marketo_crm.records.RecordWriter`, not yielded to
  the SDK (see ``records``);
- bookmarks written by the stream itself: Marketo exports are not sorted, so a bookmark
  only moves when a whole window is done, never per record.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from marketo_core import MarketoClient
from marketo_core.bulk import ExportJobTimeout
from marketo_core.errors import MarketoAuthError, MarketoError, QuotaExhausted
from marketo_core.timeutil import format_marketo_datetime
from singer_sdk import Stream, metrics
from singer_sdk.exceptions import FatalAPIError

from tap_marketo_crm import deletes, sdk_seam
from tap_marketo_crm import schemas as s
from tap_marketo_crm.pipeline import ExportPipeline, ExportSettings, JobSlots
from tap_marketo_crm.probe import floor_start_date
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.settings import setting
from tap_marketo_crm.state import state_time
from tap_marketo_crm.windows import parse_ts

if TYPE_CHECKING:
    from tap_marketo_crm.activity_feed import FeedNeed
    from tap_marketo_crm.run import SyncRun
    from tap_marketo_crm.scheduling import Lookahead
    from tap_marketo_crm.tap import TapMarketoCRM

MAX_KEYS = 300  # Marketo: filter values / records per call, and REST page size
# State of a stream's periodic whole reads: when the last one completed, and its table
# version, carried by the change-only runs after it.
LAST_WHOLE_READ = "last_whole_read"
WHOLE_READ_VERSION = "whole_read_version"


class MarketoStream(Stream):
    """Base of every stream: owns access to the client, state and the record path.

    Subclasses implement :meth:`sync_records` (fetch, then write through a
    :class:`RecordWriter` and commit bookmarks); ``get_records`` yields nothing to the
    SDK because records are written directly (see ``records``).
    """

    # Whether records come from bulk CSV files (text) or JSON answers.
    text_input = False
    # The stream's name: a class attribute of every concrete stream (the SDK declares it
    # on instances only; discovery maps catalog names to classes).
    name: str
    # Key columns the stream declares; subclasses set them.
    primary_keys_default: tuple[str, ...] = ()
    replication_key_default: str | None = None
    # Streams that run before this one (names; ``prefix_*`` names every stream of a
    # family): those whose records this stream's records point at, or whose findings
    # this run it reuses. The sync order is derived from them (``sync_order``).
    depends_on: ClassVar[tuple[str, ...]] = ()
    # Set by a stream that reads its whole table on every run (a listing, not a window):
    # its records carry the run's table version and ACTIVATE_VERSION follows the last of
    # them, so a loader that honours it drops the rows Marketo no longer has.
    reads_whole_table: ClassVar[bool] = False
    # Whether a full re-read after a retention gap covers every record (then it is sent
    # with ACTIVATE_VERSION); False where Marketo has no complete listing to re-read.
    activates_on_restart: ClassVar[bool] = True

    def __init__(self, tap: TapMarketoCRM, schema: dict[str, Any], name: str | None = None) -> None:
        self._marketo_tap = tap
        super().__init__(tap, schema=schema, name=name)
        self._record_counter: metrics.Counter | None = None
        self._pending_count = 0
        if self.primary_keys_default:
            self.primary_keys = list(self.primary_keys_default)
        if self.replication_key_default:
            self.replication_key = self.replication_key_default

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        """The schema of a stream Marketo publishes no describe for; those streams
        (``discovery.FIXED_STREAMS``) define it."""
        raise NotImplementedError(f"{cls.__name__} has no fixed schema")

    # --- what the tap shares ---------------------------------------------------------

    @property
    def tap(self) -> TapMarketoCRM:
        return self._marketo_tap

    @property
    def client(self) -> MarketoClient:
        return self.tap.client

    @property
    def run(self) -> SyncRun:
        return self.tap.run

    @property
    def start_date(self) -> dt.datetime:
        # Never before 2007-01-01: Marketo holds nothing older (see ``probe``).
        return floor_start_date(parse_ts(self.config["start_date"]))

    @property
    def probing(self) -> bool:
        """Whether a first sync starts where the data begins (see ``probe``)."""
        return bool(setting(self.config, "probe_data_start"))

    @property
    def lookback(self) -> dt.timedelta:
        return dt.timedelta(days=float(setting(self.config, "lookback_window_days")))

    @property
    def max_export_days(self) -> int:
        return int(setting(self.config, "max_export_days"))

    def export_pipeline(
        self, entity: str, slots: JobSlots | None = None, name: str | None = None
    ) -> ExportPipeline:
        """The export pipeline for ``entity``, its jobs kept in ``slots`` (None: not in
        state, for exports that only feed this run); ``name`` is what the run's
        scheduler and progress lines know it by (the stream's name by default)."""
        return ExportPipeline(
            self.client,
            entity,
            settings=ExportSettings(
                poll_interval=float(setting(self.config, "bulk_poll_interval_seconds")),
                timeout=float(setting(self.config, "bulk_job_timeout_seconds")),
            ),
            usage=self.tap.export_usage,
            logger=self.logger,
            slots=slots,
            scheduler=self.run.scheduler,
            name=name or self.name,
        )

    def job_slots(self) -> JobSlots:
        """This stream's export jobs in its own state: ``export_job`` (being read) and
        ``next_export_jobs`` (queued ahead, in reading order)."""
        return JobSlots(
            holder=lambda: self.stream_state,
            current="export_job",
            ahead="next_export_jobs",
            write=self.save_state,
            legacy_ahead="next_export_job",
        )

    # --- queuing exports ahead of this stream's turn (see ``scheduling``) ------------

    @property
    def export_key(self) -> str | None:
        """The name of the pipeline that can queue this stream's exports ahead of its
        turn (None: the stream has none)."""
        return None

    def export_lookahead(self) -> Lookahead | None:
        """A pipeline planned with this stream's windows, queuing their jobs into its
        state ahead of its turn; None when there is nothing to queue ahead."""
        return None

    def selected_properties(self) -> list[str]:
        properties = self.effective_schema.get("properties") or {}
        return [n for n in properties if self.mask[("properties", n)]]

    def harvested_lead_fields(self) -> tuple[str, ...]:
        """Lead fields whose values this stream reads by this run, harvested from the
        lead export when the leads stream runs (see ``leads.lead_keys``)."""
        return ()

    # --- state -----------------------------------------------------------------------

    def bookmark(self) -> dt.datetime | None:
        """The stream's committed replication bookmark (not start_date)."""
        value = self.stream_state.get("replication_key_value")
        if not value or self.stream_state.get("replication_key") not in (
            None,
            self.replication_key,
        ):
            return None
        return parse_ts(value)

    # --- activity retention (see ``retention`` and ``SyncRun.check_retention``) ---------

    def feed_position(self) -> dt.datetime | None:
        """Where this stream's activity feed reading stands (None: it never read it)."""
        value = self.stream_state.get("feed_since")
        return parse_ts(value) if value else None

    def derived_activity_types(self) -> tuple[int, ...]:
        """Activity types this stream's records are derived from, read from
        :meth:`feed_position` (a retention gap there loses changes; a full re-read recovers)."""
        return ()

    def logged_activity_types(self) -> tuple[int, ...]:
        """Activity types this stream's records ARE, read from its bookmark (a retention
        gap there loses rows for good)."""
        return ()

    def type_names(self) -> dict[int, str]:
        """Describe names of :meth:`logged_activity_types` (retention by name)."""
        return {}

    @property
    def recovering(self) -> bool:
        """Whether a full re-read after a retention gap is under way (maybe since an
        earlier run): its records carry ``table_version``, ACTIVATE_VERSION follows."""
        return self.stream_state.get("table_version") is not None

    def restart_table(self) -> None:
        """Forget this stream's positions (and export jobs planned from them) so that it
        reads its whole table, versioned when that covers every record; state is written
        at once, so a run that dies goes on with the re-read."""
        state = self.stream_state
        for key in (
            "replication_key",
            "replication_key_value",
            "feed_since",
            "export_job",
            "next_export_jobs",
            "next_export_job",
        ):
            state.pop(key, None)
        if self.activates_on_restart:
            state["table_version"] = self.tap.initialized_at
        self.save_state()

    def updated_range(self) -> dict[str, Any]:
        """An asset browse's ``earliestUpdatedAt``/``latestUpdatedAt`` from the bookmark
        (less the lookback) to this run's now; empty on a first sync (read everything)."""
        bookmark = self.bookmark()
        if bookmark is None:
            return {}
        return {
            "earliestUpdatedAt": max(bookmark - self.lookback, self.start_date),
            "latestUpdatedAt": self.run.now,
        }

    def set_bookmark(self, value: dt.datetime | str) -> None:
        """Move the replication bookmark in memory (the next STATE message carries it)."""
        if not self.replication_key:
            return
        state = self.stream_state
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = (
            value if isinstance(value, str) else format_marketo_datetime(value)
        )

    def commit_bookmark(self, value: dt.datetime | str | None = None, **extra: Any) -> None:
        """Move the bookmark (and other keys of this stream's state), then emit STATE."""
        if value is not None:
            self.set_bookmark(value)
        self.stream_state.update(extra)
        self.save_state()

    def save_state(self) -> None:
        # Records already written go out before the state that covers them.
        sys.stdout.flush()
        self.tap.state_writer.write_state(self.tap_state)

    # --- the SDK's entry point -------------------------------------------------------

    @property
    def emit_activate_version_messages(self) -> bool:
        # Never the SDK's own ACTIVATE_VERSION: it comes BEFORE the records and goes to
        # every stream without a replication key, list_memberships' change-only reads
        # included. get_records sends one after a complete read of a whole-table stream.
        return False

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        if self.run.stopped is not None:
            self.logger.info("Skipping '%s': the run stopped at a daily limit", self.name)
            return
        if self.name in self.run.retention_stops:
            self.logger.info("Skipping '%s': its position is behind retention", self.name)
            return
        # A dry run (--test) caps the records: a partial read must not retire any row.
        version, whole = (None, False)
        if self.ABORT_AT_RECORD_COUNT is None:
            version, whole = self.table_version()
        if version is not None:
            sdk_seam.start_table_version(self, version)
        try:
            self.sync_records()
            if version is not None and whole:
                sys.stdout.flush()
                sdk_seam.write_activate_version(self, version)
                if self.recovering:
                    self.stream_state.pop("table_version", None)
                    self.save_state()
        except QuotaExhausted as exc:
            self.save_state()
            self.run.stop(exc, self.name)
        except ExportJobTimeout as exc:
            self.save_state()
            self.run.defer(self.name, str(exc))
        except MarketoAuthError as exc:
            raise FatalAPIError(f"Marketo refused the credentials: {exc}") from exc
        except MarketoError as exc:
            raise FatalAPIError(f"'{self.name}': {exc}") from exc
        finally:
            sys.stdout.flush()
        yield from ()

    def table_version(self) -> tuple[int | None, bool]:
        """The table version this run's records carry (None: none), and whether this
        run reads the whole table (ACTIVATE_VERSION follows a complete read)."""
        if self.reads_whole_table:
            # Milliseconds: a later run, a larger version.
            return self.tap.initialized_at, True
        if self.recovering:
            # A re-read after a retention gap: the same version until it is complete.
            return int(self.stream_state["table_version"]), True
        # Between periodic whole reads (whole_read_due): the last one's version, so that
        # the next one's ACTIVATE_VERSION drops only what it no longer finds.
        stored = self.stream_state.get(WHOLE_READ_VERSION)
        return (int(stored) if stored is not None else None), False

    # --- periodic whole reads ----------------------------------------------------------
    # A stream whose change-only runs cannot see every removal (Marketo logs none for
    # it) reads its whole table now and then, as a new table version ended by
    # ACTIVATE_VERSION: program_memberships, custom objects read by linked keys.

    def whole_read_due(self, interval_setting: str) -> bool:
        """Whether the days in setting ``interval_setting`` have passed since this
        stream's last whole read (or it never made one)."""
        days = float(setting(self.config, interval_setting))
        return deletes.due(self, LAST_WHOLE_READ, dt.timedelta(days=days))

    def start_whole_read(self) -> int:
        """Records written from now on carry a new table version, returned."""
        version = self.tap.initialized_at
        sdk_seam.start_table_version(self, version)
        return version

    def whole_read_state(self, version: int | None, *, activate: bool) -> dict[str, Any]:
        """After a complete whole read as table ``version``: ACTIVATE_VERSION when
        ``activate`` (else the caller's get_records sends it), and the state keys for
        ``commit_bookmark``."""
        if version is None:
            return {LAST_WHOLE_READ: state_time(self.run.now)}
        if activate:
            sys.stdout.flush()
            sdk_seam.write_activate_version(self, version)
        return {LAST_WHOLE_READ: state_time(self.run.now), WHOLE_READ_VERSION: version}

    def sync_records(self) -> None:
        raise NotImplementedError

    def feed_need(self) -> FeedNeed | None:
        """What this stream needs from the run's activity feed (None: nothing)."""
        return None

    # --- writing records -------------------------------------------------------------

    def writer(self) -> RecordWriter:
        return RecordWriter(self, text_input=self.text_input)

    def write_all(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write REST records (any extra keys are dropped); returns how many."""
        writer = self.writer()
        for record in records:
            writer.write(record)
        self.log_written(writer)
        return writer.count

    def write_updated_since(self, path: str) -> list[int]:
        """A full REST read of ``path`` (Marketo's read has no date filter): write the
        records updated since the bookmark (and those never written before, see
        ``deletes.appeared``), and each id read before but gone now as a delete
        (``deletes``: the read is whole, so this costs nothing); move the bookmark to
        now; returns every id read."""
        known = deletes.known_ids(self)
        bookmark = self.bookmark()
        floor = None
        if bookmark is not None:
            floor = format_marketo_datetime(bookmark - self.lookback)
        writer = self.writer()
        ids = []
        for record in self.client.iter_results(path, {"batchSize": MAX_KEYS}):
            ids.append(int(record["id"]))
            updated = record.get("updatedAt")
            if (
                floor is not None
                and updated
                and s.to_datetime(updated) < floor
                and not deletes.appeared(known, ids[-1])
            ):
                continue
            writer.write(record)
        if known is not None:
            gone = deletes.write_vanished(writer, known - set(ids), self.run.now)
            if gone:
                self.logger.info("'%s': %d deleted since the last run", self.name, gone)
        deletes.remember_ids(self, ids)
        self.log_written(writer)
        self.commit_bookmark(self.run.now)
        return ids

    def log_written(self, writer: RecordWriter, what: str = "") -> None:
        writer.report_count()
        self.logger.info("'%s': %d records written%s", self.name, writer.count, what)

    # --- metrics: records bypass the SDK loop, so its record counter is fed here -------

    def get_record_counter(self, *args: Any, **kwargs: Any) -> metrics.Counter:
        counter = super().get_record_counter(*args, **kwargs)
        counter.value += self._pending_count
        self._pending_count = 0
        self._record_counter = counter
        return counter

    def count_written(self, n: int) -> None:
        if self._record_counter is not None:
            self._record_counter.increment(n)
        else:
            # Written before this stream's own turn (activity types sharing one export).
            self._pending_count += n


def chunked(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Marketo takes at most 300 filter values / records per call."""
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
