"""The record path: RECORD messages of a stream, written straight to stdout.

Bulk files carry millions of rows, and the SDK's per-record machinery (recursive type
conformance, per-message flush) costs several times the parse itself, so records are
typed once by converters built from the schema and written as ready-made RECORD lines.
Stream maps and flattening still apply (through the SDK's own stream map objects) when
configured.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from marketo_core.timeutil import format_marketo_datetime
from singer_sdk.mapper import RemoveRecordTransform, SameRecordTransform

from tap_marketo_crm import sdk_seam
from tap_marketo_crm.schemas import Converter, build_converters

msgspec: Any
try:
    import msgspec
except ImportError:  # pragma: no cover - msgspec is a dependency; kept optional
    msgspec = None

if TYPE_CHECKING:
    from tap_marketo_crm.streams.base import MarketoStream

UTC = dt.UTC


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


def _escape_separators(text: str) -> str:
    """JSON text with U+2028/U+2029 escaped. They occur in real values (docs/MARKETO.md
    section 9) and JSON allows them raw, but a reader splitting lines with
    ``str.splitlines()`` would cut the message there; escaped, every message stays one
    line for any reader. In JSON text they can only stand inside strings, so replacing
    them is exact."""
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _make_encoder() -> tuple[Callable[[Any], str], bool]:
    """The record encoder, and whether its text may hold non-ASCII characters.

    msgspec encodes a record about 3 times faster than json (a third of the bulk path's
    time per row otherwise); it writes UTF-8, so it is used only when stdout takes it.
    """
    if msgspec is None:  # pragma: no cover - msgspec is a dependency; kept optional
        return _stdlib_encoder(), False
    encoder = msgspec.json.Encoder(enc_hook=_json_default)
    encode: Callable[[Any], bytes] = encoder.encode

    def _encode(value: Any) -> str:
        text: str = encode(value).decode()
        if "\u2028" in text or "\u2029" in text:
            return _escape_separators(text)
        return text

    return _encode, True


_encode_ascii = _stdlib_encoder()
_encode_utf8, _UTF8_ENCODER = _make_encoder()


def _stdout_takes_utf8() -> bool:
    encoding = getattr(sys.stdout, "encoding", None)
    # In-memory text (tests' StringIO) has no encoding and holds any character.
    return encoding is None or encoding.lower().replace("-", "").replace("_", "") == "utf8"


_encode = _encode_ascii


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
        version = sdk_seam.stream_version(self.stream)
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
        if "\u2028" in raw or "\u2029" in raw:
            raw = _escape_separators(raw)
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
