"""CRM objects, which Marketo can only read by key: companies, sales persons,
opportunities and opportunity roles, by REST.

These objects have no "list everything" read and no ``updatedAt`` filter (docs/MARKETO.md
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

from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import (
    ADD_TO_OPPORTUNITY,
    OPPORTUNITY_TYPES,
    REMOVE_FROM_OPPORTUNITY,
    FeedNeed,
    feed_position,
)
from tap_marketo_crm.run import COMPANY_KEY, SALES_PERSON_KEY
from tap_marketo_crm.state import state_time
from tap_marketo_crm.streams.base import MAX_KEYS, MarketoStream, chunked
from tap_marketo_crm.streams.leads import LEAD_KEY_FIELDS, lead_keys


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

    def finish(self, **extra: Any) -> None:
        self.commit_bookmark(self.run.now, **extra)


class CompaniesStream(ByKeyStream):
    name = "companies"
    primary_keys_default = ("id",)
    path = "/rest/v1/companies.json"
    # Read by the company keys seen on leads and opportunities this run.
    depends_on = ("leads", "opportunities")

    def harvested_lead_fields(self) -> tuple[str, ...]:
        return (COMPANY_KEY,)

    def sync_records(self) -> None:
        keys = lead_keys(self, COMPANY_KEY) | self.run.object_keys[COMPANY_KEY]
        writer = self.writer()
        for record in self.fetch(COMPANY_KEY, keys, SALES_PERSON_KEY):
            if record.get(SALES_PERSON_KEY):
                self.run.object_keys[SALES_PERSON_KEY].add(str(record[SALES_PERSON_KEY]))
            writer.write(record)
        self.log_written(writer, f" ({len(keys)} keys)")
        self.finish()


class SalespersonsStream(ByKeyStream):
    name = "salespersons"
    primary_keys_default = ("id",)
    path = "/rest/v1/salespersons.json"
    # Read by the sales person keys seen on leads, opportunities and companies this run.
    depends_on = ("leads", "opportunities", "companies")

    def harvested_lead_fields(self) -> tuple[str, ...]:
        return (SALES_PERSON_KEY,)

    def sync_records(self) -> None:
        keys = lead_keys(self, SALES_PERSON_KEY) | self.run.object_keys[SALES_PERSON_KEY]
        writer = self.writer()
        for record in self.fetch(SALES_PERSON_KEY, keys):
            writer.write(record)
        self.log_written(writer, f" ({len(keys)} keys)")
        self.finish()


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

    def finish(self, **extra: Any) -> None:
        super().finish(feed_since=state_time(self.run.now), **extra)


class OpportunitiesStream(_FeedDrivenStream):
    name = "opportunities"
    primary_keys_default = ("marketoGUID",)
    path = "/rest/v1/opportunities.json"
    # Opportunities are found only through the activities naming them: after a retention
    # gap, a re-read is what a first sync reads, which is not every opportunity.
    activates_on_restart = False

    def derived_activity_types(self) -> tuple[int, ...]:
        # Update Opportunity (90 days) says which ones changed.
        return OPPORTUNITY_TYPES

    def sync_records(self) -> None:
        keys = {k for k in (_opportunity_key(e) for e in self.events()) if k}
        writer = self.writer()
        found: set[str] = set()
        for record in self.fetch("externalOpportunityId", keys, COMPANY_KEY, SALES_PERSON_KEY):
            found.add(str(record.get("externalOpportunityId")))
            self._harvest(record)
            writer.write(record)
        # Activities may name the opportunity by its Marketo GUID instead.
        for record in self.fetch("marketoGUID", keys - found, COMPANY_KEY, SALES_PERSON_KEY):
            self._harvest(record)
            writer.write(record)
        self.log_written(writer, f" ({len(keys)} keys)")
        self.finish()

    def _harvest(self, record: Mapping[str, Any]) -> None:
        for name in LEAD_KEY_FIELDS:
            if record.get(name):
                self.run.object_keys[name].add(str(record[name]))


RoleKey = tuple[str, int, str]
LEAD_ID = "leadId"  # roles are searchable by it
ROLE_KEY_FIELDS = ("externalOpportunityId", "leadId", "role")


def _role_key(record: Mapping[str, Any]) -> RoleKey | None:
    """(externalOpportunityId, leadId, role) of a role record or compound-read item."""
    opportunity, lead, role = (record.get(f) for f in ROLE_KEY_FIELDS)
    if opportunity in (None, "") or lead in (None, "") or role in (None, ""):
        return None
    try:
        return (str(opportunity), int(lead), str(role))
    except (TypeError, ValueError):
        return None


class OpportunityRolesStream(_FeedDrivenStream):
    """Roles keyed by Marketo's dedupe key for them (opportunity, lead, role), which is
    also what target-marketo-crm upserts and deletes by. Remove from Opportunity
    activities carry that key, never the role's ``marketoGUID`` (kept as a column), so a
    removed role is emitted as the key plus ``_sdc_deleted_at``."""

    name = "opportunity_roles"
    primary_keys_default = ROLE_KEY_FIELDS
    path = "/rest/v1/opportunities/roles.json"
    # A role names its opportunity and its lead.
    depends_on = ("opportunities", "leads")

    @classmethod
    def schema_from_describe(cls, described: Mapping[str, Any]) -> dict[str, Any]:
        schema = super().schema_from_describe(described)
        schema["properties"][s.SDC_DELETED_AT] = s.DATETIME
        return schema

    def derived_activity_types(self) -> tuple[int, ...]:
        return (ADD_TO_OPPORTUNITY, REMOVE_FROM_OPPORTUNITY)

    def sync_records(self) -> None:
        writer = self.writer()
        if self.recovering:
            # After a retention gap: every role of every lead (the feed no longer names
            # them all), one call per 300 leads, sent with ACTIVATE_VERSION.
            lead_ids = lead_keys(self, "id")
            for record in self.fetch(LEAD_ID, lead_ids, *ROLE_KEY_FIELDS):
                writer.write(record)
            self.log_written(writer, f" ({len(lead_ids)} leads)")
            self.finish()
            return
        events = self.events()
        if feed_position(self) is None:
            # First sync: every role of every opportunity the feed names.
            keys = {k for k in (_opportunity_key(e) for e in events) if k}
            for record in self.fetch("externalOpportunityId", keys, *ROLE_KEY_FIELDS):
                writer.write(record)
        else:
            # Later: exactly the roles added or removed, re-read by their compound key;
            # the read says whether each still exists (a role removed and added again
            # within the window is live), a key it no longer finds is a delete dated by
            # the key's latest Remove from Opportunity activity.
            removed_at = self._role_changes(events)
            found: set[RoleKey] = set()
            for record in self._fetch_compound(sorted(removed_at)):
                key = _role_key(record)
                if key is not None:
                    found.add(key)
                writer.write(record)
            gone = sorted(set(removed_at) - found)
            if gone and s.SDC_DELETED_AT not in writer.columns:
                # A catalog from before roles carried deletes (or one deselecting the
                # column): a bare key record would read as a live role downstream.
                self.logger.warning(
                    "'%s': %d removed roles not emitted: `%s` is not in the catalog's "
                    "schema or not selected (re-run discovery)",
                    self.name,
                    len(gone),
                    s.SDC_DELETED_AT,
                )
                gone = []
            for key in gone:
                deleted = dict(zip(ROLE_KEY_FIELDS, key, strict=True))
                deleted[s.SDC_DELETED_AT] = removed_at[key] or self.run.now
                writer.write_partial(deleted)
        self.log_written(writer)
        self.finish()

    @staticmethod
    def _role_changes(events: Iterable[Mapping[str, Any]]) -> dict[RoleKey, str | None]:
        """Role keys named by Add to / Remove from Opportunity activities, each with the
        date of its latest removal (None: never removed in the window)."""
        changes: dict[RoleKey, str | None] = {}
        ordered = sorted(events, key=lambda e: (e.get("activityDate") or "", int(e.get("id") or 0)))
        for event in ordered:
            type_id = int(event.get("activityTypeId") or 0)
            if type_id not in (ADD_TO_OPPORTUNITY, REMOVE_FROM_OPPORTUNITY):
                continue
            key = _role_key(
                {
                    "externalOpportunityId": _opportunity_key(event),
                    "leadId": event.get("leadId"),
                    "role": (event.get("attributes") or {}).get("Role"),
                }
            )
            if key is None:
                continue
            if type_id == REMOVE_FROM_OPPORTUNITY:
                changes[key] = str(event.get("activityDate") or "") or None
            else:
                changes.setdefault(key, None)
        return changes

    def _fetch_compound(self, keys: list[RoleKey]) -> Iterator[dict[str, Any]]:
        """The roles of these keys that exist; keys that match nothing are left out (Marketo
        answers them as skipped items: ``seq`` and ``reasons``, no fields)."""
        fields = self.read_fields(*ROLE_KEY_FIELDS)
        inputs = [dict(zip(ROLE_KEY_FIELDS, key, strict=True)) for key in keys]
        for batch in chunked(inputs, MAX_KEYS):
            body = {"filterType": "dedupeFields", "fields": fields, "input": batch}
            for page in self.client.paginate(self.path, method="POST", json=body):
                for record in page.get("result") or []:
                    skipped = record.get("status") == "skipped" or record.get("reasons")
                    if not skipped and _role_key(record) is not None:
                        yield record
