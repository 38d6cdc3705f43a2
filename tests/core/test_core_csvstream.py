"""Streaming parse of Marketo bulk files, with the quirks real files have."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from marketo_core import iter_csv_rows, parse_attributes


def rows(data: bytes, **kw: object) -> list[dict[str, str | None]]:
    return list(iter_csv_rows(io.BytesIO(data), **kw))  # type: ignore[arg-type]


def test_header_row_names_the_cells_and_null_becomes_none() -> None:
    got = rows(b"id,email,company\n1,a@x.com,null\n2,,Acme\n")
    assert got == [
        {"id": "1", "email": "a@x.com", "company": None},
        {"id": "2", "email": "", "company": "Acme"},
    ]


def test_quoted_null_is_still_the_null_literal_but_other_text_is_kept() -> None:
    got = rows(b'id,note\n1,"null"\n2,nullable\n3,NULL\n')
    assert [r["note"] for r in got] == [None, "nullable", "NULL"]


def test_nul_bytes_are_stripped() -> None:
    got = rows(b'id,name\n1,"Ann\x00e"\n2,Bo\x00b\n')
    assert [r["name"] for r in got] == ["Anne", "Bob"]


def test_bare_carriage_return_inside_a_quoted_cell_is_kept() -> None:
    got = rows(b'id,address\n1,"12 Main St\rSuite 4"\n2,plain\n')
    assert got[0]["address"] == "12 Main St\rSuite 4"
    assert got[1] == {"id": "2", "address": "plain"}


def test_multiline_quoted_cells_and_crlf_rows() -> None:
    got = rows(b'id,comment\r\n1,"line one\r\nline two\nline three"\r\n2,"say ""hi"""\r\n')
    assert got == [
        {"id": "1", "comment": "line one\r\nline two\nline three"},
        {"id": "2", "comment": 'say "hi"'},
    ]


def test_non_ascii_text() -> None:
    data = "id,name\n1,Zoë Ångström\n2,東京\n3,🙂\n".encode()
    assert [r["name"] for r in rows(data)] == ["Zoë Ångström", "東京", "🙂"]


def test_utf8_bom_does_not_stick_to_the_first_column_name() -> None:
    got = rows("\ufeffid,email\n1,a@x.com\n".encode())
    assert got == [{"id": "1", "email": "a@x.com"}]


def test_other_encodings_and_tab_separated_files() -> None:
    data = "id\tname\n1\tJosé\n".encode("latin-1")
    assert rows(data, encoding="latin-1", delimiter="\t") == [{"id": "1", "name": "José"}]


def test_empty_file_and_header_only_file_give_no_rows() -> None:
    assert rows(b"") == []
    assert rows(b"id,email\n") == []


def test_a_row_with_the_wrong_width_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 cells, header has 3"):
        rows(b"a,b,c\n1,2\n")


def test_large_cells_beyond_csv_default_limit() -> None:
    big = "x" * 300_000
    assert rows(f'id,blob\n1,"{big}"\n'.encode())[0]["blob"] == big


def test_rows_stream_without_reading_the_whole_file() -> None:
    class CountingReader(io.RawIOBase):
        """Yields an endless CSV, counting the bytes handed out."""

        def __init__(self) -> None:
            self.handed = 0
            self.buffer = b"id,email\n"
            self.next_id = 0

        def readable(self) -> bool:
            return True

        def readinto(self, target: Any) -> int:
            while len(self.buffer) < len(target):
                self.buffer += f"{self.next_id},u{self.next_id}@x.com\n".encode()
                self.next_id += 1
            n = len(target)
            target[:n] = self.buffer[:n]
            self.buffer = self.buffer[n:]
            self.handed += n
            return n

    source = CountingReader()
    stream: Iterator[dict[str, str | None]] = iter_csv_rows(io.BufferedReader(source))
    first = [next(stream) for _ in range(3)]
    assert [r["id"] for r in first] == ["0", "1", "2"]
    assert source.handed < 1_000_000  # an endless file, so reading it all would never end
    stream.close()  # type: ignore[attr-defined]


def test_the_callers_file_is_left_open() -> None:
    buffer = io.BytesIO(b"id\n1\n")
    assert rows_from(buffer) == [{"id": "1"}]
    assert not buffer.closed


def rows_from(buffer: io.BytesIO) -> list[dict[str, str | None]]:
    return list(iter_csv_rows(buffer))


def test_attributes_cell_parses_to_a_dict() -> None:
    cell = '{"Client IP Address":"10.0.0.1","Query Parameters":null,"Webpage ID":71}'
    assert parse_attributes(cell) == {
        "Client IP Address": "10.0.0.1",
        "Query Parameters": None,
        "Webpage ID": 71,
    }


@pytest.mark.parametrize("cell", [None, "", "  ", "null", "{}"])
def test_empty_attributes_give_an_empty_dict(cell: str | None) -> None:
    assert parse_attributes(cell) == {}


def test_attributes_in_rest_shape_are_folded() -> None:
    cell = '[{"name":"Client IP Address","value":"10.0.0.1"},{"name":"Score","value":5}]'
    assert parse_attributes(cell) == {"Client IP Address": "10.0.0.1", "Score": 5}


def test_attributes_from_a_real_row_round_trip_through_csv() -> None:
    data = (
        b'marketoGUID,leadId,activityTypeId,attributes\n'
        b'102988,1,1,"{""Client IP Address"":""10.0.0.1"",""Note"":""a,b\nc""}"\n'
    )
    (row,) = rows(data)
    expected = {"Client IP Address": "10.0.0.1", "Note": "a,b\nc"}
    assert parse_attributes(row["attributes"]) == expected


@pytest.mark.parametrize("cell", ["{not json", "[1, 2]", '"text"'])
def test_malformed_attributes_raise(cell: str) -> None:
    with pytest.raises(ValueError, match="attributes"):
        parse_attributes(cell)
