"""Marketo timestamp spellings and the daily quota reset."""

from __future__ import annotations

import datetime as dt

import pytest
from marketo_core import format_marketo_datetime, next_quota_reset, parse_marketo_datetime

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-27T01:38:33Z", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2026-07-27T01:38:33Z+0000", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2026-07-27T01:38:33+0000", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2026-07-27T03:38:33+0200", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2026-07-27T01:38:33.000+00:00", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2026-07-27", dt.datetime(2026, 7, 27, tzinfo=UTC)),
        ("2026-07-27T01:38:33", dt.datetime(2026, 7, 27, 1, 38, 33, tzinfo=UTC)),
    ],
)
def test_parse_every_marketo_spelling(text: str, expected: dt.datetime) -> None:
    parsed = parse_marketo_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="Marketo timestamp"):
        parse_marketo_datetime(text)


def test_format_is_whole_seconds_in_utc() -> None:
    value = dt.datetime(2026, 1, 2, 5, 6, 7, 890000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_marketo_datetime(value) == "2026-01-02T03:06:07Z"
    assert format_marketo_datetime(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # Winter, CST (UTC-6): midnight Central is 06:00 UTC.
        (dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC), dt.datetime(2026, 1, 16, 6, 0, tzinfo=UTC)),
        # Summer, CDT (UTC-5): midnight Central is 05:00 UTC.
        (dt.datetime(2026, 7, 15, 12, 0, tzinfo=UTC), dt.datetime(2026, 7, 16, 5, 0, tzinfo=UTC)),
        # 03:00 UTC on the 16th is still the 15th in Chicago.
        (dt.datetime(2026, 7, 16, 3, 0, tzinfo=UTC), dt.datetime(2026, 7, 16, 5, 0, tzinfo=UTC)),
        # Exactly at the reset: the next one is a day later.
        (dt.datetime(2026, 7, 16, 5, 0, tzinfo=UTC), dt.datetime(2026, 7, 17, 5, 0, tzinfo=UTC)),
        # The night DST starts (2026-03-08 in the US): 2026-03-08 00:00 is still CST.
        (dt.datetime(2026, 3, 7, 20, 0, tzinfo=UTC), dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC)),
    ],
)
def test_next_quota_reset_is_next_midnight_in_chicago(
    now: dt.datetime, reset: dt.datetime
) -> None:
    assert next_quota_reset(now) == reset
