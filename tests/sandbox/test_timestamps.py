"""The sandbox reads every timestamp spelling Marketo and its clients use, with one parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from marketo_sandbox import timestamps
from marketo_sandbox.bulk.dates import parse_range
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.leads import FieldValueError, coerce_value

MOMENT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

SPELLINGS = [
    # (what is sent, the instant it means)
    ("2024-01-02T03:04:05Z", MOMENT),  # the lead database and bulk files
    ("2024-01-02T03:04:05Z+0000", MOMENT),  # the asset API
    ("2024-01-02T03:04:05Z+00:00", MOMENT),
    ("2024-01-02T03:04:05+00:00", MOMENT),
    ("2024-01-02T03:04:05+0000", MOMENT),
    ("2024-01-02T03:04:05-0000", MOMENT),
    ("2024-01-02T03:04:05z", MOMENT),
    ("2024-01-02T03:04:05", MOMENT),  # no offset: Marketo reads UTC
    ("2024-01-02 03:04:05", MOMENT),
    ("  2024-01-02T03:04:05Z  ", MOMENT),
    ("2024-01-01T22:04:05-05:00", MOMENT),
    ("2024-01-01T22:04:05-0500", MOMENT),
    ("2024-01-02T08:34:05+0530", MOMENT),
    ("2024-01-02T03:04:05.000Z", MOMENT),
    ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),  # a bare date is midnight UTC
]

NOT_TIMESTAMPS = ["", "yesterday", "2024-13-02T03:04:05Z", "2024-01-02T25:00:00Z", "Z+0000"]


@pytest.mark.parametrize(("text", "instant"), SPELLINGS)
def test_every_spelling_reads_as_the_same_instant(text: str, instant: datetime) -> None:
    assert timestamps.parse(text) == instant
    assert timestamps.parse_datetime(text) == instant


@pytest.mark.parametrize("text", NOT_TIMESTAMPS)
def test_what_is_not_a_timestamp_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        timestamps.parse(text)
    assert timestamps.parse_datetime(text) is None


def test_absent_values_read_as_none() -> None:
    assert timestamps.parse_datetime(None) is None


def test_the_store_spelling_round_trips() -> None:
    text = timestamps.format_ts(MOMENT.timestamp())
    assert text == "2024-01-02T03:04:05Z"
    assert timestamps.to_epoch(text) == MOMENT.timestamp()
    assert timestamps.format_datetime(timestamps.parse("2024-01-01T22:04:05-0500")) == text
    # Whole seconds: the store never writes fractions.
    assert timestamps.format_ts(MOMENT.timestamp() + 0.9) == text


def test_the_asset_api_spelling_is_written_for_stored_timestamps_only() -> None:
    assert timestamps.asset_ts("2024-01-02T03:04:05Z") == "2024-01-02T03:04:05Z+0000"
    assert timestamps.asset_ts(None) is None
    assert timestamps.parse(timestamps.asset_ts("2024-01-02T03:04:05Z") or "") == MOMENT


@pytest.mark.parametrize(("text", "instant"), SPELLINGS)
def test_lead_datetime_fields_and_bulk_filters_take_every_spelling(
    text: str, instant: datetime
) -> None:
    # The lead database and the bulk extract filters share the parser: no spelling is
    # accepted by one and refused by the other.
    assert coerce_value("lastTradeShowAt", text) == timestamps.format_datetime(instant)
    window = parse_range({"startAt": text, "endAt": "2024-01-03T00:00:00Z"}, "createdAt", 31)
    assert window.start == timestamps.format_datetime(instant)


@pytest.mark.parametrize("text", [t for t in NOT_TIMESTAMPS if t])
def test_lead_datetime_fields_and_bulk_filters_refuse_the_same_values(text: str) -> None:
    with pytest.raises(FieldValueError):
        coerce_value("lastTradeShowAt", text)
    with pytest.raises(ApiError):
        parse_range({"startAt": text, "endAt": "2024-01-03T00:00:00Z"}, "createdAt", 31)
