"""Leads and their deletes, and the lead keys other streams are read by.

- ``leads``: bulk lead export in ``updatedAt`` windows. Where the subscription refuses
  updatedAt (1035), ``createdAt`` windows bring the new leads and the leads changed since
  the last run are found in the activity log and read by id (see ``lead_changes``).
  Leads deleted (37) or merged away (32) since the last run, from the activity feed, are
  emitted with ``_sdc_deleted_at`` (merged ones with the winner's id in
  ``_sdc_merged_into_lead_id``).
- ``deleted_leads``: Delete Lead activities from ``deletedleads.json``.
- :func:`lead_keys`: the values of a lead field (``externalCompanyId``...) on the leads
  a by-key stream must consider this run: harvested from the leads export when it ran,
  else read by a key-only lead export (docs/MARKETO.md section 8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from marketo_core.errors import MarketoAPIError

from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import (
    DELETE_LEAD,
    MERGE_LEADS,
    ActivityFeed,
    FeedNeed,
    feed_position,
    merge_losers,
)
from tap_marketo_crm.lead_changes import (
    LEAD_CHANGE_TYPES,
    changed_leads,
    check_change_retention,
    not_yet_read,
    read_calls,
    read_leads_by_id,
)
from tap_marketo_crm.pipeline import ExportUnit
from tap_marketo_crm.probe import first_sync_start
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.run import COMPANY_KEY, SALES_PERSON_KEY
from tap_marketo_crm.state import state_time
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.streams.exported import UNSUPPORTED_FILTER, WindowedExportStream
from tap_marketo_crm.windows import plan_windows

# Lead fields a key-only lead export always reads (companies and sales persons are
# fetched by them), so by-key streams at the same position share one export.
LEAD_KEY_FIELDS = (COMPANY_KEY, SALES_PERSON_KEY)


class LeadsStream(WindowedExportStream):
    """Leads by bulk export, plus delete capture: leads deleted (37) or merged away (32)
    since the last run are emitted with ``_sdc_deleted_at`` (and the winner's id).

    Exporting by ``createdAt`` (1035), the stream also reads by id the leads the activity
    log says changed since its feed position (``lead_changes``), so an update to an
    existing lead reaches the next incremental run.
    """

    name = "leads"
    primary_keys_default = ("id",)
    entity = "leads"
    created_at_fallback = True

    def __init__(self, tap: Any, schema: dict[str, Any], name: str | None = None) -> None:
        super().__init__(tap, schema, name=name)
        # Key fields harvested from rows for later streams (set per sync).
        self._keys: dict[str, set[str]] = {}
        # id -> updatedAt of the leads this run's createdAt export wrote, on a run that
        # reads changes from the activity log: those it already holds are not re-read.
        self._exported_at: dict[int, str] | None = None

    @classmethod
    def schema_from_describe(cls, describe: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        properties = s.lead_fields_schema(describe)
        properties["id"] = {"type": ["integer"]}
        properties[s.SDC_DELETED_AT] = s.DATETIME
        properties[s.SDC_MERGED_INTO] = s.INTEGER
        return s.object_schema(properties)

    def extra_fields(self) -> list[str]:
        """Lead fields later streams of this run read by, harvested from this export:
        companies and sales persons are fetched by the keys seen on leads, and so are
        custom objects read by their linked keys (see ``custom_objects``)."""
        extras: list[str] = []
        for stream in self.tap.streams.values():
            if isinstance(stream, MarketoStream) and stream.selected:
                extras += [f for f in stream.harvested_lead_fields() if f not in extras]
        # Company then sales person keys first, whichever stream asked (a stable order
        # keeps the export's fields, and so a resumed job's, the same run after run).
        extras.sort(key=lambda f: LEAD_KEY_FIELDS.index(f) if f in LEAD_KEY_FIELDS else 2)
        return extras

    def sync_records(self) -> None:
        self._keys = {
            name: self.run.lead_keys.setdefault(name, set()) for name in self.extra_fields()
        }
        # A first sync exports every lead: the companies' and sales persons' full pass.
        self.run.leads_full_pass = self.bookmark() is None
        position = feed_position(self)
        if position is None:
            # Changes and deletes count from when the first pass starts: a pass spread
            # over several runs must still see what changed in the windows read first.
            self.stream_state["feed_since"] = state_time(self.run.now)
        elif self.reads_changes and position < self.run.now:
            self._exported_at = {}
        super().sync_records()
        self._exported_at = None
        self.run.leads_synced = True

    @property
    def reads_changes(self) -> bool:
        """Whether updates to existing leads come from the activity log: the export
        selects by createdAt, which never finds them (the subscription refuses updatedAt,
        1035)."""
        return self.filter_field == "createdAt"

    def data_floor(self) -> dt.datetime | None:
        # createdAt and updatedAt alike: no living lead is older than the lowest id's.
        return self.run.lead_floor()

    def on_row(self, row: dict[str, Any]) -> None:
        self._harvest(row)
        if self._exported_at is not None:
            lead_id, updated = row.get("id"), row.get("updatedAt")
            if lead_id and updated:
                self._exported_at[int(lead_id)] = s.to_datetime(updated)

    def _harvest(self, row: Mapping[str, Any]) -> None:
        for name, keys in self._keys.items():
            value = row.get(name)
            if value:
                # Text, as bulk files give it (REST answers give numbers as numbers).
                keys.add(str(value))

    def feed_need(self) -> FeedNeed | None:
        since = feed_position(self)
        if since is None or since >= self.run.now:
            return None  # a first pass that started this run: nothing happened since
        types = (MERGE_LEADS, *LEAD_CHANGE_TYPES) if self.reads_changes else (MERGE_LEADS,)
        return FeedNeed(
            since=since - self.lookback, type_ids=tuple(dict.fromkeys(types)), deletes=True
        )

    def derived_activity_types(self) -> tuple[int, ...]:
        # Deletes and merges flag leads: a gap loses them, a full re-export recovers.
        # Where updates come from the change activities (1035), those bound it too:
        # Marketo keeps them 90 days (docs/MARKETO.md section 9).
        if self.reads_changes:
            return tuple(dict.fromkeys((DELETE_LEAD, MERGE_LEADS, *LEAD_CHANGE_TYPES)))
        return (DELETE_LEAD, MERGE_LEADS)

    def after_windows(self, writer: RecordWriter) -> None:
        need = self.feed_need()
        if need is not None and self.run.stopped is None:
            feed = self.run.feed
            if self.reads_changes:
                self.read_changed_leads(need.since)
            deleted = 0
            for event in feed.deletes(need.since):
                if event.get("leadId") is not None:
                    writer.write_partial(
                        {"id": event["leadId"], s.SDC_DELETED_AT: event.get("activityDate")}
                    )
                    deleted += 1
            for event in feed.events((MERGE_LEADS,), need.since):
                for loser in merge_losers(event):
                    writer.write_partial(
                        {
                            "id": loser,
                            s.SDC_DELETED_AT: event.get("activityDate"),
                            s.SDC_MERGED_INTO: event.get("leadId"),
                        }
                    )
                    deleted += 1
            self.logger.info("'leads': %d deleted or merged leads flagged", deleted)
        # A first sync's export holds only living leads: deletes start from now.
        self.commit_bookmark(None, feed_since=state_time(self.run.now))

    def read_changed_leads(self, since: dt.datetime) -> None:
        """Write the current values of the leads changed at or after ``since`` that this
        run's createdAt export did not already hold, read by id (see ``lead_changes``)."""
        check_change_retention(self, since)
        feed = self.run.feed
        changed = changed_leads(feed, since)
        wanted = not_yet_read(changed, self._exported_at or {})
        fields = self._exported_fields()
        rest = RecordWriter(self, text_input=False)
        returned: set[int] = set()
        for record in read_leads_by_id(self.client, wanted, fields):
            returned.add(int(record["id"]))
            self._harvest(record)
            rest.write(record)
        gone = set(wanted) - returned - _removed_leads(feed, since)
        if gone:
            # Not deleted, not merged away, yet not returned: outside what the API user's
            # role may read (workspaces / lead partitions, docs/MARKETO.md section 9).
            self.logger.warning(
                "'leads': %d changed leads were not returned by the read by id (not deleted "
                "or merged): the API user cannot see them, so their changes are NOT in this "
                "sync (first ids: %s). Give the API role access to every lead partition.",
                len(gone),
                ", ".join(str(i) for i in sorted(gone)[:10]),
            )
        self.log_written(
            rest,
            f" (leads changed since {state_time(since)}, from the activity log: "
            f"{len(changed)} changed, {len(wanted)} read by id in {read_calls(len(wanted))} "
            "calls)",
        )

    def report_created_at(self) -> None:
        self.logger.info(
            "'leads': this Marketo subscription does not support the bulk updatedAt filter "
            "(1035); new leads are exported by createdAt, and leads changed since the last "
            "run are found in the activity log (types %s) and read by id.",
            ", ".join(str(t) for t in LEAD_CHANGE_TYPES),
        )


class DeletedLeadsStream(MarketoStream):
    """Delete Lead activities (37) from ``deletedleads.json``; Marketo keeps them ~14 days,
    so a sync paused longer loses deletes."""

    name = "deleted_leads"
    primary_keys_default = ("marketoGUID",)
    replication_key_default = "activityDate"
    # Deletes of leads come after the leads they delete.
    depends_on = ("leads",)

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "id": s.INTEGER,
                "marketoGUID": {"type": ["string"]},
                "leadId": s.INTEGER,
                "activityDate": {"type": ["string"], "format": "date-time"},
                "activityTypeId": s.INTEGER,
                "campaignId": s.INTEGER,
                "primaryAttributeValueId": s.INTEGER,
                "primaryAttributeValue": s.STRING,
                "attributes": s.OBJECT,
            }
        )

    def logged_activity_types(self) -> tuple[int, ...]:
        return (DELETE_LEAD,)

    def feed_need(self) -> FeedNeed | None:
        since = self.bookmark()
        since = since - self.lookback if since else self.start_date
        return FeedNeed(since=max(since, self.start_date), deletes=True)

    def sync_records(self) -> None:
        need = self.feed_need()
        assert need is not None
        writer = self.writer()
        for event in self.run.feed.deletes(need.since):
            record = dict(event)
            record["attributes"] = s.to_object(event.get("attributes") or []) or {}
            writer.write(record)
        self.log_written(writer)
        self.commit_bookmark(self.run.now)


