"""The one place the sandbox reads and writes timestamps.

Marketo writes ``2024-01-02T03:04:05Z`` in the lead database and bulk files, and
``2024-01-02T03:04:05Z+0000`` (a redundant offset after the ``Z``) in the asset API;
clients send ``Z``, ``+00:00``, ``+0000``, other offsets, milliseconds, and a bare date
where Marketo takes one (docs/MARKETO.md section 7). Every spelling is read here, and the
store keeps one: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, whole seconds, which sorts as text.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

STORE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_ASSET_SUFFIX = re.compile(r"[Zz]([+-]\d{2}:?\d{2})$")


def parse(text: str) -> datetime:
    """An instant in any spelling above, as an aware UTC datetime; ValueError otherwise.

    A bare date is midnight UTC; a time without an offset is UTC, as Marketo reads it.
    """
    return _read(text).astimezone(UTC)


def _read(text: str) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    else:
        # The asset API's "Z+0000": the Z already says UTC.
        match = _ASSET_SUFFIX.search(value)
        if match:
            value = value[: match.start(1) - 1] + "+00:00"
    # Python 3.11 reads "+0000", "+00:00", "+00", milliseconds and a bare date itself.
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_datetime(value: Any) -> datetime | None:
    """:func:`parse` for values that may be absent or wrong: None instead of an error."""
    if value is None:
        return None
    try:
        return parse(str(value))
    except ValueError:
        return None


def to_epoch(text: str) -> float:
    # Seeding reads a million stored timestamps: skip the conversion to UTC.
    return _read(text).timestamp()


def format_ts(epoch: float) -> str:
    """Seconds since the epoch as the store (and Marketo's lead database) writes them."""
    # time.strftime is three times faster than datetime's, and seeding writes millions.
    return time.strftime(STORE_FORMAT, time.gmtime(int(epoch)))


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STORE_FORMAT)


def asset_ts(ts: str | None) -> str | None:
    """A stored timestamp as the asset API answers it: ``2026-07-27T01:38:33Z+0000``."""
    if not ts:
        return ts
    return ts + "+0000" if ts.endswith("Z") else ts
