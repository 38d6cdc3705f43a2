"""Bulk files as Marketo writes them, streamed to disk with their size and checksum.

Marketo's rules for extract files: a header row first, every empty value written as the
literal ``null``, booleans as ``true``/``false``, JSON (the activities ``attributes``
column) inside a quoted cell, UTF-8 text kept as is. Real files also carry NUL bytes,
bare carriage returns and multi-line quoted cells taken from user data; with
``csv_quirks`` the sandbox injects those deterministically (see :func:`quirk`) so that
readers are tested against them.

The ``legacy-csv`` profile spells files the way they were recorded from older instances
(docs/MARKETO.md section 9): booleans of program member files as ``1``/``0``, double
quotes inside the quoted text cells of user data left unescaped (``"say "hi" now"``; the
JSON cells keep their doubled quotes, as recorded; see :func:`_legacy_cell`), and the file
served as ``text/csv`` without a charset (:func:`content_type`).

Rows are formatted by the row sources (:func:`cell`), buffered a few thousand at a time,
encoded once and hashed as they are written, so a file of any size is never held in
memory and ``fileChecksum`` always matches the bytes served.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import json.scanner
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketo_sandbox.profiles import LEGACY_CSV

if TYPE_CHECKING:
    from marketo_sandbox.config import SandboxConfig

# Marketo's three bulk formats. Adobe's pages call SSV both "semi-colon" and "space"
# separated; the bulk import page (the one that shows files) says semi-colon.
DELIMITERS: dict[str, str] = {"CSV": ",", "TSV": "\t", "SSV": ";"}

NULL = "null"
CHUNK_ROWS = 4000


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _make_json_cell() -> Callable[[Any], str]:
    """Compact JSON with UTF-8 text kept; the C encoder directly when there is one (a
    bulk activity file encodes one attributes object per row)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    encode = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    return lambda value: "".join(encode(value, 0))


_json_cell = _make_json_cell()


def _make_json_reader() -> Callable[[str], Any]:
    """Parse a stored JSON document without ``json.loads``' per-call checks."""
    scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
    return lambda text: scan(text, 0)[0]


read_json = _make_json_reader()


def cell(value: Any) -> str:
    """One value as Marketo writes it in a bulk file."""
    if value is None or value == "":
        return NULL
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if kind is dict or kind is list:
        return _json_cell(value)
    return str(value)


def json_cell(value: Any) -> str:
    return _json_cell(value)


# Media types of bulk files by format. Instances answered plain ``text/csv`` until
# Adobe added the charset in 2024 (docs/MARKETO.md section 9).
MEDIA_TYPES: dict[str, str] = {
    "CSV": "text/csv",
    "TSV": "text/tab-separated-values",
    "SSV": "text/csv",
}


def content_type(fmt: str, config: SandboxConfig) -> str:
    """The Content-Type a bulk file (export file, import failures/warnings) is served with."""
    media = MEDIA_TYPES.get(fmt, "text/csv")
    return media if config.has_profile(LEGACY_CSV) else f"{media};charset=UTF-8"


# -- legacy spelling ---------------------------------------------------------------------

LEGACY_BOOLEANS = {"true": "1", "false": "0"}


def legacy_booleans(row: Sequence[Any], boolean_columns: Sequence[int]) -> list[Any]:
    """Program member files of older instances write booleans as 1/0."""
    out = list(row)
    for index in boolean_columns:
        out[index] = LEGACY_BOOLEANS.get(out[index], out[index])
    return out


def _legacy_cell(value: Any, delimiter: str, bare: bool) -> str:
    text = str(value)
    if not any(c in text for c in (delimiter, '"', "\r", "\n", "\x00")):
        return text
    if not bare:
        return '"' + text.replace('"', '""') + '"'
    # An older instance wraps the cell in quotes but leaves a quote inside the text as it
    # is, the way it was recorded (a quote between two letters or a space and a letter).
    # Whether it does so next to a delimiter, a line break, another quote or the cell's
    # edge is not recorded; there the sandbox doubles it, as RFC 4180 says.
    edges = (delimiter, '"', "\r", "\n")
    out = []
    last = len(text) - 1
    for index, char in enumerate(text):
        if char == '"' and (
            index in (0, last) or text[index - 1] in edges or text[index + 1] in edges
        ):
            out.append('""')
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def legacy_line(row: Sequence[Any], delimiter: str, text_columns: frozenset[int]) -> str:
    """One record as older instances write it, line break included."""
    return (
        delimiter.join(
            _legacy_cell(value, delimiter, index in text_columns) for index, value in enumerate(row)
        )
        + "\n"
    )


# -- quirks ----------------------------------------------------------------------------

