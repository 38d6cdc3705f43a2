"""Streams Marketo can only read by key: companies, sales persons, opportunities, roles.

These objects have no "list everything" read and no ``updatedAt`` filter (MARKETO_API.md
section 4). Keys come from elsewhere, as Adobe's CRM-sync architecture prescribes:

- companies / sales persons: the ``externalCompanyId`` / ``externalSalesPersonId``
  values on leads exported this run (all leads on a first sync), on opportunities and
  (for sales persons) on companies fetched this run;
- opportunities / roles: Add to / Remove from / Update Opportunity activities from the
  activity feed (from ``start_date`` on a first sync).

Reads go 300 keys per call. Limitation (Marketo's): a company or sales person changed
without any lead, opportunity or company pointing at it changing is not seen until one
does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from marketo_core.errors import MarketoAPIError

from tap_marketo_crm import schemas as s
from tap_marketo_crm.client import MarketoStream, chunked
from tap_marketo_crm.exports import Window, plan_windows
from tap_marketo_crm.streams.activity_feed import (
    ADD_TO_OPPORTUNITY,
    OPPORTUNITY_TYPES,
    REMOVE_FROM_OPPORTUNITY,
    FeedNeed,
    feed_position,
)

MAX_KEYS = 300
UNSUPPORTED_FILTER = "1035"  # the subscription has no bulk `updatedAt` filter
LEAD_KEY_FIELDS = ("externalCompanyId", "externalSalesPersonId")


class ByKeyStream(MarketoStream):
    """Reads ``path`` by ``filterType`` in batches of 300 keys."""

    path: str = ""
    replication_key_default = "updatedAt"

    @classmethod
    def schema_from_describe(cls, described: Mapping[str, Any]) -> dict[str, Any]:
        properties = s.fields_schema(described.get("fields") or [])
        for key in cls.primary_keys_default:
            if key in properties:
                properties[key] = {"type": [t for t in properties[key]["type"] if t != "null"]}
        return s.object_schema(properties)

    def read_fields(self, *also: str) -> list[str]:
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        return fields + [f for f in also if f not in fields]

    def fetch(self, filter_type: str, keys: Iterable[Any], *also: str) -> Iterator[dict[str, Any]]:
        fields = self.read_fields(*also)
        for batch in chunked(sorted({str(k) for k in keys if k not in (None, "")}), MAX_KEYS):
            yield from self.client.iter_results(
                self.path,
                {
                    "filterType": filter_type,
                    "filterValues": batch,
                    "fields": fields,
                    "batchSize": MAX_KEYS,
                },
            )

    def finish(self, written: int, **extra: Any) -> None:
        self.commit_bookmark(self.run.now, **extra)


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
    cache_key = f"lead_keys:{since}"
    cached: dict[str, set[str]] = run.cache.setdefault(cache_key, {})
    if field not in cached:
        wanted = [f for f in (*LEAD_KEY_FIELDS, field) if f not in cached]
        cached.update(_key_export(stream, since, list(dict.fromkeys(wanted))))
    return set(cached[field])


def _key_export(
    stream: MarketoStream, since: dt.datetime | None, names: list[str]
) -> dict[str, set[str]]:
    """Values of the lead fields ``names`` on every lead updated since ``since`` (all
    leads when None); not kept in state: it only feeds this run's by-key reads."""
    leads = stream.tap.streams.get("leads")
    filter_field = "updatedAt"
    if leads is not None:
        filter_field = str(leads.stream_state.get("filter_field") or "updatedAt")
    start = stream.start_date if since is None else max(since - stream.lookback, stream.start_date)
    keys: dict[str, set[str]] = {name: set() for name in names}
    runner = stream.export_runner("leads")
    fields = list(dict.fromkeys(["id", *names]))
    windows: list[Window] = plan_windows(start, stream.run.now, stream.max_export_days)
    stream.logger.info("'%s': reading lead keys in %d export windows", stream.name, len(windows))
    for window in windows:
        while True:
            body = {"fields": fields, "format": "CSV", "filter": {filter_field: window.as_filter()}}
            try:
                for row in runner.rows(
                    body,
                    meta={},
                    saved=None,
                    save=lambda _job: None,
                    label=f"lead keys {filter_field} {window}",
                ):
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


class CompaniesStream(ByKeyStream):
    name = "companies"
    primary_keys_default = ("id",)
    path = "/rest/v1/companies.json"

    def sync_records(self) -> None:
        keys = lead_keys(self, "externalCompanyId") | self.run.object_keys["externalCompanyId"]
        writer = self.writer()
        for record in self.fetch("externalCompanyId", keys, "externalSalesPersonId"):
            if record.get("externalSalesPersonId"):
                self.run.object_keys["externalSalesPersonId"].add(
                    str(record["externalSalesPersonId"])
                )
            writer.write(record)
        self.log_written(writer, f" ({len(keys)} keys)")
        self.finish(writer.count)