def _removed_leads(feed: ActivityFeed, since: dt.datetime) -> set[int]:
    """Leads deleted or merged away at or after ``since``."""
    removed = {int(e["leadId"]) for e in feed.deletes(since) if e.get("leadId") is not None}
    for event in feed.events((MERGE_LEADS,), since):
        removed.update(merge_losers(event))
    return removed


# --- keys seen on leads ---------------------------------------------------------------


def lead_keys(stream: MarketoStream, field: str, *, whole: bool = False) -> set[str]:
    """Values of lead ``field`` on the leads this stream must consider this run: those
    changed since its bookmark, or every lead's on its first sync or when ``whole``.

    The leads stream harvests them from its own export when it ran and was asked to
    (``SyncRun.lead_keys`` holds only harvested fields); otherwise (leads not selected,
    or this stream needs every lead while leads is incremental) a key-only lead export
    covers the span.
    """
    run = stream.run
    first_sync = whole or stream.bookmark() is None
    if field in run.lead_keys and run.leads_synced and (run.leads_full_pass or not first_sync):
        return set(run.lead_keys[field])
    since = None if first_sync else stream.bookmark()
    exported = run.key_exports.setdefault(since, {})
    if field not in exported:
        wanted = [f for f in (*LEAD_KEY_FIELDS, field) if f not in exported]
        exported.update(_key_export(stream, since, list(dict.fromkeys(wanted))))
    return set(exported[field])


