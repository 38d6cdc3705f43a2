"""The date-range filters of bulk extract (``createdAt`` / ``updatedAt``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from marketo_sandbox.envelope import ApiError


@dataclass(frozen=True)
class DateRange:
    """An inclusive window, as store text (``YYYY-MM-DDTHH:MM:SSZ`` sorts as time)."""

    start: str
    end: str

    def as_filter(self) -> dict[str, str]:
        return {"startAt": self.start, "endAt": self.end}


def parse_datetime(value: Any, name: str) -> datetime:
    """An ISO-8601 datetime as clients send it: ``Z``, ``+0000``, ``-00:00`` or a bare date."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError("1003", f"Invalid date value for {name}: '{value}'")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Marketo's own timestamps sometimes carry "+0000": normalize to "+00:00".
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError("1003", f"Invalid date value for {name}: '{value}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_store_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_range(raw: Any, name: str, max_days: int) -> DateRange:
    """Validate a ``{"startAt","endAt"}`` filter the way Marketo does (<= ``max_days``)."""
    if not isinstance(raw, dict):
        raise ApiError("1003", f"Invalid value for filter '{name}': startAt and endAt are required")
    if raw.get("startAt") in (None, "") or raw.get("endAt") in (None, ""):
        raise ApiError("1003", f"Invalid value for filter '{name}': startAt and endAt are required")
    start = parse_datetime(raw["startAt"], f"{name}.startAt")
    end = parse_datetime(raw["endAt"], f"{name}.endAt")
    if end < start:
        raise ApiError("1003", f"Invalid value for filter '{name}': endAt must be after startAt")
    if end - start > timedelta(days=max_days):
        raise ApiError(
            "1003", f"Date range for filter '{name}' exceeds the maximum of {max_days} days"
        )
    return DateRange(to_store_ts(start), to_store_ts(end))
