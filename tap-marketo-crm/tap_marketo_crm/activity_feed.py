"""The activity feed: Marketo's activity log read by REST (paging token), once per run,
for the few "semantic" activity types that say what else changed, plus deleted leads.

Marketo has no "list everything changed" read for opportunities, roles, memberships or
deletes. Its activity log says what happened (docs/MARKETO.md section 8): Add to / Remove
from List, Merge Leads, Add to / Remove from / Update Opportunity, program status and
nurture changes, Push Lead (new program members), Delete Lead; and, where the bulk lead
export has no updatedAt filter, Change Data Value and Change Score (which leads changed,
see ``lead_changes``). Those types are read here
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
CHANGE_DATA_VALUE = 13
CHANGE_SCORE = 22
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
_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class FeedNeed:
    """What one consumer wants from the feed this run."""

    since: dt.datetime
    type_ids: tuple[int, ...] = ()
    deletes: bool = False


Event = dict[str, Any]


class ActivityFeed:
    """Reads the semantic activities every selected consumer needs, once, on first use.

    A consumer asking for types (or a position) the first read did not cover (its need
    changed during the run, e.g. the leads stream meeting 1035) gets them read then,
    rather than an empty answer.
    """

    def __init__(self, tap: TapMarketoCRM) -> None:
        self.tap = tap
        self._events: dict[int, list[Event]] | None = None
        self._deletes: list[Event] = []
        # Where each type's reading starts (and the deletes'): what a later ask is
        # checked against.
        self._types_from: dict[int, dt.datetime] = {}
        self._deletes_from: dt.datetime | None = None
        self._seen: set[str] = set()

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
        self._events = defaultdict(list)
        groups: dict[dt.datetime, tuple[set[int], bool]] = {}
        for need in self._needs():
            types, deletes = groups.get(need.since, (set(), False))
            groups[need.since] = (types | set(need.type_ids), deletes or need.deletes)
        for since, (types, deletes) in sorted(groups.items()):
            # A group later than another one reads only what the earlier one did not.
            self._read_group(
                since,
                {t for t in types if t not in self._types_from},
                deletes=deletes and self._deletes_from is None,
            )
        self.tap.logger.info(
            "Activity feed: %d semantic activities, %d deleted leads",
            sum(len(v) for v in self._events.values()),
            len(self._deletes),
        )

    def _cover(self, type_ids: Iterable[int], since: dt.datetime, *, deletes: bool) -> None:
        """Read what an ask needs that no earlier read covered."""
        self._read()
        missing = {t for t in type_ids if self._types_from.get(t, since + _SECOND) > since}
        more_deletes = deletes and (self._deletes_from is None or self._deletes_from > since)
        if missing or more_deletes:
            self._read_group(since, missing, deletes=more_deletes)

    def _read_group(self, since: dt.datetime, types: set[int], *, deletes: bool) -> None:
        if not types and not deletes:
            return
        assert self._events is not None
        client = self.tap.client
        token = client.get(
            "/rest/v1/activities/pagingtoken.json",
            {"sinceDatetime": format_marketo_datetime(since)},
        ).get("nextPageToken")
        for batch in chunked(sorted(types), MAX_TYPES_PER_CALL):
            for item in client.iter_results(
                "/rest/v1/activities.json",
                {"nextPageToken": token, "activityTypeIds": batch, "batchSize": 300},
            ):
                self._keep(item, self._events, self._seen)
        for type_id in types:
            self._types_from[type_id] = since
        if deletes:
            for item in client.iter_results(
                "/rest/v1/activities/deletedleads.json",
                {"nextPageToken": token, "batchSize": 300},
            ):
                key = str(item.get("marketoGUID") or item.get("id"))
                if key not in self._seen:
                    self._seen.add(key)
                    self._deletes.append(item)
            self._deletes_from = since
        for items in self._events.values():
            items.sort(key=_event_order)
        self._deletes.sort(key=_event_order)

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
        type_ids = tuple(type_ids)
        self._cover(type_ids, since, deletes=False)
        assert self._events is not None
        floor = format_marketo_datetime(since)
        out: list[Event] = []
        for type_id in type_ids:
            out.extend(
                e for e in self._events.get(type_id, []) if (e.get("activityDate") or "") >= floor
            )
        out.sort(key=_event_order)
        return out

    def deletes(self, since: dt.datetime) -> list[Event]:
        self._cover((), since, deletes=True)
        floor = format_marketo_datetime(since)
        return [e for e in self._deletes if (e.get("activityDate") or "") >= floor]


def _event_order(event: Mapping[str, Any]) -> tuple[str, int]:
    return (event.get("activityDate") or "", int(event.get("id") or 0))


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
