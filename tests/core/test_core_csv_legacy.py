"""Bulk files spelled the way older instances write them (the sandbox's legacy-csv profile).

Bare double quotes inside quoted cells, U+2028/U+2029 inside values, files served as
``text/csv`` without a charset: every row must come back whole and separate, and a record
that really cannot be read must stop the read with its file and line named.
"""

from __future__ import annotations

import io

import pytest
from marketo_core import iter_csv_rows
from marketo_core.csvstream import CsvFormatError


def rows(data: str | bytes, **kw: object) -> list[dict[str, str | None]]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(iter_csv_rows(io.BytesIO(raw), **kw))  # type: ignore[arg-type]


def test_a_bare_quote_inside_a_quoted_cell_is_text() -> None:
    got = rows('id,title\n1,"say "hi" now"\n2,plain\n')
    assert got == [{"id": "1", "title": 'say "hi" now'}, {"id": "2", "title": "plain"}]


def test_bare_quotes_at_the_start_of_a_word_and_in_the_last_column() -> None:
    got = rows('name,note\n"Ann "the boss" Lee","a"b"\n"x","y"\n')
    assert got == [{"name": 'Ann "the boss" Lee', "note": 'a"b'}, {"name": "x", "note": "y"}]


def test_escaped_and_bare_quotes_in_one_cell() -> None:
    got = rows('id,note\n1,"he said ""yes"" and "no" twice"\n')
    assert got[0]["note"] == 'he said "yes" and "no" twice'


def test_bare_quotes_in_a_multi_line_cell_keep_every_following_row() -> None:
    data = (
        "id,notes,city\n"
        '1,"Asked about pricing.\nWants a demo with the "ops" team; budget Q3.",Berlin\n'
        '2,"second\r\nline "two" here",Paris\n'
        '3,"three ""quoted""\nlines",Rome\n'
        "4,null,Oslo\n"
    )
    got = rows(data)
    assert [r["id"] for r in got] == ["1", "2", "3", "4"]
    assert got[0]["notes"] == 'Asked about pricing.\nWants a demo with the "ops" team; budget Q3.'
    assert got[0]["city"] == "Berlin"
    assert got[1]["notes"] == 'second\r\nline "two" here'
    assert got[2]["notes"] == 'three "quoted"\nlines'
    assert got[3] == {"id": "4", "notes": None, "city": "Oslo"}


def test_many_recovered_records_in_a_row_and_a_final_line_without_newline() -> None:
    lines = [f'{n},"v "{n}" w"' for n in range(200)]
    got = rows("id,v\n" + "\n".join(lines) + '\n200,"end "q""')
    assert len(got) == 201
    assert got[57] == {"id": "57", "v": 'v "57" w'}
    assert got[-1] == {"id": "200", "v": 'end "q"'}


def test_semicolon_files_recover_bare_quotes_too() -> None:
    got = rows('id;v\n1;"a "b" c"\n2;d\n', delimiter=";")
    assert got == [{"id": "1", "v": 'a "b" c'}, {"id": "2", "v": "d"}]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_unicode_line_and_paragraph_separators_stay_inside_the_value(separator: str) -> None:
    data = f'id,a,b\n1,one{separator}two,"x{separator}y"\n2,{separator},z\n'
    got = rows(data)
    assert got == [
        {"id": "1", "a": f"one{separator}two", "b": f"x{separator}y"},
        {"id": "2", "a": separator, "b": "z"},
    ]


def test_bytes_are_utf8_whatever_the_response_said() -> None:
    # Older instances answer text/csv without a charset; HTTP's old default for text/*
    # would be ISO-8859-1, which would turn these into mojibake.
    data = 'id,name\n1,"Zoë "Z" Ångström\u2028東京"\n'.encode()
    assert rows(data)[0]["name"] == 'Zoë "Z" Ångström\u2028東京'


def test_a_bare_quote_before_a_delimiter_is_read_so_that_the_row_fits_the_header() -> None:
    data = 'id,title,city\n1,ok,Berlin\n2,"say "hi", now",Paris\n3,ok,Rome\n'
    got = rows(data)
    assert [r["title"] for r in got] == ["ok", 'say "hi", now', "ok"]
    assert got[1]["city"] == "Paris"


def test_a_bare_quote_before_a_line_break_inside_a_multi_line_cell() -> None:
    data = 'id,note,n\n1,"first "line"\nsecond line",7\n2,x,8\n'
    got = rows(data)
    assert got == [
        {"id": "1", "note": 'first "line"\nsecond line', "n": "7"},
        {"id": "2", "note": "x", "n": "8"},
    ]


def test_a_value_ending_in_a_bare_quote_is_reported_not_merged_with_the_next_row() -> None:
    # '"two""' is an escaped quote that runs on into row 3 (and fits the header there) or
    # a bare quote plus the closing one: two rows or one, nothing in the file says which.
    data = 'id,notes,city\n2,"line "two"",Paris\n3,"three ""q""\nlines",Rome\n'
    with pytest.raises(CsvFormatError, match=r"bulk file line 2: .*ambiguous"):
        rows(data)


