"""Programs (asset API browse) and program membership (bulk program member export or
REST reads, driven by program activities from the activity feed).

Program membership has no change feed of its own. A first sync reads every program's
members: by bulk program-member export (10 programs per job: about 4 calls per 10
programs whatever their size) or, for 4 programs or fewer, by REST (one call per 300
members of each program), whichever costs fewer calls. After that, only memberships
named by program activities since the last run are read again (Change Status in
Progression, Add to Nurture, nurture track/cadence changes, Push Lead), by lead id, 300
per call per program: a quiet run costs nothing beyond the shared activity feed. A
membership such an activity named that no longer exists (e.g. set to "Not in Program")
is emitted with ``_sdc_deleted_at``.

Marketo logs no program activity when members are deleted through the API, or their
program or their lead is deleted (docs/MARKETO.md section 4), so every
``membership_rescan_interval_days`` the stream reads every membership again, as a first
sync does, as a new table version ended by ACTIVATE_VERSION: a loader that honours it
drops the memberships that read did not find. The change-only runs in between carry the
version of the last whole read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tap_marketo_crm import deletes, sdk_seam
from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import PROGRAM_TYPES, FeedNeed, feed_position
from tap_marketo_crm.pipeline import ExportUnit, JobSlots
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.state import state_time
from tap_marketo_crm.streams.base import MAX_KEYS, MarketoStream, chunked

# Bulk member export beats REST from this many programs on (about 4 calls per job of up
# to 10 programs, against at least one REST call per program).
BULK_MEMBERS_FROM = 5
PROGRAMS_PER_EXPORT = 10  # Marketo's limit on programIds in one member export


class ProgramsStream(MarketoStream):
    """Programs by asset browse; incremental by ``earliestUpdatedAt``/``latestUpdatedAt``.

    Marketo logs no program deletes: at most once per ``delete_scan_interval_hours`` the
    stream browses every program instead, writes those changed since the bookmark, and
    emits each program gone since the last scan with ``_sdc_deleted_at`` (``deletes``)."""

    name = "programs"
    primary_keys_default = ("id",)
    replication_key_default = "updatedAt"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            s.asset_properties(
                type=s.STRING,
                channel=s.STRING,
                folder=s.FOLDER_REF,
                status=s.STRING,
                headStart=s.BOOLEAN,
                **{s.SDC_DELETED_AT: s.DATETIME},
            )
        )

    def sync_records(self) -> None:
        ids = deletes.browse_capturing_deletes(self, "/rest/asset/v1/programs.json", "programs")
        if ids is not None:
            # A first sync of program_memberships reuses them.
            self.run.program_ids = sorted(ids)


def all_program_ids(stream: MarketoStream) -> list[int]:
    """Every program id: from the programs stream's full read this run, else read here."""
    ids = stream.run.program_ids
    if ids is None:
        ids = [
            int(p["id"]) for p in stream.client.browse_assets("/rest/asset/v1/programs.json", {})
        ]
        stream.run.program_ids = ids
    return list(ids)


