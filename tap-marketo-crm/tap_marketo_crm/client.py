"""The base stream every Marketo stream derives from, and what one run's streams share.

Streams are thin (name, keys, schema, what to fetch); this module holds the rest:

- the one :class:`~marketo_core.MarketoClient` of the run (owned by the tap, built lazily
  so ``--about`` and ``--help`` never touch Marketo);
- Marketo errors mapped to SDK behaviour: a spent daily limit (607, ``max_daily_calls``,
  the export quota) stops the run cleanly with state saved and one log line; an export job
  still pending at ``bulk_job_timeout_seconds`` is left in state for the next run; other
  failures are fatal with Marketo's own message;
- :class:`RecordWriter`, the record path. Bulk files carry millions of rows, and the SDK's
  per-record machinery (recursive type conformance, per-message flush) costs several times
  the parse itself, so records are typed once by converters built from the schema and
  written as ready-made RECORD lines. Stream maps and flattening still apply (through the
  SDK's own stream map objects) when configured.
- bookmarks written by the stream itself: Marketo exports are not sorted, so a bookmark
  only moves when a whole window is done, never per record.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from marketo_core import MarketoClient
from marketo_core.bulk import ExportJobTimeout
from marketo_core.errors import MarketoAuthError, MarketoError, QuotaExhausted
from marketo_core.timeutil import format_marketo_datetime
from singer_sdk import Stream, metrics
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.mapper import RemoveRecordTransform, SameRecordTransform

from tap_marketo_crm.exports import (
    ExportRunner,
    ExportSettings,
    ExportUsage,
    parse_ts,
    whole_second,
)
from tap_marketo_crm.schemas import Converter, build_converters
from tap_marketo_crm.settings import setting

if TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState

    from tap_marketo_crm.streams.activity_feed import ActivityFeed, FeedNeed
    from tap_marketo_crm.tap import TapMarketoCRM

UTC = dt.UTC

# Exit status of a run that stopped at a daily limit (607, max_daily_calls, export quota)
# or left an export pending at its timeout: state is saved and the next run resumes.
# 75 is EX_TEMPFAIL ("temporary failure, try again later").
EXIT_RESUMABLE = 75

# Tap-level state (beside "bookmarks"): things no single stream owns.
STATE_KEY = "marketo"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_marketo_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _stdlib_encoder() -> Callable[[Any], str]:
    """Compact, ASCII-only JSON. json's C encoder is built once here: ``json.dumps``
    rebuilds it (and its circular-reference bookkeeping, needless for records made of
    fresh dicts) on every call, a measurable share of the bulk path."""
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - interpreters without the C module
        return json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
    encode = c_make_encoder(
        None,
        _json_default,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )
    join = "".join

    def _encode(value: Any) -> str:
        return join(encode(value, 0))

    return _encode


def _make_encoder() -> tuple[Callable[[Any], str], bool]:
    """The record encoder, and whether its text may hold non-ASCII characters.

    msgspec encodes a record about 3 times faster than json (a third of the bulk path's
    time per row otherwise); it writes UTF-8, so it is used only when stdout takes it.
    """
    try:
        import msgspec  # noqa: PLC0415
    except ImportError:  # pragma: no cover - msgspec is a dependency; kept optional
        return _stdlib_encoder(), False
    encoder = msgspec.json.Encoder(enc_hook=_json_default)
    encode = encoder.encode

    def _encode(value: Any) -> str:
        return encode(value).decode()

    return _encode, True


_encode_ascii = _stdlib_encoder()
_encode_utf8, _UTF8_ENCODER = _make_encoder()


def _stdout_takes_utf8() -> bool:
    encoding = getattr(sys.stdout, "encoding", None)
    # In-memory text (tests' StringIO) has no encoding and holds any character.
    return encoding is None or encoding.lower().replace("-", "").replace("_", "") == "utf8"


_encode = _encode_ascii


class SyncRun:
    """What the streams of one run share: the clock, the stop flag, keys found on the way.

    Streams run in dependency order (see ``TapMarketoCRM.streams``): leads before the
    companies and sales persons found on them, the activity feed before the streams it
    drives.
    """

    def __init__(self, tap: TapMarketoCRM) -> None:
        self.tap = tap
        # One "now" for the whole run: window ends and the SDK's bookmark signpost agree.
        self.now = whole_second(dt.datetime.fromtimestamp(tap.initialized_at / 1000, tz=UTC))
        self.stopped: QuotaExhausted | None = None
        self.deferred: list[str] = []
        # Keys seen on leads exported this run (companies / sales persons fetch by them).
        # Only the fields the leads stream was asked to harvest are present.
        self.lead_keys: dict[str, set[str]] = {}
        # True when the leads export this run covered every lead (a first sync).
        self.leads_full_pass = False
        self.leads_synced = False
        # Keys seen on objects fetched this run (opportunities, companies).
        self.object_keys: dict[str, set[str]] = {
            "externalCompanyId": set(),
            "externalSalesPersonId": set(),
        }
        self.activities_exported = False
        # Small things one stream finds and a later one reuses (program / list ids...).
        self.cache: dict[str, Any] = {}
        self._feed: ActivityFeed | None = None

    @property
    def incomplete(self) -> bool:
        return self.stopped is not None or bool(self.deferred)

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

    @property
    def feed(self) -> ActivityFeed:
        if self._feed is None:
            from tap_marketo_crm.streams.activity_feed import ActivityFeed  # noqa: PLC0415

            self._feed = ActivityFeed(self.tap, self)
        return self._feed


class RecordWriter:
    """Writes a stream's RECORD messages: selected properties only, typed by converters
    built once from the schema, serialized straight to stdout.

    ``text_input``: values are CSV text (bulk files), so string properties pass through.
    Records may carry extra keys (REST answers): only selected properties are written.
    """

    def __init__(self, stream: MarketoStream, *, text_input: bool = False) -> None:
        self.stream = stream
        schema = stream.effective_schema
        properties = schema.get("properties") or {}
        mask = stream.mask
        self.columns: list[str] = [n for n in properties if mask[("properties", n)]]
        self._column_set = frozenset(self.columns)
        self.converters: list[tuple[str, Converter]] = build_converters(
            schema, self.columns, text_input=text_input
        )
        self.count = 0
        self._reported = 0
        self.limit = stream.ABORT_AT_RECORD_COUNT
        self._maps = [m for m in stream.stream_maps if not isinstance(m, RemoveRecordTransform)]
        self._plain = (
            len(self._maps) == 1
            and type(self._maps[0]) is SameRecordTransform
            and not self._maps[0].flattening_enabled
        )
        self._prefixes = {
            m.stream_alias: '{"type":"RECORD","stream":' + _encode(m.stream_alias) + ',"record":'
            for m in self._maps
        }
        self._prefix = self._prefixes[self._maps[0].stream_alias] if self._plain else ""
        # Checked when the writer is made: stdout stays the same for a whole sync.
        self._utf8 = _UTF8_ENCODER and _stdout_takes_utf8()
        self._encode = _encode_utf8 if self._utf8 else _encode_ascii
        self._suffix = ""
        self._warned: set[str] = set()
        self.mark_extracted()

    def mark_extracted(self, when: dt.datetime | None = None) -> None:
        """Set ``time_extracted`` for the records that follow (one export file = one
        extraction time)."""
        moment = (when or dt.datetime.now(UTC)).astimezone(UTC)
        suffix = ',"time_extracted":' + _encode(moment.isoformat())
        version = getattr(self.stream, "_stream_version", None)
        if version is not None:
            suffix += f',"version":{int(version)}'
        self._suffix = suffix + "}\n"

    @property
    def full(self) -> bool:
        """A dry run (``--test``) caps records per stream; later ones are dropped."""
        return self.limit is not None and self.count >= self.limit

    def write(self, record: Mapping[str, Any]) -> None:
        """A record from any source: projected onto the selected properties, then typed."""
        self.write_row({name: record.get(name) for name in self.columns})

    def write_partial(self, record: Mapping[str, Any]) -> None:
        """A record of only the keys it has (a delete: key + ``_sdc_deleted_at``), so no
        other column is claimed to be null."""
        self.write_row({k: v for k, v in record.items() if k in self._column_set})

    def write_row(self, row: dict[str, Any]) -> None:
        """A record whose keys are exactly the selected properties (bulk rows, which ask
        Marketo for the selected fields only); converted in place."""
        if self.limit is not None and self.count >= self.limit:
            return
        for name, convert in self.converters:
            value = row.get(name)
            if value is not None:
                try:
                    row[name] = convert(value)
                except (ValueError, TypeError, OverflowError):
                    row[name] = None
                    self.warn_bad_value(name, value)
        self.emit(row)

    def emit(self, record: dict[str, Any]) -> None:
        """Write a record that is already projected and typed."""
        if self.limit is not None and self.count >= self.limit:
            return
        self.count += 1
        if not self.count & 0xFFF:
            self.report_count()
        if self._plain:
            sys.stdout.write(self._prefix + self._encode(record) + self._suffix)
            return
        for stream_map in self._maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                sys.stdout.write(
                    self._prefixes[stream_map.stream_alias] + self._encode(mapped) + self._suffix
                )

    def emit_with_raw(self, record: dict[str, Any], key: str, raw: str, value: Any) -> None:
        """Write ``record`` plus ``key``, whose JSON text ``raw`` is already at hand (the
        activities ``attributes`` cell, checked valid by parsing it into ``value``):
        spliced in rather than encoded again."""
        if not self._plain or not (self._utf8 or raw.isascii()):
            record[key] = value
            self.emit(record)
            return
        if self.limit is not None and self.count >= self.limit:
            return
        self.count += 1
        if not self.count & 0xFFF:
            self.report_count()
        body = self._encode(record)
        sep = "," if len(body) > 2 else ""
        sys.stdout.write(f'{self._prefix}{body[:-1]}{sep}"{key}":{raw}}}{self._suffix}')

    def report_count(self) -> None:
        """Pass records written so far to the SDK's record counter (its metrics)."""
        self.stream.count_written(self.count - self._reported)
        self._reported = self.count

    def warn_bad_value(self, name: str, value: Any) -> None:
        if name in self._warned:
            return
        self._warned.add(name)
        self.stream.logger.warning(
            "'%s.%s': value %r does not fit the schema type; written as null (further "
            "values of this property are not reported)",
            self.stream.name,
            name,
            str(value)[:60],
        )