QUIRK_PERIOD = 3
QUIRK_PHASE = 1
# What real files contain: a NUL byte, a bare CR, an LF inside a quoted cell, and a
# CRLF followed by non-ASCII text.
QUIRK_INSERTS = ("\x00", "\r", "\n", "\r\nzweite Zeile \u2713")


def has_quirk(row_no: int) -> bool:
    """Whether data row ``row_no`` (0-based, header excluded) gets a quirk."""
    return row_no % QUIRK_PERIOD == QUIRK_PHASE


def quirk(value: str, row_no: int) -> str:
    """The text ``value`` with this row's quirk inserted in its middle."""
    insert = QUIRK_INSERTS[(row_no // QUIRK_PERIOD) % len(QUIRK_INSERTS)]
    middle = len(value) // 2
    return value[:middle] + insert + value[middle:]


def apply_quirks(row: list[Any], row_no: int, text_columns: Sequence[int]) -> list[Any]:
    """Quirk the first non-null text cell of every ``QUIRK_PERIOD``-th row."""
    if not has_quirk(row_no):
        return row
    for index in text_columns:
        value = row[index]
        if type(value) is str and value != NULL:
            row = list(row)
            row[index] = quirk(value, row_no)
            return row
    return row


# -- writing ---------------------------------------------------------------------------


def _needs_strict(row: Sequence[Any]) -> bool:
    return any(type(c) is str and ("\r" in c or "\x00" in c) for c in row)


class CancelledError(Exception):
    """The job producing the file was cancelled (or the sandbox reset)."""


class FileResult:
    __slots__ = ("checksum", "path", "records", "size")

    def __init__(self, path: Path, records: int, size: int, checksum: str) -> None:
        self.path = path
        self.records = records
        self.size = size
        self.checksum = checksum


def write_file(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    fmt: str = "CSV",
    quirks: bool = False,
    text_columns: Sequence[int] = (),
    cancel: threading.Event | None = None,
    legacy: bool = False,
    boolean_columns: Sequence[int] = (),
) -> FileResult:
    """Write a bulk file atomically (``path`` appears only once complete).

    ``rows`` yield already formatted cells (see :func:`cell`; ints may stay ints). The
    file is written to a temporary name and renamed, so a reader never sees a partial file.
    ``legacy``: the older instances' spelling (module docstring), with ``boolean_columns``
    written as 1/0 and quotes in ``text_columns`` left unescaped.
    """
    delimiter = DELIMITERS[fmt]
    buffer = io.StringIO()
    # Marketo ends lines with LF; a bare CR or a NUL inside a value forces quoting of
    # that row (Python's writer only quotes for the line terminator's characters).
    plain = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    strict = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    digest = hashlib.sha256()
    size = 0
    records = 0
    tmp = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as out:

            def flush(chunk: list[Sequence[Any]]) -> None:
                nonlocal size
                data = _render(
                    chunk, buffer, plain, strict, legacy=legacy, text_columns=text_columns
                )
                digest.update(data)
                out.write(data)
                size += len(data)

            flush([list(header)])
            chunk: list[Sequence[Any]] = []
            for row in rows:
                spelled = apply_quirks(list(row), records, text_columns) if quirks else row
                if legacy and boolean_columns:
                    spelled = legacy_booleans(spelled, boolean_columns)
                chunk.append(spelled)
                records += 1
                if len(chunk) >= CHUNK_ROWS:
                    if cancel is not None and cancel.is_set():
                        raise CancelledError
                    flush(chunk)
                    chunk = []
            if chunk:
                flush(chunk)
        if cancel is not None and cancel.is_set():
            raise CancelledError
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return FileResult(path, records, size, "sha256:" + digest.hexdigest())


def _render(
    chunk: list[Sequence[Any]],
    buffer: io.StringIO,
    plain: Any,
    strict: Any,
    *,
    legacy: bool,
    text_columns: Sequence[int],
) -> bytes:
    """A chunk of records as the bytes of the file (``buffer`` is left empty)."""
    plain.writerows(chunk)
    text = buffer.getvalue()
    if legacy and '"' in text:
        delimiter = plain.dialect.delimiter
        bare = frozenset(text_columns)
        text = "".join(legacy_line(row, delimiter, bare) for row in chunk)
    elif "\r" in text or "\x00" in text:
        buffer.seek(0)
        buffer.truncate(0)
        for row in chunk:
            if _needs_strict(row):
                strict.writerow(row)
            else:
                plain.writerow(row)
        text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text.encode("utf-8")


def render_rows(rows: Iterable[Sequence[str]], fmt: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[fmt], lineterminator="\n")
    strict = csv.writer(
        buffer, delimiter=DELIMITERS[fmt], lineterminator="\n", quoting=csv.QUOTE_ALL
    )
    for row in rows:
        if _needs_strict(row):
            strict.writerow(row)
        else:
            writer.writerow(row)
    return buffer.getvalue()
