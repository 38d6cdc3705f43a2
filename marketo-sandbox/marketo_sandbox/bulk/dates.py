"""The date-range filters of bulk extract (``createdAt`` / ``updatedAt``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marketo_sandbox import timestamps
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.timestamps import format_datetime


@dataclass(frozen=True)
class DateRange:
    """An inclusive window, as store text (``YYYY-MM-DDTHH:MM:SSZ`` sorts as time)."""

    start: str
    end: str

    def as_filter(self) -> dict[str, str]:
        return {"startAt": self.start, "endAt": self.end}


def _filter_datetime(value: Any, name: str) -> datetime:
    try:
        return timestamps.parse(value)
    except ValueError:
        raise ApiError("1003", f"Invalid date value for {name}: '{value}'") from None


def parse_range(raw: Any, name: str, max_days: int) -> DateRange:
    """Validate a ``{"startAt","endAt"}`` filter the way Marketo does (<= ``max_days``)."""
    if not isinstance(raw, dict):
        raise ApiError("1003", f"Invalid value for filter '{name}': startAt and endAt are required")
    if raw.get("startAt") in (None, "") or raw.get("endAt") in (None, ""):
        raise ApiError("1003", f"Invalid value for filter '{name}': startAt and endAt are required")
    start = _filter_datetime(raw["startAt"], f"{name}.startAt")
    end = _filter_datetime(raw["endAt"], f"{name}.endAt")
    if end < start:
        raise ApiError("1003", f"Invalid value for filter '{name}': endAt must be after startAt")
    if end - start > timedelta(days=max_days):
        raise ApiError(
            "1003", f"Date range for filter '{name}' exceeds the maximum of {max_days} days"
        )
    return DateRange(format_datetime(start), format_datetime(end))
