"""Property-based round trips of files spelled the legacy-csv way (quotes left unescaped
inside quoted text cells, 1/0 booleans) through the tap's reader.

The spelling is lossy in principle (``"a "b",c"`` has two readings), so the property is:
every row comes back exactly, or the read stops with a ``CsvFormatError`` naming the line;
never a row lost, merged, split or silently changed.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from marketo_core.csvstream import CsvFormatError, iter_csv_rows
from marketo_sandbox.bulk import csvfile

# Prose as people type it into lead fields, heavy on the characters that make unescaped
# quotes ambiguous: quotes next to delimiters, line breaks and each other.
PIECES = st.sampled_from(
    ['"', '""', ",", ";", "\n", "\r\n", " ", "a", "Zoë", "\u2028", "\u2029", '"hi"', "6'2\""]
)
PROSE = st.lists(PIECES, min_size=1, max_size=8).map("".join)
HEADER = ["id", "note", "title", "done"]


def _legacy_file(rows: list[list[str]], fmt: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="reliability-legacy-") as folder:
        path = Path(folder) / "export.csv"
        csvfile.write_file(path, HEADER, rows, fmt=fmt, legacy=True, text_columns=(1, 2))
        return path.read_bytes()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(st.tuples(PROSE, PROSE), min_size=1, max_size=6),
    fmt=st.sampled_from(["CSV", "SSV"]),
)
@example(cells=[('say "hi" now', 'The "Boss"')], fmt="CSV")
@example(cells=[('"gh", 6\'2"', 'ab. "gh", x\ny ef" ab')], fmt="CSV")
def test_legacy_files_read_back_exactly_or_stop_naming_the_line(
    cells: list[tuple[str, str]], fmt: str
) -> None:
    rows = [[str(n), note, title, "1"] for n, (note, title) in enumerate(cells)]
    data = _legacy_file(rows, fmt)
    delimiter = csvfile.DELIMITERS[fmt]
    try:
        got = list(iter_csv_rows(io.BytesIO(data), null=None, delimiter=delimiter))
    except CsvFormatError as exc:
        stopped = str(exc)
    else:
        assert [[r[n] for n in HEADER] for r in got] == rows
        return
    assert re.match(r"bulk file line \d+: ", stopped), stopped


def test_the_sandbox_legacy_spelling_leaves_only_inner_quotes_bare() -> None:
    data = _legacy_file([["1", 'say "hi" now', 'The "Boss"', "0"]], "CSV").decode()
    assert data.splitlines()[1] == '1,"say "hi" now","The "Boss""",0'


@pytest.mark.parametrize("fmt", ["CSV", "TSV", "SSV"])
def test_legacy_booleans_are_one_and_zero_in_the_columns_named(fmt: str) -> None:
    with tempfile.TemporaryDirectory(prefix="reliability-legacy-") as folder:
        path = Path(folder) / "members.csv"
        csvfile.write_file(
            path,
            ["leadId", "reachedSuccess", "note"],
            [["1", "true", "true"], ["2", "false", "null"]],
            fmt=fmt,
            legacy=True,
            boolean_columns=(1,),
        )
        with path.open("rb") as file:
            rows = list(iter_csv_rows(file, delimiter=csvfile.DELIMITERS[fmt]))
    assert [(r["reachedSuccess"], r["note"]) for r in rows] == [("1", "true"), ("0", None)]
