"""Property-based round trips of the bulk CSV path: cells written exactly as the sandbox's
bulk writer writes Marketo files (``marketo_sandbox.bulk.csvfile``), read back by the tap's
reader (``marketo_core.csvstream.iter_csv_rows``), through a file handed over in tiny,
arbitrary chunks so multi-byte characters and CRLF pairs are split across reads.

Documented behaviour asserted as such:
- a NUL byte is noise in Marketo files and the reader drops it;
- an empty value is written as the literal ``null`` and read back as None, so a text
  value that IS ``null`` (after NUL removal) also reads back as None;
- every other text (quotes, bare CRs, line breaks inside a cell, any unicode) comes back
  exactly.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from marketo_core.csvstream import iter_csv_rows, parse_attributes
from marketo_sandbox.bulk import csvfile

# Text as user data puts it in Marketo: any unicode scalar except surrogates (not
# encodable in UTF-8), with the characters that break naive CSV readers made likely.
TRICKY = st.sampled_from(
    ["\x00", "\r", "\n", "\r\n", '"', '""', ",", ";", "\t", "null", "\ufeff", "\u2028", " "]
)
TEXT = st.lists(
    st.one_of(TRICKY, st.text(st.characters(exclude_categories=("Cs",)), max_size=12)),
    max_size=8,
).map("".join)
# Bulk files also carry numbers and booleans, formatted by csvfile.cell.
SCALAR = st.one_of(
    st.none(),
    TEXT,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
)
HEADER = ["marketoGUID", "leadId", "activityDate", "primaryAttributeValue", "attributes"]


class _Trickle(io.RawIOBase):
    """A file that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self._pos : self._pos + min(self._step, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _write(header: list[str], rows: list[list[Any]], fmt: str = "CSV") -> bytes:
    with tempfile.TemporaryDirectory(prefix="reliability-csv-") as folder:
        path = Path(folder) / "export.csv"
        result = csvfile.write_file(path, header, rows, fmt=fmt)
        data = path.read_bytes()
    assert result.size == len(data)
    return data


def _read(data: bytes, step: int, delimiter: str = ",") -> list[dict[str, str | None]]:
    stream = io.BufferedReader(_Trickle(data, step), buffer_size=max(1, step))
    return list(iter_csv_rows(stream, delimiter=delimiter))


def _expected(value: Any) -> str | None:
    """What the reader documents for a value the sandbox wrote with ``csvfile.cell``."""
    text = csvfile.cell(value).replace("\x00", "")
    return None if text == csvfile.NULL else text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(SCALAR, min_size=len(HEADER), max_size=len(HEADER)), max_size=12),
    step=st.integers(min_value=1, max_value=64),
)
@example(rows=[["a\x00b", "\r", 'say "hi"\r\nline two', "zweite Zeile \u2713", ""]], step=1)
@example(rows=[["nu\x00ll", "\x00", "\r\n", "\n\n", '"']], step=3)
def test_every_cell_the_sandbox_writes_reads_back_exactly(
    rows: list[list[Any]], step: int
) -> None:
    data = _write(HEADER, [[csvfile.cell(v) for v in row] for row in rows])
    got = _read(data, step)
    want = [{name: _expected(v) for name, v in zip(HEADER, row, strict=True)} for row in rows]
    assert got == want


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.lists(TEXT, min_size=3, max_size=3), min_size=1, max_size=8),
    step=st.integers(min_value=1, max_value=32),
)
def test_tab_separated_files_read_back_exactly(rows: list[list[str]], step: int) -> None:
    header = ["id", "email", "notes"]
    data = _write(header, [[csvfile.cell(v) for v in row] for row in rows], fmt="TSV")
    got = _read(data, step, delimiter="\t")
    assert got == [{n: _expected(v) for n, v in zip(header, row, strict=True)} for row in rows]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(TEXT, min_size=2, max_size=2), min_size=1, max_size=20))
def test_quirky_files_as_the_sandbox_serves_them_read_back_with_only_nuls_removed(
    rows: list[list[str]],
) -> None:
    # csv_quirks: the sandbox inserts a NUL, a bare CR, an LF or a CRLF + unicode into the
    # first text cell of every third row, as real Marketo files have them.
    header = ["email", "firstName"]
    formatted = [[csvfile.cell(v) for v in row] for row in rows]
    with tempfile.TemporaryDirectory(prefix="reliability-csv-") as folder:
        path = Path(folder) / "quirky.csv"
        csvfile.write_file(path, header, formatted, quirks=True, text_columns=(0, 1))
        data = path.read_bytes()
    quirked = [csvfile.apply_quirks(list(row), n, (0, 1)) for n, row in enumerate(formatted)]
    want = [
        {name: (None if c.replace("\x00", "") == csvfile.NULL else c.replace("\x00", ""))
         for name, c in zip(header, row, strict=True)}
        for row in quirked
    ]
    assert _read(data, 7) == want


# The activities `attributes` column: a JSON object inside a quoted CSV cell.
ATTRIBUTE_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
ATTRIBUTES = st.dictionaries(TEXT.filter(bool), ATTRIBUTE_VALUE, max_size=6)


@settings(max_examples=300, deadline=None)
@given(attributes=ATTRIBUTES, step=st.integers(min_value=1, max_value=48))
@example(attributes={"Query Parameters": "a=\x00&b=\r\n", "Note": 'say "hi"'}, step=2)
def test_the_attributes_json_cell_round_trips_exactly(
    attributes: dict[str, Any], step: int
) -> None:
    # JSON escapes control characters (NUL included), so here nothing at all is lost.
    row = ["1001", "7", "2026-01-02T03:04:05Z", "home.html", csvfile.cell(attributes)]
    (got,) = _read(_write(HEADER, [row]), step)
    if not attributes:
        # An empty object is written as the text "{}" and read back as an empty dict.
        assert got["attributes"] in ("{}", None)
    assert parse_attributes(got["attributes"]) == attributes


@settings(max_examples=100, deadline=None)
@given(attributes=ATTRIBUTES)
def test_the_rest_shape_of_attributes_folds_into_the_same_dict(attributes: dict[str, Any]) -> None:
    rest_shape = [{"name": name, "value": value} for name, value in attributes.items()]
    assert parse_attributes(csvfile.json_cell(rest_shape)) == attributes
