"""Static lists (full REST read; a list gone since the last run is emitted with
``_sdc_deleted_at``, see ``deletes``) and list membership (REST reads on a first sync, then
Add to / Remove from List activities from the activity feed).

A first sync reads every list's members (300 per call per list). After that, membership
changes come from Add to List (24) / Remove from List (25) activities in the activity
feed, with no further calls: the latest event per (list, lead) wins, and a removal is
emitted with ``_sdc_deleted_at``. ``createdAt`` of a membership is the date of the Add
to List activity that made it (null when Marketo no longer keeps that activity).
"""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import (
    ADD_TO_LIST,
    LIST_TYPES,
    REMOVE_FROM_LIST,
    FeedNeed,
    feed_position,
)
from tap_marketo_crm.state import state_time
from tap_marketo_crm.streams.base import MAX_KEYS, MarketoStream


class StaticListsStream(MarketoStream):
    name = "static_lists"
    primary_keys_default = ("id",)
    replication_key_default = "updatedAt"
    path = "/rest/v1/lists.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "id": {"type": ["integer"]},
                "name": s.STRING,
                "description": s.STRING,
                "programName": s.STRING,
                "workspaceName": s.STRING,
                "createdAt": s.DATETIME,
                "updatedAt": s.DATETIME,
                s.SDC_DELETED_AT: s.DATETIME,
            }
        )

    def sync_records(self) -> None:
        self.run.list_ids = self.write_updated_since(self.path)


class ListMembershipsStream(MarketoStream):
    name = "list_memberships"
    primary_keys_default = ("listId", "leadId")
    # A membership names its list and its lead; a first sync reuses the list ids the
    # static_lists stream read.
    depends_on = ("static_lists", "leads")

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "listId": {"type": ["integer"]},
                "leadId": {"type": ["integer"]},
                "createdAt": s.DATETIME,
                s.SDC_DELETED_AT: s.DATETIME,
            }
        )

    def feed_need(self) -> FeedNeed | None:
        since = feed_position(self)
        if since is None:
            # First sync: membership comes from the lists; Add to List dates since
            # start_date give createdAt.
            return FeedNeed(since=self.start_date, type_ids=(ADD_TO_LIST,))
        return FeedNeed(since=max(since - self.lookback, self.start_date), type_ids=LIST_TYPES)

    def derived_activity_types(self) -> tuple[int, ...]:
        return LIST_TYPES

    def sync_records(self) -> None:
        need = self.feed_need()
        assert need is not None
        first_sync = feed_position(self) is None
        events = self.run.feed.events(need.type_ids, need.since)
        # (listId, leadId) -> (latest event type, its date, date of the latest add)
        latest: dict[tuple[int, int], tuple[int, str]] = {}
        added: dict[tuple[int, int], str] = {}
        for event in events:
            list_id, lead_id = event.get("primaryAttributeValueId"), event.get("leadId")
            if list_id is None or lead_id is None:
                continue
            key = (int(list_id), int(lead_id))
            type_id = int(event["activityTypeId"])
            latest[key] = (type_id, str(event.get("activityDate") or ""))
            if type_id == ADD_TO_LIST:
                added[key] = str(event.get("activityDate") or "")
        writer = self.writer()
        if first_sync:
            for list_id in self._list_ids():
                for lead in self.client.iter_results(
                    f"/rest/v1/lists/{list_id}/leads.json", {"fields": "id", "batchSize": MAX_KEYS}
                ):
                    key = (list_id, int(lead["id"]))
                    writer.write({"listId": key[0], "leadId": key[1], "createdAt": added.get(key)})
        else:
            for key, (type_id, when) in sorted(latest.items()):
                if type_id == REMOVE_FROM_LIST:
                    writer.write_partial(
                        {"listId": key[0], "leadId": key[1], s.SDC_DELETED_AT: when}
                    )
                else:
                    writer.write({"listId": key[0], "leadId": key[1], "createdAt": added.get(key)})
        self.log_written(writer)
        self.commit_bookmark(None, feed_since=state_time(self.run.now))

    def _list_ids(self) -> list[int]:
        ids = self.run.list_ids
        if ids is None:
            ids = [
                int(i["id"])
                for i in self.client.iter_results("/rest/v1/lists.json", {"batchSize": MAX_KEYS})
            ]
        return list(ids)
