"""Activity retention: how far back Marketo still serves each activity type, and whether a
position kept in state has fallen behind it (a retention gap).

Marketo prunes its activity log by age (docs/MARKETO.md section 9, Adobe's "Marketo
Activities Data Retention Policy"): Delete Lead (and so ``deletedleads.json``) after 14
days, twelve high-volume types after 90 days, every other type after 25 months (37 with
Adobe's extended retention option: ``activity_retention_months``); New Lead is never
pruned. A stream whose position is older than that for a type it reads has missed events
nobody can read any more:

- streams whose records are DERIVED from activities (lead deletes and merges, list
  memberships, opportunity roles, program memberships, leads found by their change
  activities) can re-read their whole table instead (``on_retention_gap``);
- the activity streams themselves cannot: the pruned rows are gone.

:func:`gap` is the one check every such stream makes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from marketo_core.timeutil import format_marketo_datetime

# Standard activity type ids (docs/MARKETO.md section 8).
NEW_LEAD = 12
DELETE_LEAD = 37

DELETE_LEAD_DAYS = 14
HIGH_VOLUME_DAYS = 90
DEFAULT_MONTHS = 25  # Adobe's standard policy; 37 with the extended retention option

# The high-volume types Adobe prunes after 90 days: by id where the id is standard and
# documented, and by name (the activity type describe's) for every one of them.
HIGH_VOLUME_TYPE_IDS = frozenset({1, 3, 6, 7, 13, 22, 24, 36})
HIGH_VOLUME_TYPE_NAMES = frozenset(
    {
        "add to list",
        "change score",
        "change data value",
        "visit webpage",
        "click link",
        "click link on webpage",
        "sync lead to sfdc",
        "sync lead to microsoft",
        "sync lead updates to sfdc",
        "update opportunity",
        "request campaign",
        "email delivered",
        "send email",
    }
)

# What the tap does when a derived stream's position is behind retention.
RECOVER = "recover"
STOP = "stop"


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved back ``months`` calendar months (to the month's last day when the
    day does not exist there)."""
    total = moment.year * 12 + (moment.month - 1) - months
    year, month0 = divmod(total, 12)
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month0 + 1, day=day)
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class Retention:
    """Marketo's retention policy for one subscription."""

    months: int = DEFAULT_MONTHS

    def kept_since(self, type_id: int, now: dt.datetime, name: str | None = None) -> dt.datetime:
        """The oldest activityDate of type ``type_id`` Marketo still serves at ``now``
        (``dt.datetime.min`` aware when it never prunes the type)."""
        if type_id == NEW_LEAD:
            return dt.datetime.min.replace(tzinfo=dt.UTC)
        if type_id == DELETE_LEAD:
            return now - dt.timedelta(days=DELETE_LEAD_DAYS)
        if (
            type_id in HIGH_VOLUME_TYPE_IDS
            or (name or "").strip().lower() in HIGH_VOLUME_TYPE_NAMES
        ):
            return now - dt.timedelta(days=HIGH_VOLUME_DAYS)
        return months_before(now, self.months)


@dataclass(frozen=True)
class Gap:
    """A position older than what Marketo still serves of the types read from it: the
    events of ``lost_from``..``kept_since`` are gone."""

    position: dt.datetime
    kept_since: dt.datetime
    type_ids: tuple[int, ...]

    @property
    def lost(self) -> str:
        return (
            f"{format_marketo_datetime(self.position)} to "
            f"{format_marketo_datetime(self.kept_since)}"
        )


def gap(
    position: dt.datetime | None,
    type_ids: Iterable[int],
    now: dt.datetime,
    retention: Retention | None = None,
    names: dict[int, str] | None = None,
) -> Gap | None:
    """The retention gap of a stream reading ``type_ids`` from ``position`` at ``now``, or
    None when Marketo still serves every event since ``position`` (or there is none yet:
    a first sync reads what is there). ``names`` gives the types' describe names, so
    high-volume types without a standard id are known too."""
    if position is None:
        return None
    policy = retention or Retention()
    ids = tuple(sorted(set(type_ids)))
    if not ids:
        return None
    kept = max(policy.kept_since(t, now, (names or {}).get(t)) for t in ids)
    if position >= kept:
        return None
    short = tuple(t for t in ids if policy.kept_since(t, now, (names or {}).get(t)) > position)
    return Gap(position=position, kept_since=kept, type_ids=short)


def log_recovery(logger: logging.Logger, stream: str, found: Gap, activates: bool) -> None:
    """THE line of a recovery: why the stream re-reads its whole table."""
    how = (
        "read again whole and sent with ACTIVATE_VERSION, so loaders drop the rows that vanished"
        if activates
        else "read again as on a first sync (upserts only: Marketo has no complete listing "
        "of them, so no ACTIVATE_VERSION)"
    )
    logger.warning(
        "'%s': position %s is older than Marketo's activity retention (types %s kept "
        "since %s), so the events of %s are gone: the stream is %s (on_retention_gap="
        "recover)",
        stream,
        format_marketo_datetime(found.position),
        list(found.type_ids),
        format_marketo_datetime(found.kept_since),
        found.lost,
        how,
    )


def log_lost(logger: logging.Logger, stream: str, found: Gap) -> None:
    """THE line of an activity stream whose bookmark is behind retention: nothing can
    bring those rows back."""
    logger.warning(
        "'%s': activities of %s were pruned by Marketo before this run (its retention "
        "keeps them since %s): they are lost and cannot be synced; the stream reads on "
        "from its bookmark and gets what Marketo still has",
        stream,
        found.lost,
        format_marketo_datetime(found.kept_since),
    )
