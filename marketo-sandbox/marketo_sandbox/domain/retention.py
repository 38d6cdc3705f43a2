"""Activity retention: what Marketo still serves of its activity log.

Marketo prunes activities by age (docs/MARKETO.md section 9, Adobe's "Marketo Activities
Data Retention Policy"): Delete Lead after 14 days, twelve high-volume types after 90 days,
every other type after 25 months (37 with Adobe's extended retention option); the New Lead
activity is never pruned. Pruned rows are gone from REST reads (``activities.json``,
``leadchanges.json``, ``deletedleads.json``) and from bulk activity exports alike.

The sandbox keeps every row and hides the old ones at read time, against the sandbox
clock: moving ``clock_offset_seconds`` forward shows the pruning. ``activity_retention``
(on by default) switches it off for a test that needs old activities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.activity_types import ACTIVITY_TYPES
from marketo_sandbox.timestamps import STORE_FORMAT

if TYPE_CHECKING:
    from marketo_sandbox.config import SandboxConfig

DELETE_LEAD_DAYS = 14
HIGH_VOLUME_DAYS = 90
# The types Adobe names for 90 days, by their names in the activity type describe (the
# sandbox does not emulate every one of them: the Sync types need a CRM connection).
HIGH_VOLUME_NAMES = frozenset(
    {
        "Add to List",
        "Change Score",
        "Change Data Value",
        "Visit Webpage",
        "Click Link",
        "Sync Lead to SFDC",
        "Sync Lead to Microsoft",
        "Sync Lead Updates to SFDC",
        "Update Opportunity",
        "Request Campaign",
        "Email Delivered",
        "Send Email",
    }
)
HIGH_VOLUME_TYPES = tuple(sorted(t["id"] for t in ACTIVITY_TYPES if t["name"] in HIGH_VOLUME_NAMES))
# Adobe: the New Lead activity always stays in the activity log.
NEVER_PRUNED = (at.NEW_LEAD,)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when
    that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


@dataclass(frozen=True)
class Cutoffs:
    """The oldest activityDate Marketo still serves, per retention class (store format)."""

    delete_lead: str
    high_volume: str
    other: str

    def kept(self, type_id: int, activity_date: str) -> bool:
        return activity_date >= self.cutoff(type_id)

    def cutoff(self, type_id: int) -> str:
        if type_id in NEVER_PRUNED:
            return ""
        if type_id == at.DELETE_LEAD:
            return self.delete_lead
        if type_id in HIGH_VOLUME_TYPES:
            return self.high_volume
        return self.other

    def condition(self) -> tuple[str, list[Any]]:
        """An SQL condition on ``activities`` rows (``activityDate``, ``activityTypeId``)
        true for the rows still served, and its parameters."""
        high = ",".join(str(t) for t in HIGH_VOLUME_TYPES) or "NULL"
        never = ",".join(str(t) for t in NEVER_PRUNED)
        sql = (
            f"(activityTypeId IN ({never}) OR activityDate >= CASE "
            f"WHEN activityTypeId = {at.DELETE_LEAD} THEN ? "
            f"WHEN activityTypeId IN ({high}) THEN ? ELSE ? END)"
        )
        return sql, [self.delete_lead, self.high_volume, self.other]


def cutoffs(config: SandboxConfig, now: float) -> Cutoffs | None:
    """What the instance still serves at ``now`` (epoch seconds); None when retention is off."""
    if not config.activity_retention:
        return None
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC).replace(microsecond=0)
    return Cutoffs(
        delete_lead=(moment - dt.timedelta(days=DELETE_LEAD_DAYS)).strftime(STORE_FORMAT),
        high_volume=(moment - dt.timedelta(days=HIGH_VOLUME_DAYS)).strftime(STORE_FORMAT),
        other=months_before(moment, max(1, config.activity_retention_months)).strftime(
            STORE_FORMAT
        ),
    )


def kept_condition(config: SandboxConfig, now: float) -> tuple[str, list[Any]] | None:
    """:meth:`Cutoffs.condition` at ``now``; None when retention is off."""
    found = cutoffs(config, now)
    return None if found is None else found.condition()
