"""Streaming reader for Marketo bulk export files.

Real export files carry NUL bytes, bare carriage returns and line breaks inside quoted
cells, non-ASCII text (U+2028/U+2029 included, which are not line breaks in CSV) and
sometimes a UTF-8 byte-order mark; empty values are written as the literal ``null``.
Files reach hundreds of MB, so rows are parsed as a stream.

Some instances leave a double quote inside a quoted cell unescaped (``"say "hi" now"``,
docs/MARKETO.md section 9). Rows are parsed by the C reader in strict mode; a record it
refuses is parsed again by :func:`_lenient_record`, which tries every reading of its
ambiguous quotes (a quote before a delimiter, a line break or the end of the file closes
the cell or is text). A record no reading decides is a :class:`CsvFormatError` naming the
file and line, never a dropped, merged or split row.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, BinaryIO, cast

_LOG = logging.getLogger("marketo_core.csvstream")

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


class _Preferred:
    """Records read by preference among several readings that fit: the first is logged
    with its line, the total once the file is read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def note(self, line: int, others: int) -> None:
        self.count += 1
        if self.count == 1:
            _LOG.warning(
                "%s line %d: unescaped quotes allow %d other readings of the record that fit "
                "the header; kept the one closest to RFC 4180 (docs/MARKETO.md section 9)",
                self.name,
                line,
                others,
            )

    def summary(self) -> None:
        if self.count > 1:
            _LOG.warning("%s: %d records were read that way in all", self.name, self.count)


def _rows(
    lines: Iterable[str], *, null: str | None, delimiter: str, name: str
) -> Iterator[dict[str, str | None]]:
    source = _Lines(lines)
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    width = 0
    preferred = _Preferred(name)
    recheck = False  # the record after a re-read one is read by the same rules
    while True:
        source.taken.clear()
        first_line = source.line_no + 1
        try:
            if recheck:
                # A reading that ended too early leaves the rest of its cell as the next
                # "record", a quote then standing in an unquoted cell: the C reader would
                # take it, the lenient reading refuses it and the read stops loudly.
                next(source)
                raise csv.Error("re-read")
            row = next(reader)
            recheck = False
        except StopIteration:
            preferred.summary()
            return
        except csv.Error:
            row, others, raw = _lenient_record(source, delimiter, name, first_line, width or None)
            if others:
                preferred.note(first_line, others)
            # Strict parsing resumes after a record the C reader takes as it stands; the
            # C reader keeps its half-read state, so a new one starts at the next record.
            recheck = not _strict_reads(raw, delimiter)
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


# A record with more readings than this is reported, not guessed. Readings double with
# each ambiguous quote; those wider than the header stop early, so a record and the one
# after it, each with a few bare and a few doubled quotes, take some tens.
_MAX_READINGS = 1024
_MORE = -1  # a reading that needs the next line
_INVALID = -2  # a reading no writer produces
_TOO_WIDE = -3  # a reading with more cells than the header


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


def _quoted_run(
    text: str,
    pos: int,
    cell: list[str],
    *,
    ends: tuple[str, ...],
    at_eof: bool,
    choose: Callable[[], bool],
) -> tuple[bool, int] | None:
    """Read a quoted cell's text from ``pos`` to its next quote, that quote included, into
    ``cell``: whether the cell is still open after it, and where reading goes on (None:
    the text ends at that quote and the next line decides what it is)."""
    quote = text.find('"', pos)
    if quote < 0:
        cell.append(text[pos:])
        return True, len(text)
    cell.append(text[pos:quote])
    kind, taken = _quote_in_cell(text, quote, ends, at_eof, choose)
    if kind == _WAIT:
        return None
    still_open = kind != _CLOSE
    if still_open or taken == 2:
        cell.append('"')  # one quote of the value (escaped, or bare)
    return still_open, quote + taken