class ProgramMembershipsStream(MarketoStream):
    name = "program_memberships"
    primary_keys_default = ("programId", "leadId")
    replication_key_default = "updatedAt"
    # A membership names its program and its lead; a first sync reuses the program ids
    # the programs stream read.
    depends_on = ("programs", "leads")

    @classmethod
    def schema_from_describe(cls, described: Mapping[str, Any]) -> dict[str, Any]:
        properties = s.fields_schema(described.get("fields") or [])
        properties["programId"] = {"type": ["integer"]}
        properties["leadId"] = {"type": ["integer"]}
        properties[s.SDC_DELETED_AT] = s.DATETIME
        return s.object_schema(properties)

    def feed_need(self) -> FeedNeed | None:
        since = feed_position(self)
        if since is None or self._rescan_due():
            return None  # a first sync (or a re-read) reads every membership
        return FeedNeed(since=max(since - self.lookback, self.start_date), type_ids=PROGRAM_TYPES)

    def derived_activity_types(self) -> tuple[int, ...]:
        return PROGRAM_TYPES

    def _rescan_due(self) -> bool:
        """Whether this run reads every membership: a first sync, or
        ``membership_rescan_interval_days`` since the last whole read."""
        return feed_position(self) is None or self.whole_read_due(
            "membership_rescan_interval_days"
        )

    def table_version(self) -> tuple[int | None, bool]:
        # A whole read is a new version, activated after it by get_records (a retention
        # re-read under way keeps its own, see the base).
        if not self.recovering and self._rescan_due():
            return self.tap.initialized_at, True
        return super().table_version()

    def read_fields(self) -> list[str]:
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        return fields + [f for f in ("programId", "leadId") if f not in fields]

    def sync_records(self) -> None:
        # Bulk rows are text and REST values typed: converters handle both.
        writer = RecordWriter(self, text_input=False)
        need = self.feed_need()
        extra: dict[str, Any] = {}
        if need is None:
            self._full(writer)
            extra = self.whole_read_state(sdk_seam.stream_version(self), activate=False)
        else:
            self._touched(writer, need)
        self.log_written(writer)
        self.commit_bookmark(self.run.now, feed_since=state_time(self.run.now), **extra)

    def _full(self, writer: RecordWriter) -> None:
        program_ids = all_program_ids(self)
        fields = self.read_fields()
        saved = self.stream_state.get("export_job")
        if len(program_ids) >= BULK_MEMBERS_FROM or saved:
            self.logger.info(
                "'%s': first sync of %d programs by bulk member export",
                self.name,
                len(program_ids),
            )
            self._export_members(writer, program_ids, fields)
            return
        for program_id in program_ids:
            for record in self.client.iter_results(
                f"/rest/v1/programs/{program_id}/members.json",
                {
                    "filterType": "reachedSuccess",
                    "filterValues": ["true", "false"],
                    "fields": fields,
                    "batchSize": MAX_KEYS,
                },
            ):
                writer.write({**record, "programId": record.get("programId") or program_id})

    def _export_members(
        self, writer: RecordWriter, program_ids: Sequence[int], fields: Sequence[str]
    ) -> None:
        """Members of these programs by bulk program member export, 10 programs per job.

        The job in progress is kept in the stream's state (``export_job``) and resumed;
        no job is queued ahead (a first sync's one-off read)."""
        pipeline = self.export_pipeline(
            "program/members",
            JobSlots(
                holder=lambda: self.stream_state,
                current="export_job",
                ahead=None,
                write=self.save_state,
            ),
        )
        saved = self.stream_state.get("export_job")
        units = []
        for batch in chunked(sorted(program_ids), PROGRAMS_PER_EXPORT):
            units.append(
                ExportUnit(
                    body={"fields": list(fields), "format": "CSV", "filter": {"programIds": batch}},
                    meta={"programIds": batch, "fields": list(fields)},
                    label=f"program members of programs {batch}",
                    saved=saved if saved and saved.get("programIds") == batch else None,
                )
            )

        def consume(_: ExportUnit, rows: Iterator[dict[str, Any]]) -> None:
            for row in rows:
                writer.write(row)

        pipeline.run(units, consume, prefetch=False)

    def _touched(self, writer: RecordWriter, need: FeedNeed) -> None:
        latest: dict[int, dict[int, str]] = defaultdict(dict)
        for event in self.run.feed.events(need.type_ids, need.since):
            program_id = event.get("primaryAttributeValueId")
            lead_id = event.get("leadId")
            if program_id is None or lead_id is None:
                continue
            latest[int(program_id)][int(lead_id)] = str(event.get("activityDate") or "")
        fields = self.read_fields()
        for program_id, leads in sorted(latest.items()):
            for batch in chunked(sorted(leads), MAX_KEYS):
                found: set[int] = set()
                for record in self._members_by_lead(program_id, batch, fields):
                    found.add(int(record["leadId"]))
                    writer.write({**record, "programId": record.get("programId") or program_id})
                for lead_id in batch:
                    if lead_id not in found:
                        # The membership is gone (removed from the program, or the lead
                        # deleted): soft/hard deleting targets drop it.
                        writer.write_partial(
                            {
                                "programId": program_id,
                                "leadId": lead_id,
                                s.SDC_DELETED_AT: leads[lead_id] or self.run.now,
                            }
                        )

    def _members_by_lead(
        self, program_id: int, lead_ids: list[int], fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        try:
            yield from self.client.iter_results(
                f"/rest/v1/programs/{program_id}/members.json",
                {
                    "filterType": "leadId",
                    "filterValues": lead_ids,
                    "fields": fields,
                    "batchSize": MAX_KEYS,
                },
            )
        except Exception as exc:  # the program itself is gone
            if getattr(exc, "code", None) in ("1013", "610"):
                return
            raise