class SalespersonsStream(ByKeyStream):
    name = "salespersons"
    primary_keys_default = ("id",)
    path = "/rest/v1/salespersons.json"

    def sync_records(self) -> None:
        keys = (
            lead_keys(self, "externalSalesPersonId") | self.run.object_keys["externalSalesPersonId"]
        )
        self.log_written(self._write(keys), f" ({len(keys)} keys)")
        self.finish(0)

    def _write(self, keys: set[str]) -> Any:
        writer = self.writer()
        for record in self.fetch("externalSalesPersonId", keys):
            writer.write(record)
        return writer


# --- opportunities and roles from the activity feed ---------------------------------


def _opportunity_key(event: Mapping[str, Any]) -> str | None:
    attributes = event.get("attributes") or {}
    for name in ("External Opportunity ID", "Opportunity ID", "externalOpportunityId"):
        value = attributes.get(name)
        if value not in (None, ""):
            return str(value)
    return None


class _FeedDrivenStream(ByKeyStream):
    """Keys from Add to / Remove from / Update Opportunity activities."""

    def feed_need(self) -> FeedNeed | None:
        return FeedNeed(since=self.feed_since(), type_ids=OPPORTUNITY_TYPES)

    def feed_since(self) -> dt.datetime:
        since = feed_position(self)
        if since is None:
            return self.start_date
        return max(since - self.lookback, self.start_date)

    def events(self) -> list[dict[str, Any]]:
        return self.run.feed.events(OPPORTUNITY_TYPES, self.feed_since())

    def finish(self, written: int, **extra: Any) -> None:
        super().finish(written, feed_since=self.run.now.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra)


class OpportunitiesStream(_FeedDrivenStream):
    name = "opportunities"
    primary_keys_default = ("marketoGUID",)
    path = "/rest/v1/opportunities.json"

    def sync_records(self) -> None:
        keys = {k for k in (_opportunity_key(e) for e in self.events()) if k}
        writer = self.writer()
        found: set[str] = set()
        for record in self.fetch(
            "externalOpportunityId", keys, "externalCompanyId", "externalSalesPersonId"
        ):
            found.add(str(record.get("externalOpportunityId")))
            self._harvest(record)
            writer.write(record)
        # Activities may name the opportunity by its Marketo GUID instead.
        for record in self.fetch(
            "marketoGUID", keys - found, "externalCompanyId", "externalSalesPersonId"
        ):
            self._harvest(record)
            writer.write(record)
        self.run.cache["opportunity_keys"] = found
        self.log_written(writer, f" ({len(keys)} keys)")
        self.finish(writer.count)

    def _harvest(self, record: Mapping[str, Any]) -> None:
        for name in LEAD_KEY_FIELDS:
            if record.get(name):
                self.run.object_keys[name].add(str(record[name]))


class OpportunityRolesStream(_FeedDrivenStream):
    name = "opportunity_roles"
    primary_keys_default = ("marketoGUID",)
    path = "/rest/v1/opportunities/roles.json"

    def sync_records(self) -> None:
        events = self.events()
        writer = self.writer()
        if feed_position(self) is None:
            # First sync: every role of every opportunity the feed names.
            keys = {k for k in (_opportunity_key(e) for e in events) if k}
            for record in self.fetch("externalOpportunityId", keys):
                writer.write(record)
        else:
            # Later: exactly the roles added or removed, by their compound dedupe key.
            compound = {}
            for event in events:
                if int(event.get("activityTypeId") or 0) not in (
                    ADD_TO_OPPORTUNITY,
                    REMOVE_FROM_OPPORTUNITY,
                ):
                    continue
                opportunity = _opportunity_key(event)
                role = (event.get("attributes") or {}).get("Role")
                if opportunity and role and event.get("leadId") is not None:
                    key = (opportunity, int(event["leadId"]), str(role))
                    compound[key] = {
                        "externalOpportunityId": key[0],
                        "leadId": key[1],
                        "role": key[2],
                    }
            for record in self._fetch_compound(list(compound.values())):
                writer.write(record)
        self.log_written(writer)
        self.finish(writer.count)

    def _fetch_compound(self, inputs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        fields = self.read_fields()
        for batch in chunked(inputs, MAX_KEYS):
            body = {"filterType": "dedupeFields", "fields": fields, "input": batch}
            for page in self.client.paginate(self.path, method="POST", json=body):
                for record in page.get("result") or []:
                    # Keys that match nothing come back as skipped items (no marketoGUID).
                    if record.get("marketoGUID"):
                        yield record