def _read_record(
    text: str,
    delimiter: str,
    choices: tuple[bool, ...],
    at_eof: bool,
    width: int | None = None,
) -> tuple[list[str], int, int]:
    """One reading of the record at the start of ``text``: ``(cells, end, points)``.

    ``end`` is where the record's line break ends (``_MORE`` when the text runs out inside
    a quoted cell before the file does, ``_INVALID`` when an unquoted cell would hold a
    quote, ``_TOO_WIDE`` as soon as the cells outnumber ``width``); ``points`` counts the
    ambiguous quotes met.
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

    # A reading with more cells than the header split a quoted cell: it stops there, and
    # its further choices are not tried (they would only multiply).
    most = size if width is None else width - 1
    while pos < size and len(cells) <= most:
        char = text[pos]
        if quoted:
            step = _quoted_run(text, pos, cell, ends=ends, at_eof=at_eof, choose=choose)
            if step is None:
                return cells, _MORE, points
            quoted, pos = step
        elif char == delimiter:
            cells.append("".join(cell))
            cell, started = [], False
            pos += 1
        elif char in "\r\n":
            cells.append("".join(cell))
            return cells, pos + (2 if text.startswith("\r\n", pos) else 1), points
        elif char == '"':
            if started:
                # Writers quote every cell that holds a quote: a quote in an unquoted cell
                # means this reading split a quoted cell somewhere. Not a reading.
                return cells, _INVALID, points
            quoted = started = True
            pos += 1
        else:
            cell.append(char)
            started = True
            pos += 1
    if len(cells) > most:
        return cells, _TOO_WIDE, points
    if quoted:
        return cells, _MORE, points
    cells.append("".join(cell))
    return cells, pos, points


# How far ahead the record after a reading is looked at to judge that reading.
_LOOKAHEAD_LINES = 1000
# A refused record longer than this is reported: its quoting has gone wrong.
_MAX_RECORD_LINES = 20_000

Reading = tuple[int, int, list[str]]  # (end, departures, cells)


class _Rereader:
    """Reads one record that the strict reader refused (see :func:`_lenient_record`)."""

    def __init__(
        self, source: _Lines, delimiter: str, name: str, first_line: int, width: int | None
    ) -> None:
        self.source = source
        self.delimiter = delimiter
        self.where = f"{name} line {first_line}"
        self.width = width
        self.text = "".join(source.taken)
        self.at_eof = False
        self.lines_read = 0
        self.too_wide = False  # some reading had more cells than the header

    def more(self) -> bool:
        """Read more lines into the text (twice as many as last time, so that a long
        record is not parsed again line by line); False at the end of the file."""
        if self.at_eof:
            return False
        if self.lines_read >= _MAX_RECORD_LINES:
            raise CsvFormatError(
                f"{self.where}: a quoted cell runs on past {_MAX_RECORD_LINES} lines; the "
                "file's quoting cannot be read"
            )
        added: list[str] = []
        for _ in range(max(1, min(self.lines_read, 256))):
            try:
                added.append(next(self.source))
            except StopIteration:
                self.at_eof = True
                break
        self.lines_read += len(added)
        self.text += "".join(added)
        return bool(added)

    def readings(self, start: int) -> tuple[list[Reading], int | None]:
        """Every complete reading of the record starting at ``start`` (ends are absolute),
        and the fewest departures of a reading that runs past the text read so far (None
        when none does)."""
        text = self.text[start:]
        complete: list[Reading] = []
        pending: int | None = None
        queue: list[tuple[bool, ...]] = [()]
        tried = 0
        while queue:
            choices = queue.pop()
            tried += 1
            if tried > _MAX_READINGS:
                raise CsvFormatError(f"{self.where}: too many unescaped quotes to read the record")
            cells, end, points = _read_record(
                text, self.delimiter, choices, self.at_eof, self.width
            )
            # Each ambiguous quote met past the fixed choices opens the other reading.
            for index in range(len(choices), points):
                queue.append((*choices, *([False] * (index - len(choices))), True))
            departures = sum(choices[:points])
            if end == _MORE:
                pending = departures if pending is None else min(pending, departures)
            elif end == _TOO_WIDE:
                self.too_wide = True
            elif end != _INVALID:
                complete.append((start + end, departures, cells))
        return complete, pending

    def fits(self, cells: list[str]) -> bool:
        return self.width is None or len(cells) == self.width

    def next_record_readable(self, end: int) -> bool:
        """Whether what follows ``end`` can start a record. A reading that ends too early
        leaves the rest of a quoted cell behind, where a quote then stands in an unquoted
        cell or no reading fits the header."""
        if self.width is None:
            return True
        while True:
            if end >= len(self.text) and not self.more():
                return True  # the end of the file
            if self.text[end] in "\r\n":
                return True  # a blank line
            complete, pending = self.readings(end)
            if any(self.fits(cells) for _, _, cells in complete):
                return True
            if pending is None or self.at_eof or self.lines_read >= _LOOKAHEAD_LINES:
                return False  # nothing fits, or a cell left open for a thousand lines
            self.more()  # more lines, or the end of the file: read again either way

    def _first_readable(self, readings: list[Reading], verdicts: dict[int, bool]) -> Reading | None:
        """The first of ``readings`` after which the next record can start. Judged only as
        far as needed: looking ahead reads lines, and a reading that runs far would read
        the file to its end."""
        for reading in readings:
            end = reading[0]
            if end not in verdicts:
                verdicts[end] = self.next_record_readable(end)
            if verdicts[end]:
                return reading
        return None

    def read(self) -> tuple[list[str], int, str]:
        while True:
            complete, pending = self.readings(0)
            fitting = [r for r in complete if self.fits(r[2])]
            seen = (len(self.text), self.at_eof)
            verdicts: dict[int, bool] = {}
            # Two preferences: the reading that ends first (a later end swallows the next
            # rows) and the one closest to RFC 4180.
            by_end = sorted(fitting, key=lambda r: (r[0], r[1]))
            earliest = self._first_readable(by_end, verdicts)
            by_rfc = sorted(fitting, key=lambda r: (r[1], r[0]))
            closest = self._first_readable(by_rfc, verdicts)
            if pending is not None and (len(self.text), self.at_eof) != seen:
                # Looking ahead read more of the file, and some reading was still open:
                # read the record again (readings complete before stay as they were).
                continue
            if earliest is not None and closest is not None:
                if (
                    pending is not None
                    and pending < closest[1]
                    and not self.at_eof
                    and self.lines_read < _LOOKAHEAD_LINES
                ):
                    self.more()  # a reading closer to RFC 4180 may still complete
                    continue
                tied = {tuple(r[2]) for r in by_end if r[:2] == earliest[:2]}
                if earliest[2] != closest[2] or len(tied) > 1:
                    raise CsvFormatError(
                        f"{self.where}: unescaped quotes make the record ambiguous "
                        f"({len({tuple(r[2]) for r in fitting})} readings fit the header)"
                    )
                end = earliest[0]
                others = {tuple(c) for e, _, c in fitting if e == end} - tied
                _give_back_after(self.source, self.text, end)
                return earliest[2], len(others), self.text[:end]
            if pending is not None and not self.at_eof:
                self.more()  # more lines, or the end of the file: read again either way
                continue
            if complete:
                end, _, cells = min(complete, key=lambda reading: reading[:2])
                _give_back_after(self.source, self.text, end)
                return cells, 0, self.text[:end]  # the caller reports the cell count
            if self.too_wide:
                # No reading completes: each split a quoted cell, ran on to the end of the
                # file, or put a quote in an unquoted cell. Naming only the width would
                # send the file's writer looking for the wrong fault.
                raise CsvFormatError(
                    f"{self.where}: every reading of its quotes has more cells than the "
                    f"header's {self.width} or never closes a quoted cell"
                )
            raise CsvFormatError(
                f"{self.where}: a quoted cell is never closed (the file ends inside it)"
            )


def _lenient_record(
    source: _Lines, delimiter: str, name: str, first_line: int, width: int | None
) -> tuple[list[str], int, str]:
    """The record whose raw lines are ``source.taken``, read with bare quotes allowed.

    Every reading of its ambiguous quotes is tried; a reading counts when it fits the
    header and the next record can start after it (no quote in an unquoted cell, some
    reading that fits). The reading ending on the earliest line (a later end would swallow
    the next rows) must also be the one closest to RFC 4180 (fewest quotes read the
    unusual way); more lines are read while a closer one may still complete. When the two
    differ, or no reading counts, the read stops with the file and line named. Returns
    the cells, how many other readings fitting the header ended on the same line, and the
    record's raw text.
    """
    return _Rereader(source, delimiter, name, first_line, width).read()


def _strict_reads(raw: str, delimiter: str) -> bool:
    """Whether the C reader in strict mode takes this record's text."""
    try:
        for _ in csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


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
