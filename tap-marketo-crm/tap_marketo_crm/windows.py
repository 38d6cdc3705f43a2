"""Bulk export windows: how a span of time becomes a list of export jobs.

Marketo's bulk filters take at most 31 days (``max_export_days``; docs/MARKETO.md
section 5), so a sync from a bookmark to "now" is a list of windows. Windows are
inclusive at both ends (as Marketo's are), so the boundary second is read twice:
duplicates of the same key, never a gap. Pure functions: no Marketo calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketo_core.timeutil import format_marketo_datetime, parse_marketo_datetime

UTC = dt.UTC
MAX_EXPORT_DAYS = 31  # Marketo's bulk window limit


@dataclass(frozen=True, order=True)
class Window:
    """An export window, inclusive at both ends like Marketo's ``startAt``/``endAt``."""

    start: dt.datetime
    end: dt.datetime

    def as_filter(self) -> dict[str, str]:
        return {
            "startAt": format_marketo_datetime(self.start),
            "endAt": format_marketo_datetime(self.end),
        }

    def to_state(self) -> dict[str, str]:
        return self.as_filter()

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> Window:
        return cls(parse_ts(value["startAt"]), parse_ts(value["endAt"]))

    def __str__(self) -> str:
        return f"{format_marketo_datetime(self.start)}..{format_marketo_datetime(self.end)}"


def parse_ts(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_marketo_datetime(value)


def whole_second(value: dt.datetime) -> dt.datetime:
    """Marketo keeps whole seconds; windows on whole seconds read back exactly."""
    return value.astimezone(UTC).replace(microsecond=0)


def plan_windows(start: dt.datetime, end: dt.datetime, max_days: int) -> list[Window]:
    """Forward windows covering ``start..end``, oldest first, each at most ``max_days``."""
    start, end = whole_second(start), whole_second(end)
    if end <= start:
        return []
    step = dt.timedelta(days=_clamp_days(max_days))
    windows = []
    cursor = start
    while cursor < end:
        stop = min(cursor + step, end)
        windows.append(Window(cursor, stop))
        cursor = stop
    return windows


def plan_backward(frontier: dt.datetime, floor: dt.datetime, max_days: int) -> list[Window]:
    """Windows covering ``floor..frontier``, NEWEST first (priority-first backfill)."""
    frontier, floor = whole_second(frontier), whole_second(floor)
    step = dt.timedelta(days=_clamp_days(max_days))
    windows = []
    cursor = frontier
    while cursor > floor:
        stop = max(cursor - step, floor)
        windows.append(Window(stop, cursor))
        cursor = stop
    return windows


def _clamp_days(max_days: int) -> int:
    return max(1, min(int(max_days), MAX_EXPORT_DAYS))


# --- activity windows: one job per window for every type that needs it ----------------


@dataclass
class TypeProgress:
    """Where one activity type stands: ``forward`` is its bookmark (everything up to it is
    synced); ``backfill`` (priority_first only) is the older edge still to go back from,
    down to start_date; None when there is nothing left to backfill."""

    type_id: int
    forward: dt.datetime | None = None
    backfill: dt.datetime | None = None


@dataclass
class ActivityWindow:
    window: Window
    type_ids: tuple[int, ...]
    backfill: bool = False
    # Per type bounds on activityDate, as Marketo text: rows outside are not this type's
    # to emit in this window (another window or an earlier run covers them).
    floors: dict[int, str] = field(default_factory=dict)
    ceilings: dict[int, str] = field(default_factory=dict)


def activity_forward_start(
    progress: TypeProgress,
    *,
    start_date: dt.datetime,
    now: dt.datetime,
    max_days: int,
    lookback: dt.timedelta,
    priority_first: bool,
    data_start: dt.datetime | None = None,
) -> dt.datetime:
    """Where a type's forward sync starts this run. ``data_start`` is where the type's
    data begins (see ``probe``), used by a first sync only: a bookmark always wins."""
    if progress.forward is not None:
        return max(start_date, progress.forward - lookback)
    if priority_first:
        # First sync, newest window first: older data is backfilled by later runs.
        return max(start_date, now - dt.timedelta(days=_clamp_days(max_days)))
    if data_start is not None:
        return min(max(start_date, data_start), now)
    return start_date


def plan_activity_windows(
    types: Sequence[TypeProgress],
    *,
    start_date: dt.datetime,
    now: dt.datetime,
    max_days: int,
    lookback: dt.timedelta = dt.timedelta(0),
    priority_first: bool = False,
    include_backfill: bool = True,
    data_starts: Mapping[int, dt.datetime] | None = None,
) -> list[ActivityWindow]:
    """Forward windows (oldest first), then priority-first backfill windows (newest first).

    Each window lists only the types that need data in it, so a type selected later does
    not cost a second export of months the others already have. ``data_starts``: where
    each type's data begins (first syncs; see ``probe``); a type whose data begins at
    ``now`` has no window.
    """
    start_date, now = whole_second(start_date), whole_second(now)
    starts = {
        p.type_id: whole_second(
            activity_forward_start(
                p,
                start_date=start_date,
                now=now,
                max_days=max_days,
                lookback=lookback,
                priority_first=priority_first,
                data_start=(data_starts or {}).get(p.type_id),
            )
        )
        for p in types
    }
    plan: list[ActivityWindow] = []
    if starts:
        for window in plan_windows(min(starts.values()), now, max_days):
            ids = tuple(sorted(t for t, s in starts.items() if s < window.end))
            if not ids:
                continue
            floors = {
                t: format_marketo_datetime(starts[t]) for t in ids if starts[t] > window.start
            }
            plan.append(ActivityWindow(window, ids, floors=floors))
    if not include_backfill:
        return plan
    edges = {
        p.type_id: whole_second(p.backfill)
        for p in types
        if p.backfill is not None and whole_second(p.backfill) > start_date
    }
    if edges:
        for window in plan_backward(max(edges.values()), start_date, max_days):
            ids = tuple(sorted(t for t, e in edges.items() if e > window.start))
            if not ids:
                continue
            ceilings = {t: format_marketo_datetime(edges[t]) for t in ids if edges[t] < window.end}
            plan.append(ActivityWindow(window, ids, backfill=True, ceilings=ceilings))
    return plan
