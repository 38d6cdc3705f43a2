"""Streaming reader for Marketo bulk export files.

Real export files carry NUL bytes, bare carriage returns and line breaks inside quoted
cells, non-ASCII text and sometimes a UTF-8 byte-order mark; empty values are written as
the literal ``null``. Files reach hundreds of MB, so rows are parsed as a stream.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, BinaryIO, cast

# Activity attributes and textarea fields can exceed csv's default 128 KB cell limit.
_FIELD_SIZE_LIMIT = 64 * 1024 * 1024

def iter_csv_rows(
    fileobj: IO[bytes] | IO[str],
    *,
    null: str | None = "null",
    encoding: str = "utf-8",
    delimiter: str = ",",
    errors: str = "strict",
) -> Iterator[dict[str, str | None]]:
    """Yield each data row as ``{header: value}``; cells equal to ``null`` become None.

    ``fileobj`` is a binary file (a text file is accepted too); it is not closed.
    """
    if csv.field_size_limit() < _FIELD_SIZE_LIMIT:
        csv.field_size_limit(_FIELD_SIZE_LIMIT)
    if isinstance(fileobj, io.TextIOBase):
        yield from _rows(fileobj, null=null, delimiter=delimiter)
        return
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # drops a leading BOM, reads plain UTF-8 unchanged
    # newline="" hands line breaks inside quoted cells to csv untranslated.
    binary = cast("BinaryIO", fileobj)
    text = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
    try:
        yield from _rows(text, null=null, delimiter=delimiter)
    finally:
        text.detach()  # leave the caller's file open


def _rows(
    lines: Iterable[str], *, null: str | None, delimiter: str
) -> Iterator[dict[str, str | None]]:
    reader = csv.reader(_without_nul(lines), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    width = len(header)
    for row in reader:
        if not row:
            continue  # a blank line, e.g. a trailing newline
        if len(row) != width:
            raise ValueError(
                f"bulk file line {reader.line_num}: {len(row)} cells, header has {width}"
            )
        yield {
            name: (None if null is not None and cell == null else cell)
            for name, cell in zip(header, row, strict=True)
        }


def _without_nul(lines: Iterable[str]) -> Iterator[str]:
    # NUL bytes are noise in Marketo files; dropping them keeps cells comparable.
    for line in lines:
        yield line.replace("\x00", "") if "\x00" in line else line


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
    if isinstance(value, list) and all(
        isinstance(item, dict) and "name" in item for item in value
    ):
        return {item["name"]: item.get("value") for item in value}
    raise ValueError(f"activity attributes are not a JSON object: {text[:80]!r}")
