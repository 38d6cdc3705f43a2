"""Marketo timestamps: parsing its several spellings, formatting filters, quota resets."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC

try:
    _CENTRAL: dt.tzinfo = ZoneInfo("America/Chicago")
except ZoneInfoNotFoundError:  # pragma: no cover - hosts without a tz database
    # Central Standard Time is the later of Chicago's two offsets, so a reset computed with
    # it is never earlier than the real one: resuming late is safe, resuming early is not.
    _CENTRAL = dt.timezone(dt.timedelta(hours=-6), "CST")

# The asset API writes "2026-07-27T01:38:33Z+0000": a 'Z' followed by a redundant offset.
_Z_WITH_OFFSET = re.compile(r"Z[+-]\d{2}:?\d{2}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_marketo_datetime(value: str) -> dt.datetime:
    """Parse any timestamp spelling Marketo emits into an aware UTC datetime.

    Accepts ``2026-07-27T01:38:33Z``, ``2026-07-27T01:38:33Z+0000``,
    ``2026-07-27T01:38:33+0000``, ``2026-07-27T01:38:33.000+00:00`` and ``2026-07-27``
    (midnight UTC). A timestamp without any offset is taken as UTC.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected a Marketo timestamp string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("empty Marketo timestamp")
    if _DATE_ONLY.match(text):
        return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    text = _Z_WITH_OFFSET.sub("Z", text)
    text = text.replace(" ", "T", 1) if "T" not in text else text
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unrecognised Marketo timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_marketo_datetime(value: dt.datetime) -> str:
    """Format for Marketo filters (``YYYY-MM-DDTHH:MM:SSZ``); Marketo keeps whole seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_quota_reset(now: dt.datetime | None = None) -> dt.datetime:
    """The next 00:00 US Central (when Marketo's daily quotas reset), as aware UTC."""
    if now is None:
        now = dt.datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(_CENTRAL)
    tomorrow = local.date() + dt.timedelta(days=1)
    midnight = dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=_CENTRAL)
    return midnight.astimezone(UTC)
