"""The activity feed: Marketo's activity log read by REST (paging token), once per run,
for the few "semantic" activity types that say what else changed, plus deleted leads.

Marketo has no "list everything changed" read for opportunities, roles, memberships or
deletes. Its activity log says what happened (docs/MARKETO.md section 8): Add to / Remove
from List, Merge Leads, Add to / Remove from / Update Opportunity, program status and
nurture changes, Push Lead (new program members), Delete Lead. Those types are read here
even when their activity streams are not selected, whichever stream needs them first,
and every consumer takes the events after its own position (``feed_since`` in its
state). Consumers at the same position share one paging token and one read: a quiet
incremental run costs a token, one activities call per 10 types and a deleted-leads call.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketo_core.timeutil import format_marketo_datetime

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream, chunked

if TYPE_CHECKING:
    from tap_marketo_crm.tap import TapMarketoCRM

# Standard activity type ids (stable across instances).
ADD_TO_LIST = 24
REMOVE_FROM_LIST = 25
MERGE_LEADS = 32
ADD_TO_OPPORTUNITY = 34
REMOVE_FROM_OPPORTUNITY = 35
UPDATE_OPPORTUNITY = 36
DELETE_LEAD = 37
CHANGE_STATUS_IN_PROGRESSION = 104
ADD_TO_NURTURE = 113
CHANGE_NURTURE_TRACK = 114
CHANGE_NURTURE_CADENCE = 115
PUSH_LEAD_TO_MARKETO = 145

LIST_TYPES = (ADD_TO_LIST, REMOVE_FROM_LIST)
OPPORTUNITY_TYPES = (ADD_TO_OPPORTUNITY, REMOVE_FROM_OPPORTUNITY, UPDATE_OPPORTUNITY)
PROGRAM_TYPES = (
    CHANGE_STATUS_IN_PROGRESSION,
    ADD_TO_NURTURE,
    CHANGE_NURTURE_TRACK,
    CHANGE_NURTURE_CADENCE,
    PUSH_LEAD_TO_MARKETO,
)
MAX_TYPES_PER_CALL = 10  # activities.json takes at most 10 activityTypeIds


@dataclass(frozen=True)
class FeedNeed:
    """What one consumer wants from the feed this run."""

    since: dt.datetime
    type_ids: tuple[int, ...] = ()
    deletes: bool = False


Event = dict[str, Any]


class ActivityFeed:
    """Reads the semantic activities every selected consumer needs, once, on first use."""

    def __init__(self, tap: TapMarketoCRM) -> None:
        self.tap = tap
        self._events: dict[int, list[Event]] | None = None
        self._deletes: list[Event] = []

    def _needs(self) -> list[FeedNeed]:
        needs = []
        # A stream skipped at a retention gap reads nothing (its old position would make
        # the feed read years of activities for no one).
        skipped = self.tap.run.retention_stops
        for stream in self.tap.streams.values():
            if isinstance(stream, MarketoStream) and stream.selected and stream.name not in skipped:
                need = stream.feed_need()
                if need is not None:
                    needs.append(need)
        return needs

    def _read(self) -> None:
        if self._events is not None:
            return
        events: dict[int, list[Event]] = defaultdict(list)
        groups: dict[dt.datetime, tuple[set[int], bool]] = {}
        for need in self._needs():
            types, deletes = groups.get(need.since, (set(), False))
            groups[need.since] = (types | set(need.type_ids), deletes or need.deletes)
        client = self.tap.client
        seen: set[str] = set()
        for since, (types, deletes) in sorted(groups.items()):
            if not types and not deletes:
                continue
            token = client.get(
                "/rest/v1/activities/pagingtoken.json",
                {"sinceDatetime": format_marketo_datetime(since)},
            ).get("nextPageToken")
            for batch in chunked(sorted(types), MAX_TYPES_PER_CALL):
                for item in client.iter_results(
                    "/rest/v1/activities.json",
                    {"nextPageToken": token, "activityTypeIds": batch, "batchSize": 300},
                ):
                    self._keep(item, events, seen)
            if deletes:
                for item in client.iter_results(
                    "/rest/v1/activities/deletedleads.json",
                    {"nextPageToken": token, "batchSize": 300},
                ):
                    if str(item.get("marketoGUID") or item.get("id")) not in seen:
                        seen.add(str(item.get("marketoGUID") or item.get("id")))
                        self._deletes.append(item)
        for items in events.values():
            items.sort(key=lambda e: (e.get("activityDate") or "", int(e.get("id") or 0)))
        self._deletes.sort(key=lambda e: (e.get("activityDate") or "", int(e.get("id") or 0)))
        self._events = events
        self.tap.logger.info(
            "Activity feed: %d semantic activities, %d deleted leads",
            sum(len(v) for v in events.values()),
            len(self._deletes),
        )

    @staticmethod
    def _keep(item: Mapping[str, Any], events: dict[int, list[Event]], seen: set[str]) -> None:
        key = str(item.get("marketoGUID") or item.get("id"))
        if key in seen:
            return  # groups with different positions overlap
        seen.add(key)
        event = dict(item)
        event["attributes"] = s.to_object(item.get("attributes") or []) or {}
        events[int(item["activityTypeId"])].append(event)

    # --- what consumers read ---------------------------------------------------------

    def events(self, type_ids: Iterable[int], since: dt.datetime) -> list[Event]:
        """Events of these types dated at or after ``since``, oldest first."""
        self._read()
        assert self._events is not None
        floor = format_marketo_datetime(since)
        out: list[Event] = []
        for type_id in type_ids:
            out.extend(
                e for e in self._events.get(type_id, []) if (e.get("activityDate") or "") >= floor
            )
        out.sort(key=lambda e: (e.get("activityDate") or "", int(e.get("id") or 0)))
        return out

    def deletes(self, since: dt.datetime) -> list[Event]:
        self._read()
        floor = format_marketo_datetime(since)
        return [e for e in self._deletes if (e.get("activityDate") or "") >= floor]


def feed_position(stream: MarketoStream) -> dt.datetime | None:
    """Where a consumer's feed reading stands (None: it has never read the feed)."""
    return stream.feed_position()


def merge_losers(event: Mapping[str, Any]) -> list[int]:
    """Lead ids merged away by a Merge Leads activity (its "Merge ids" attribute; the
    activity is logged on the winner)."""
    raw = (event.get("attributes") or {}).get("Merge ids") or (event.get("attributes") or {}).get(
        "Merge IDs"
    )
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else str(raw).replace(";", ",").split(",")
    out = []
    for value in values:
        text = str(value).strip()
        if text.isdigit():
            out.append(int(text))
    return out