class MarketoStream(Stream):
    """Base of every stream: owns access to the client, state and the record path.

    Subclasses implement :meth:`sync_records` (fetch, then write through a
    :class:`RecordWriter` and commit bookmarks); ``get_records`` yields nothing to the
    SDK because records are written directly (see the module docstring).
    """

    # Whether records come from bulk CSV files (text) or JSON answers.
    text_input = False
    # The stream's name: a class attribute of every concrete stream (the SDK declares it
    # on instances only; discovery maps catalog names to classes).
    name: str
    # Key columns the stream declares; subclasses set them.
    primary_keys_default: tuple[str, ...] = ()
    replication_key_default: str | None = None
    # Set by a stream that reads its whole table on every run (a listing, not a window):
    # its records carry the run's table version and ACTIVATE_VERSION follows the last of
    # them, so a loader that honours it drops the rows Marketo no longer has.
    reads_whole_table = False

    def __init__(self, tap: TapMarketoCRM, schema: dict[str, Any], name: str | None = None) -> None:
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
        return self._tap  # type: ignore[return-value]

    @property
    def client(self) -> MarketoClient:
        return self.tap.client

    @property
    def run(self) -> SyncRun:
        return self.tap.run

    @property
    def start_date(self) -> dt.datetime:
        return parse_ts(self.config["start_date"])

    @property
    def lookback(self) -> dt.timedelta:
        return dt.timedelta(days=float(setting(self.config, "lookback_window_days")))

    @property
    def max_export_days(self) -> int:
        return int(setting(self.config, "max_export_days"))

    def export_runner(self, entity: str) -> ExportRunner:
        return ExportRunner(
            self.client,
            entity,
            settings=ExportSettings(
                poll_interval=float(setting(self.config, "bulk_poll_interval_seconds")),
                timeout=float(setting(self.config, "bulk_job_timeout_seconds")),
            ),
            usage=self.tap.export_usage,
            logger=self.logger,
        )

    def selected_properties(self) -> list[str]:
        properties = self.effective_schema.get("properties") or {}
        return [n for n in properties if self.mask[("properties", n)]]

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

    def bookmark_or_start(self) -> dt.datetime:
        value = self.bookmark()
        return max(value, self.start_date) if value else self.start_date

    def commit_bookmark(self, value: dt.datetime | str | None = None, **extra: Any) -> None:
        """Move the bookmark (and other keys of this stream's state), then emit STATE."""
        state = self.stream_state
        if value is not None and self.replication_key:
            text = value if isinstance(value, str) else format_marketo_datetime(value)
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = text
        state.update(extra)
        self.save_state()

    def save_state(self) -> None:
        # Records already written go out before the state that covers them.
        sys.stdout.flush()
        self.tap.state_writer.write_state(self.tap_state)

    # --- the SDK's entry point -------------------------------------------------------

    @property
    def emit_activate_version_messages(self) -> bool:
        # Never the SDK's own ACTIVATE_VERSION: it comes BEFORE the records (a loader then
        # deletes the old rows first, and keeps none if the run dies) and for every stream
        # without a replication key, list_memberships' change-only reads included.
        # get_records sends it after a complete read of a `reads_whole_table` stream.
        return False

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        if self.run.stopped is not None:
            self.logger.info("Skipping '%s': the run stopped at a daily limit", self.name)
            return
        # A dry run (--test) caps the records: a partial read must not retire any row.
        if self.reads_whole_table and self.ABORT_AT_RECORD_COUNT is None:
            self._stream_version = self.tap.initialized_at  # ms: later runs, larger versions
        try:
            self.sync_records()
            if self._stream_version is not None:
                sys.stdout.flush()
                self._write_activate_version_message(self._stream_version)
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

    def sync_records(self) -> None:
        raise NotImplementedError

    def feed_need(self) -> FeedNeed | None:
        """What this stream needs from the run's activity feed (None: nothing)."""
        return None

    def writer(self) -> RecordWriter:
        return RecordWriter(self, text_input=self.text_input)

    def write_all(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write REST records (any extra keys are dropped); returns how many."""
        writer = self.writer()
        for record in records:
            writer.write(record)
        self.log_written(writer)
        return writer.count

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


def max_timestamp(current: str | None, candidate: str | None) -> str | None:
    """The later of two Marketo timestamps (``...Z`` text compares as time)."""
    if not candidate:
        return current
    if not current:
        return candidate
    return candidate if candidate > current else current


def raw_state(tap_state: TapState | dict[str, Any]) -> dict[str, Any]:
    """The tap state as the plain dict it is: the SDK types it as a TypedDict of
    ``bookmarks`` only, while the Singer state may carry other top-level keys (ours)."""
    return cast("dict[str, Any]", tap_state)


def state_section(tap_state: TapState | dict[str, Any]) -> dict[str, Any]:
    state = raw_state(tap_state)
    section = state.get(STATE_KEY)
    if not isinstance(section, dict):
        section = {}
        state[STATE_KEY] = section
    return section


def make_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


__all__ = [
    "EXIT_RESUMABLE",
    "ExportUsage",
    "MarketoStream",
    "RecordWriter",
    "SyncRun",
    "chunked",
    "max_timestamp",
    "raw_state",
    "state_section",
]
