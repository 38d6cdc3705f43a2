"""Streaming reader for Marketo bulk export files.

Real export files carry NUL bytes, bare carriage returns and line breaks inside quoted
cells, non-ASCII text (U+2028/U+2029 included, which are not line breaks in CSV) and
sometimes a UTF-8 byte-order mark; empty values are written as the literal ``null``.
Files reach hundreds of MB, so rows are parsed as a stream.

Some instances leave a double quote inside a quoted cell unescaped (``"say "hi" now"``,
docs/MARKETO.md section 9). Rows are parsed by the C reader in strict mode; a record it
refuses is parsed again by :func:`_lenient_record`, which reads a quote inside a quoted
cell as the closing one only when a delimiter, a line break or the end of the file follows
it. A record that still does not fit the header is an error naming the file and line,
never a dropped or merged row.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, BinaryIO, cast

# Activity attributes and textarea fields can exceed csv's default 128 KB cell limit.
_FIELD_SIZE_LIMIT = 64 * 1024 * 1024


class CsvFormatError(ValueError):
    """A bulk file record that cannot be read as CSV; the message names file and line."""


def iter_csv_rows(
    fileobj: IO[bytes] | IO[str],
    *,
    null: str | None = "null",
    encoding: str = "utf-8",
    delimiter: str = ",",
    errors: str = "strict",
    name: str = "bulk file",
) -> Iterator[dict[str, str | None]]:
    """Yield each data row as ``{header: value}``; cells equal to ``null`` become None.

    ``fileobj`` is a binary file (a text file is accepted too); it is not closed. Bytes
    are UTF-8 unless ``encoding`` says otherwise, whatever the response's Content-Type
    said (older instances send ``text/csv`` without a charset). ``name`` labels errors.
    """
    if csv.field_size_limit() < _FIELD_SIZE_LIMIT:
        csv.field_size_limit(_FIELD_SIZE_LIMIT)
    if isinstance(fileobj, io.TextIOBase):
        yield from _rows(fileobj, null=null, delimiter=delimiter, name=name)
        return
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # drops a leading BOM, reads plain UTF-8 unchanged
    # newline="" hands line breaks inside quoted cells to csv untranslated.
    binary = cast("BinaryIO", fileobj)
    text = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
    try:
        yield from _rows(text, null=null, delimiter=delimiter, name=name)
    finally:
        text.detach()  # leave the caller's file open


class _Lines:
    """The physical lines handed to the CSV reader, remembered until a record is complete
    so that a record the strict reader refuses can be parsed again from its raw text.
    Lines read ahead while doing so and not part of that record are handed back."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._back: list[str] = []
        self.taken: list[str] = []
        self.line_no = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._back:
            line = self._back.pop()
        else:
            line = next(self._lines)
            # NUL bytes are noise in Marketo files; dropping them keeps cells comparable.
            if "\x00" in line:
                line = line.replace("\x00", "")
        self.line_no += 1
        self.taken.append(line)
        return line

    def give_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.line_no -= len(lines)


def _rows(
    lines: Iterable[str], *, null: str | None, delimiter: str, name: str
) -> Iterator[dict[str, str | None]]:
    source = _Lines(lines)
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    width = 0
    while True:
        source.taken.clear()
        first_line = source.line_no + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row = _lenient_record(source, delimiter, name, first_line, width or None)
            # The C reader keeps its half-read state: a new one starts at the next record.
            reader = csv.reader(source, delimiter=delimiter, strict=True)
        if header is None:
            header = row
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            width = len(header)
            continue
        if not row:
            continue  # a blank line, e.g. a trailing newline
        if len(row) != width:
            raise CsvFormatError(f"{name} line {first_line}: {len(row)} cells, header has {width}")
        yield {
            column: (None if null is not None and cell == null else cell)
            for column, cell in zip(header, row, strict=True)
        }


# A record with more readings than this is reported, not guessed.
_MAX_READINGS = 256
_MORE = -1  # a reading that needs the next line


_TEXT, _CLOSE, _WAIT = "text", "close", "wait"


def _quote_in_cell(
    text: str, pos: int, ends: tuple[str, ...], at_eof: bool, choose: Callable[[], bool]
) -> tuple[str, int]:
    """What the quote at ``text[pos]`` inside a quoted cell is, and how many characters
    it takes: ``_TEXT`` (one quote of the value), ``_CLOSE`` (the cell ends; a doubled
    quote read as a bare one plus the closing one is ``_CLOSE`` over 2 characters) or
    ``_WAIT`` (the line ends here and the next one decides)."""
    size = len(text)
    if pos + 1 >= size and not at_eof:
        return _WAIT, 0
    after = text[pos + 1] if pos + 1 < size else ""
    if after == '"':
        if pos + 2 >= size and not at_eof:
            return _WAIT, 0
        beyond = text[pos + 2] if pos + 2 < size else ""
        if beyond in (*ends, "") and choose():
            return _CLOSE, 2
        return _TEXT, 2
    if after in (*ends, "") and not choose():
        return _CLOSE, 1
    return _TEXT, 1  # a bare quote inside the cell