def _key_export(
    stream: MarketoStream, since: dt.datetime | None, names: list[str]
) -> dict[str, set[str]]:
    """Values of the lead fields ``names`` on every lead updated since ``since`` (all
    leads when None); not kept in state: it only feeds this run's by-key reads."""
    leads = stream.tap.streams.get("leads")
    filter_field = "updatedAt"
    if leads is not None:
        filter_field = str(leads.stream_state.get("filter_field") or "updatedAt")
    if since is None:
        floor = stream.run.lead_floor() if stream.probing else None
        start = first_sync_start(stream.start_date, floor)
    else:
        start = max(since - stream.lookback, stream.start_date)
    keys: dict[str, set[str]] = {name: set() for name in names}
    pipeline = stream.export_pipeline("leads")
    fields = list(dict.fromkeys(["id", *names]))
    windows = plan_windows(start, stream.run.now, stream.max_export_days)
    stream.logger.info("'%s': reading lead keys in %d export windows", stream.name, len(windows))
    for window in windows:
        while True:
            unit = ExportUnit(
                body={
                    "fields": fields,
                    "format": "CSV",
                    "filter": {filter_field: window.as_filter()},
                },
                meta={},
                label=f"lead keys {filter_field} {window}",
            )
            try:
                for row in pipeline.rows(unit):
                    for name in names:
                        if row.get(name):
                            keys[name].add(str(row[name]))
                break
            except MarketoAPIError as exc:
                if exc.code != UNSUPPORTED_FILTER or filter_field != "updatedAt":
                    raise
                # The subscription has no bulk updatedAt filter (see the leads stream).
                stream.logger.info(
                    "'%s': lead keys read by createdAt (the updatedAt filter is refused, "
                    "1035); leads changed since are found in the activity log",
                    stream.name,
                )
                filter_field = "createdAt"
    if filter_field == "createdAt" and since is not None:
        _changed_lead_keys(stream, start, keys)
    return keys


def _changed_lead_keys(
    stream: MarketoStream, start: dt.datetime, keys: dict[str, set[str]]
) -> None:
    """Add the key values of leads created before ``start`` but changed since (found in
    the activity log, read by id): a createdAt export does not see them."""
    check_change_retention(stream, start)
    changed = changed_leads(stream.run.feed, start)
    fields = list(dict.fromkeys(["id", *keys]))
    for record in read_leads_by_id(stream.client, sorted(changed), fields):
        for name, values in keys.items():
            if record.get(name):
                values.add(str(record[name]))
    stream.logger.info(
        "'%s': lead keys of %d leads changed since %s read by id in %d calls",
        stream.name,
        len(changed),
        state_time(start),
        read_calls(len(changed)),
    )