def test_the_same_value_with_its_last_quote_doubled_reads_back() -> None:
    # How the sandbox's legacy-csv spelling writes it: only inner quotes are left bare.
    data = 'id,notes,city\n2,"line "two""",Paris\n3,"three ""q""\nlines",Rome\n'
    assert [r["notes"] for r in rows(data)] == ['line "two"', 'three "q"\nlines']


def test_a_record_two_readings_fit_stops_with_file_and_line() -> None:
    data = 'a,b\n1,2\n"",",""\n3,4\n'
    with pytest.raises(CsvFormatError, match=r"leads export 7 file line 3: .*ambiguous"):
        rows(data, name="leads export 7 file")


def test_a_record_no_reading_fits_names_file_line_and_cell_count() -> None:
    data = 'id,title,city\n1,ok,Berlin\n2,"say "hi" now"\n3,ok,Rome\n'
    with pytest.raises(CsvFormatError, match=r"leads export 7 file line 3: 2 cells, header has 3"):
        rows(data, name="leads export 7 file")


def test_a_quoted_cell_never_closed_names_its_first_line() -> None:
    data = 'id,title\n1,ok\n2,"open "cell\nstill open\n'
    with pytest.raises(CsvFormatError, match=r"bulk file line 3: a quoted cell is never closed"):
        rows(data)


def test_a_truncated_file_is_not_read_as_a_short_last_row() -> None:
    with pytest.raises(CsvFormatError, match="never closed"):
        rows('id,note\n1,"complete"\n2,"cut in the mid')


def test_doubled_quotes_of_a_json_cell_after_a_bare_quoted_cell_stay_escapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Reading '."' as bare and '"",' as bare-plus-closing also fits the header (one cell
    # merged, one split): the reading with the fewest departures from RFC 4180 wins.
    data = (
        "id,notes,summary,role,interests\n"
        '68,"Asked.\nWants the "ops" team.","BANT: budget no, authority yes",Influencer,'
        '"[""Analytics"",""Mobile""]"\n'
        "69,null,null,null,null\n"
    )
    got = rows(data)
    assert got[0] == {
        "id": "68",
        "notes": 'Asked.\nWants the "ops" team.',
        "summary": "BANT: budget no, authority yes",
        "role": "Influencer",
        "interests": '["Analytics","Mobile"]',
    }
    assert got[1]["id"] == "69"
    # The choice is said once, with the line, never silently.
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "bulk file line 2: unescaped quotes allow 1 other readings of the record that fit "
        "the header; kept the one closest to RFC 4180 (docs/MARKETO.md section 9)"
    ]


def test_a_refused_record_that_never_closes_stops_without_reading_the_whole_file() -> None:
    # A stray opening quote: the lenient reader gives up after a bounded number of lines
    # instead of parsing the rest of a large file again and again.
    body = "".join(f"{n},plain,row\n" for n in range(30_000))
    data = 'id,a,b\n1,"broken "quote,x\n' + body
    with pytest.raises(CsvFormatError, match=r"bulk file line 2: a quoted cell runs on past"):
        rows(data)


def test_records_with_bare_quotes_next_to_doubled_quotes_are_read_whole() -> None:
    # Two records in a row, each with bare quotes in a multi-line note and doubled ones in
    # a JSON list: the readings of both multiply (more than 256 before the readings wider
    # than the header were cut short; a real lead file met that).
    tags = '"[""Support"",""Training"",""Automation""]"'
    note = '"Asked about pricing.\nWants a demo with the "ops" team; budget Q3."'
    bant = '"BANT: budget no, authority yes"'
    data = (
        "id,notes,bant,tags\n"
        f"1,{note},null,{tags}\n"
        f"2,null,{bant},{tags}\n"
        f"3,{note},{bant},{tags}\n"
        "4,null,null,null\n"
    )
    got = rows(data)
    assert [r["id"] for r in got] == ["1", "2", "3", "4"]
    assert got[2] == {
        "id": "3",
        "notes": 'Asked about pricing.\nWants a demo with the "ops" team; budget Q3.',
        "bant": "BANT: budget no, authority yes",
        "tags": '["Support","Training","Automation"]',
    }


def test_a_record_every_reading_of_which_is_wider_than_the_header_is_refused() -> None:
    with pytest.raises(CsvFormatError, match=r"line 2: every reading .* header's 2"):
        rows('id,v\n1,"a"b","c",d\n')


def test_a_record_whose_readings_are_too_wide_or_never_close_says_both() -> None:
    # Read as closing, the quote after x leaves three cells; read as text, it leaves a
    # quoted cell the file never closes.
    with pytest.raises(CsvFormatError, match=r"line 2: .* header's 2 or never closes a quoted"):
        rows('id,v\n1,"x",y,"z\n')
