"""Leads and their deletes, and the lead keys other streams are read by.

- ``leads``: bulk lead export in ``updatedAt`` windows (``createdAt`` where the
  subscription refuses updatedAt, 1035). Leads deleted (37) or merged away (32) since the
  last run, from the activity feed, are emitted with ``_sdc_deleted_at`` (merged ones with
  the winner's id in ``_sdc_merged_into_lead_id``).
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
    FeedNeed,
    feed_position,
    merge_losers,
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
    since the last run are emitted with ``_sdc_deleted_at`` (and the winner's id)."""

    name = "leads"
    primary_keys_default = ("id",)
    entity = "leads"
    created_at_fallback = True

    def __init__(self, tap: Any, schema: dict[str, Any], name: str | None = None) -> None:
        super().__init__(tap, schema, name=name)
        # Key fields harvested from rows for later streams (set per sync).
        self._keys: dict[str, set[str]] = {}

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
        super().sync_records()
        self.run.leads_synced = True

    def data_floor(self) -> dt.datetime | None:
        # createdAt and updatedAt alike: no living lead is older than the lowest id's.
        return self.run.lead_floor()

    def on_row(self, row: dict[str, Any]) -> None:
        for name, keys in self._keys.items():
            value = row.get(name)
            if value:
                keys.add(value)

    def feed_need(self) -> FeedNeed | None:
        since = feed_position(self)
        if since is None:
            return None
        return FeedNeed(since=since - self.lookback, type_ids=(MERGE_LEADS,), deletes=True)

    def derived_activity_types(self) -> tuple[int, ...]:
        # Deletes and merges flag leads: a gap loses them, a full re-export recovers.
        return (DELETE_LEAD, MERGE_LEADS)

    def after_windows(self, writer: RecordWriter) -> None:
        need = self.feed_need()
        if need is not None and self.run.stopped is None:
            feed = self.run.feed
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


# --- keys seen on leads ---------------------------------------------------------------


def lead_keys(stream: MarketoStream, field: str) -> set[str]:
    """Values of lead ``field`` on the leads this stream must consider this run.

    The leads stream harvests them from its own export when it ran and was asked to
    (``SyncRun.lead_keys`` holds only harvested fields); otherwise (leads not selected,
    or this stream's first sync needs every lead while leads is incremental) a key-only
    lead export covers the span.
    """
    run = stream.run
    first_sync = stream.bookmark() is None
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
                stream.logger.warning(
                    "'%s': lead keys read by createdAt (the updatedAt filter is refused, "
                    "1035): leads changed since but created before are not seen",
                    stream.name,
                )
                filter_field = "createdAt"
    return keys
