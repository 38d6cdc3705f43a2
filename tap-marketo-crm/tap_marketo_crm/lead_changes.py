"""Leads changed since a position, found in the activity log and read back by id.

Where a subscription refuses the bulk lead ``updatedAt`` filter (1035), the lead export
can only select by ``createdAt``: it finds new leads, never a change to an existing one.
Marketo logs every change of a lead's values as an activity on the lead (docs/MARKETO.md
sections 4 and 8): Change Data Value (13) per changed field, Change Score (22) for the
score fields, Merge Leads (32) on a winner that took values from the losers. The ids on
those activities since the stream's feed position are read with
``GET /rest/v1/leads.json?filterType=id`` (300 ids per call, the selected fields; the
client sends a read past Marketo's 8 KB URI limit as ``POST`` with ``_method=GET``).

Cost per run: the activity feed's pages for those types (300 activities per call, shared
with the other feed consumers at the same position) plus ``ceil(N / 300)`` lead reads for
N changed leads (:func:`read_calls`).

Marketo prunes Change Data Value and Change Score after 90 days (section 9): a position
older than that cannot see every change (see :data:`CHANGE_RETENTION`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from marketo_core.timeutil import format_marketo_datetime

from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import CHANGE_DATA_VALUE, CHANGE_SCORE, MERGE_LEADS
from tap_marketo_crm.streams.base import MAX_KEYS, chunked

if TYPE_CHECKING:
    from marketo_core import MarketoClient

    from tap_marketo_crm.activity_feed import ActivityFeed
    from tap_marketo_crm.streams.base import MarketoStream

# The activity types Marketo logs when an existing lead's values change.
LEAD_CHANGE_TYPES = (CHANGE_DATA_VALUE, CHANGE_SCORE, MERGE_LEADS)

# How long Marketo keeps the change types above (Adobe's 90-day pruning list).
CHANGE_RETENTION = dt.timedelta(days=90)

LEADS_PATH = "/rest/v1/leads.json"


def changed_leads(feed: ActivityFeed, since: dt.datetime) -> dict[int, str]:
    """Lead id -> date of its last change activity, for leads changed at or after
    ``since`` (Marketo moves a merged-away lead's activities to the winner)."""
    changed: dict[int, str] = {}
    for event in feed.events(LEAD_CHANGE_TYPES, since):
        lead_id = event.get("leadId")
        if lead_id is None:
            continue
        date = s.to_datetime(event.get("activityDate") or "") or ""
        key = int(lead_id)
        if date > changed.get(key, ""):
            changed[key] = date
    return changed


def check_change_retention(stream: MarketoStream, since: dt.datetime) -> None:
    """Changes before ``now - CHANGE_RETENTION`` may already be pruned from the log.

    The run-start retention check (``SyncRun.check_retention``, through
    ``LeadsStream.derived_activity_types``) recovers or stops a stream whose state
    already reads changes; this is for the run that meets its first 1035 with an old
    bookmark, which that check could not foresee: the gap is reported, loudly."""
    oldest_kept = stream.run.now - CHANGE_RETENTION
    if since < oldest_kept:
        stream.logger.warning(
            "'%s': reading lead changes since %s, but Marketo keeps lead change activities "
            "for 90 days (since %s): updates to existing leads made before then may be "
            "MISSED. Reset the 'leads' state to re-read every lead.",
            stream.name,
            format_marketo_datetime(since),
            format_marketo_datetime(oldest_kept),
        )


def not_yet_read(changed: Mapping[int, str], exported: Mapping[int, str]) -> list[int]:
    """The changed leads a read by id must fetch: all but those this run's export already
    holds with an ``updatedAt`` LATER than their last change (one-second timestamps: a
    change in the same second as the exported value may have come after the file)."""
    return sorted(i for i, date in changed.items() if not exported.get(i, "") > date)


def read_leads_by_id(
    client: MarketoClient, ids: Iterable[int], fields: list[str]
) -> Iterator[dict[str, Any]]:
    """The current values of ``fields`` on the leads ``ids`` (those that still exist and
    the API user may see), 300 ids per call."""
    for batch in chunked(ids, MAX_KEYS):
        for record in client.iter_results(
            LEADS_PATH,
            {"filterType": "id", "filterValues": batch, "fields": fields, "batchSize": MAX_KEYS},
        ):
            yield as_exported(record)


def as_exported(record: Mapping[str, Any]) -> dict[str, Any]:
    """A REST lead shaped as the bulk file gives it: an empty string is ``null`` there
    (docs/MARKETO.md section 5), so it is null here too."""
    return {k: (None if v == "" else v) for k, v in record.items()}


def read_calls(changed: int) -> int:
    """Lead reads by id for ``changed`` leads (the documented per-run cost)."""
    return -(-changed // MAX_KEYS)