def _read_record(
    text: str, delimiter: str, choices: tuple[bool, ...], at_eof: bool
) -> tuple[list[str], int, int]:
    """One reading of the record at the start of ``text``: ``(cells, end, points)``.

    ``end`` is where the record's line break ends (``_MORE`` when the text runs out inside
    a quoted cell before the file does); ``points`` counts the ambiguous quotes met.
    The i-th ambiguous quote is read the usual way unless ``choices[i]`` is true:
    - a quote followed by the delimiter or a line break closes the cell, or is text;
    - a doubled quote followed by the delimiter or a line break is one escaped quote, or
      a bare quote followed by the closing one.
    """
    cells: list[str] = []
    cell: list[str] = []
    pos, size, points = 0, len(text), 0
    quoted = started = False
    ends = (delimiter, "\r", "\n")

    def choose() -> bool:
        nonlocal points
        alternative = choices[points] if points < len(choices) else False
        points += 1
        return alternative

    while pos < size:
        char = text[pos]
        if quoted:
            if char != '"':
                cell.append(char)
                pos += 1
                continue
            kind, taken = _quote_in_cell(text, pos, ends, at_eof, choose)
            if kind == _WAIT:
                return cells, _MORE, points
            if kind == _CLOSE:
                quoted = False
                if taken == 2:
                    cell.append('"')
            else:
                cell.append('"')
            pos += taken
        elif char == delimiter:
            cells.append("".join(cell))
            cell, started = [], False
            pos += 1
        elif char in "\r\n":
            cells.append("".join(cell))
            return cells, pos + (2 if text.startswith("\r\n", pos) else 1), points
        elif char == '"' and not started:
            quoted = started = True
            pos += 1
        else:
            cell.append(char)
            started = True
            pos += 1
    if quoted:
        return cells, _MORE, points
    cells.append("".join(cell))
    return cells, pos, points


def _lenient_record(
    source: _Lines, delimiter: str, name: str, first_line: int, width: int | None
) -> list[str]:
    """The record whose raw lines are ``source.taken``, read with bare quotes allowed.

    Every reading of its ambiguous quotes is tried. Among those that fit the header, the
    one ending on the earliest line wins (a later end would swallow the next rows), then
    the one departing least from RFC 4180 (fewest quotes read the unusual way); more lines
    are read while no reading is complete. Readings still tied that disagree, or none that
    fits, stop the read with the file and line named.
    """
    text = "".join(source.taken)
    at_eof = False
    while True:
        complete: list[tuple[int, int, list[str]]] = []  # (end, departures, cells)
        wants_more = False
        queue: list[tuple[bool, ...]] = [()]
        tried = 0
        while queue:
            choices = queue.pop()
            tried += 1
            if tried > _MAX_READINGS:
                raise CsvFormatError(
                    f"{name} line {first_line}: too many unescaped quotes to read the record"
                )
            cells, end, points = _read_record(text, delimiter, choices, at_eof)
            # Each ambiguous quote met past the fixed choices opens the other reading.
            for index in range(len(choices), points):
                queue.append((*choices, *([False] * (index - len(choices))), True))
            if end == _MORE:
                wants_more = True
            else:
                complete.append((end, sum(choices[:points]), cells))
        fitting = [r for r in complete if width is None or len(r[2]) == width]
        if fitting:
            first_end, fewest = min((end, departures) for end, departures, _ in fitting)
            readings = {tuple(c) for e, d, c in fitting if (e, d) == (first_end, fewest)}
            if len(readings) > 1:
                raise CsvFormatError(
                    f"{name} line {first_line}: unescaped quotes make the record ambiguous "
                    f"({len(readings)} readings fit the header)"
                )
            _give_back_after(source, text, first_end)
            return list(readings.pop())
        if wants_more and not at_eof:
            try:
                text += next(source)
            except StopIteration:
                at_eof = True
            continue
        if complete:
            end, _, cells = min(complete, key=lambda reading: reading[:2])
            _give_back_after(source, text, end)
            return cells  # the caller reports the cell count against the header
        raise CsvFormatError(
            f"{name} line {first_line}: a quoted cell is never closed (the file ends inside it)"
        )


def _give_back_after(source: _Lines, text: str, end: int) -> None:
    """Hand the lines after the record's end back to the reader of the next records."""
    rest = text[end:]
    if not rest:
        return
    lines = io.StringIO(rest, newline="").readlines()
    source.give_back(lines)


def parse_attributes(cell: str | None) -> dict[str, Any]:
    """The activities ``attributes`` column: a JSON object inside a CSV cell.

    Empty or ``null`` gives ``{}``. The REST shape ``[{"name": .., "value": ..}]`` is
    accepted too and folded into a dict.
    """
    if cell is None:
        return {}
    text = cell.strip()
    if not text or text == "null":
        return {}
    try:
        # strict=False: values may hold raw control characters (a textarea's line breaks).
        value = json.loads(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"activity attributes are not JSON: {text[:80]!r}") from exc
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(item, dict) and "name" in item for item in value):
        return {item["name"]: item.get("value") for item in value}
    raise ValueError(f"activity attributes are not a JSON object: {text[:80]!r}")
