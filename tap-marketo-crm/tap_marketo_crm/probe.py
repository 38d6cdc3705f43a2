"""Where each bulk stream's data begins, so a first sync from an early ``start_date``
does not pay create, enqueue and a status poll for every empty 31-day window before it.

Every bound here is a LOWER bound that Marketo's own rules make exact (no record of the
stream can be older), never an estimate: a window before the bound cannot hold a
record, a window after it is exported as before. When a probe cannot conclude within its
call budget it returns None and the stream exports from ``start_date`` (honest, only
dearer). A saved export job or a bookmark always wins: probes run only on a stream's
first sync with nothing in state (docs/MARKETO.md sections 4, 5 and 9).

The lead and activity probes read over REST, which Marketo limits to the lead partitions
the API user's role sees, while the bulk exports they bound see every lead. A bound from
what the role sees could start a first sync after a lead it cannot see, so they are
trusted only when they cannot have missed one (:func:`sees_every_partition`): the lead
probe when it found lead id 1 itself (nothing is older) or when every partition shows a
lead; the activity probe only in the latter case. ``probe_data_start`` turns all off.

- ``start_date`` itself is never before 2007-01-01: Marketo did not exist earlier
  (Adobe's bulk bootstrap guidance), so no record is older (:func:`floor_start_date`).
- Leads (:func:`lead_floor`): lead ids are issued in creation order, so the living lead
  with the smallest id has the earliest ``createdAt``; every lead's ``updatedAt`` is at
  or after its ``createdAt`` (less one second: Marketo can stamp a new lead's updatedAt
  a second before its createdAt). Found by ``leads.json?filterType=id`` over ids from 1
  up, 300 per call.
- Custom objects (:func:`object_type_floors`): no record is older than its type, and
  ``customobjects.json`` gives every type's ``createdAt`` in one call. Lead-linked types
  (the only ones Marketo's bulk export serves) are bounded by the leads too: a record
  is created only for an existing lead (Marketo skips it otherwise, 1004), is deleted
  with its lead and follows the winner of a merge (re-stamped then), so no living
  record is older than the oldest living lead. The later of the bounds is used.
- Activities (:func:`activity_floors`): a paging token at ``start_date`` is the first
  activity id from then on, and ``activities.json`` reads forward in id order, i.e. in
  the order activities were logged (ids grow with time). The first page holding any
  activity of a group of 10 types holds the group's earliest one; a read that reaches
  the end (``moreResult: false``) without any proves the group has none at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from marketo_core.errors import MarketoAPIError
from marketo_core.partitions import partitions_out_of_sight

from tap_marketo_crm.windows import parse_ts, whole_second

UTC = dt.UTC
# Marketo launched in 2006 and its data starts in 2007; Adobe's bulk bootstrap guidance
# says low watermarks never need to be earlier.
MARKETO_EPOCH = dt.datetime(2007, 1, 1, tzinfo=UTC)
MAX_KEYS = 300  # ids per leads.json call (Marketo's filterValues limit)
# Calls a probe may spend before giving up (the stream then exports from start_date).
# Each skipped empty window saves at least 3 calls (create, enqueue, status), so a probe
# pays for itself as soon as it skips a couple of months.
LEAD_PROBE_CALLS = 10
ACTIVITY_PROBE_PAGES = 25
TYPES_PER_CALL = 10  # activities.json takes at most 10 activityTypeIds
# A new lead's updatedAt can be one second before its createdAt (recorded instances).
LEAD_CLOCK_SLACK = dt.timedelta(seconds=1)


def floor_start_date(value: dt.datetime) -> dt.datetime:
    """``start_date`` as the tap uses it: never before 2007-01-01."""
    return max(value, MARKETO_EPOCH)


def day_start(value: dt.datetime) -> dt.datetime:
    """The start of ``value``'s UTC day: windows then begin on whole days, and moving a
    lower bound earlier never drops a record."""
    value = value.astimezone(UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)


def sees_every_partition(client: Any, logger: logging.Logger) -> bool:
    """Whether REST reads of leads and activities can be taken to see every lead: each
    lead partition the subscription defines shows this API user at least one lead.

    A partition outside the role looks, over REST, exactly like an empty one, so an empty
    partition also answers False: the probes are then off (honest, only dearer)."""
    try:
        unseen = partitions_out_of_sight(client)
    except MarketoAPIError as exc:
        logger.info("Lead partitions not readable (%s): REST may not see every lead", exc)
        return False
    if unseen:
        logger.info(
            "Lead partition(s) %s show no lead over REST: empty, or outside the API role "
            "(REST reads leave those leads out, bulk exports do not); probes over REST "
            "cannot bound a first sync",
            ", ".join(unseen),
        )
        return False
    return True


def lead_floor(
    client: Any,
    logger: logging.Logger,
    *,
    sees_everything: Callable[[], bool] | None = None,
) -> dt.datetime | None:
    """No living lead was created or updated before this (None: not found within the
    probe's budget, no lead at all is known, or REST may hide older leads: export from
    start_date). ``sees_everything`` answers :func:`sees_every_partition` (memoized by
    the caller); asked only when the oldest lead found is not lead 1."""
    for call in range(LEAD_PROBE_CALLS):
        first = call * MAX_KEYS + 1
        ids = ",".join(str(i) for i in range(first, first + MAX_KEYS))
        try:
            page = client.query(
                "/rest/v1/leads.json",
                {"filterType": "id", "filterValues": ids, "fields": "id,createdAt"},
            )
        except MarketoAPIError as exc:
            # A probe never fails a sync: without a bound, leads export from start_date.
            logger.info("Lead probe refused (%s): leads are exported from start_date", exc)
            return None
        found = [r for r in page.get("result") or [] if r.get("createdAt")]
        if not found:
            continue
        # Ids follow creation: the smallest living id is the oldest living lead.
        oldest = min(found, key=lambda r: int(r["id"]))
        # Lead 1 is the first lead ever, whatever partition it is in; any other lead
        # found may have older ones in a partition the role does not see.
        seen_all = sees_everything or (lambda: sees_every_partition(client, logger))
        if int(oldest["id"]) != 1 and not seen_all():
            logger.info(
                "Leads are exported from start_date: lead %s is the oldest REST shows, and "
                "REST may not show every partition",
                oldest["id"],
            )
            return None
        created = parse_ts(str(oldest["createdAt"]))
        floor = day_start(created - LEAD_CLOCK_SLACK)
        logger.info(
            "Leads begin at %s (lead %s, the lowest living id): earlier windows hold no lead",
            oldest["createdAt"],
            oldest["id"],
        )
        return floor
    logger.info(
        "No lead among ids 1..%d: leads are exported from start_date",
        LEAD_PROBE_CALLS * MAX_KEYS,
    )
    return None


def activity_floors(
    client: Any,
    type_ids: Sequence[int],
    since: dt.datetime,
    now: dt.datetime,
    logger: logging.Logger,
    *,
    sees_everything: Callable[[], bool] | None = None,
) -> dict[int, dt.datetime]:
    """Per activity type, where its data from ``since`` on begins: the group's earliest
    activity's day, or ``now`` when the group has none up to now. Types whose group the
    budget did not settle are left out (they start at ``since``), and so is every type
    when REST may not see every lead (activities.json leaves out those of leads outside
    the API role, the bulk export does not)."""
    floors: dict[int, dt.datetime] = {}
    if not (sees_everything or (lambda: sees_every_partition(client, logger)))():
        logger.info("Activities are exported from start_date: REST may not see every lead")
        return floors
    try:
        token = client.get(
            "/rest/v1/activities/pagingtoken.json",
            {"sinceDatetime": _marketo_text(since)},
        ).get("nextPageToken")
    except MarketoAPIError as exc:
        logger.info("Activity probe refused (%s): activities export from start_date", exc)
        return floors
    if not token:
        return floors
    ordered = sorted(set(type_ids))
    for start in range(0, len(ordered), TYPES_PER_CALL):
        group = ordered[start : start + TYPES_PER_CALL]
        try:
            settled, found = _first_activity_date(client, group, str(token))
        except MarketoAPIError as exc:  # e.g. a type activities.json does not take
            logger.info("Activity types %s: probe refused (%s); from start_date", group, exc)
            continue
        if not settled:
            logger.info(
                "Activity types %s: no activity within %d pages; exported from start_date",
                group,
                ACTIVITY_PROBE_PAGES,
            )
            continue
        floor = now if found is None else max(since, day_start(found))
        for type_id in group:
            floors[type_id] = floor
        logger.info(
            "Activity types %s begin at %s",
            group,
            "no activity up to now" if found is None else _marketo_text(floor),
        )
    return floors


def _first_activity_date(
    client: Any, group: Sequence[int], token: str
) -> tuple[bool, dt.datetime | None]:
    """(settled, date): the earliest activityDate of ``group`` from ``token`` on, None
    when there is none up to the end of the log; not settled when the page budget ran
    out first.

    Marketo reads its log forward by id range, so a page can be empty while
    ``moreResult`` is true; the first page with rows holds the group's lowest ids, the
    activities logged first. Their earliest activityDate is the group's (rows within a
    page are not promised to be sorted, hence the min)."""
    for _ in range(ACTIVITY_PROBE_PAGES):
        page = client.get(
            "/rest/v1/activities.json",
            {"activityTypeIds": ",".join(str(t) for t in group), "nextPageToken": token},
        )
        rows = page.get("result") or []
        dates = [parse_ts(str(r["activityDate"])) for r in rows if r.get("activityDate")]
        if dates:
            return True, min(dates)
        if not page.get("moreResult"):
            return True, None
        token = str(page.get("nextPageToken") or token)
    return False, None


def object_type_floors(client: Any, logger: logging.Logger) -> dict[str, dt.datetime]:
    """Per custom object type (apiName), the start of the day it was defined: none of
    its records can be older."""
    floors: dict[str, dt.datetime] = {}
    try:
        listed = client.get("/rest/v1/customobjects.json").get("result") or []
    except MarketoAPIError as exc:
        logger.info("Custom object types not listed (%s): no bound from them", exc)
        return floors
    for entry in listed:
        name, created = entry.get("name"), entry.get("createdAt")
        if name and created:
            floors[str(name)] = day_start(parse_ts(str(created)))
    logger.info(
        "Custom object types defined at %s",
        ", ".join(f"{n} {_marketo_text(f)}" for n, f in sorted(floors.items())) or "(none)",
    )
    return floors


def first_sync_start(start_date: dt.datetime, floor: dt.datetime | None) -> dt.datetime:
    """Where a first sync starts: start_date, or the data's lower bound when later."""
    if floor is None:
        return start_date
    return max(start_date, whole_second(floor))


def _marketo_text(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
