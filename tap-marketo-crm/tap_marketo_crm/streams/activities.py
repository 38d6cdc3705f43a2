"""Activities: ``activity_types`` (REST) and ``activities_<name>``, one stream per
activity type, read by bulk activity export (docs/MARKETO.md section 5).

Every selected type is exported by ONE job per window (``createdAt`` windows, at most 31
days, each listing only the types that need it) and the rows are split by
``activityTypeId`` into their types' streams (:class:`ActivityExport`, :class:`ActivityRoute`).
The shared jobs live in the tap-level state (``marketo.activity_export`` /
``next_activity_exports``); each type keeps its own bookmark (and, under
``priority_first``, its backfill edge).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from marketo_core import parse_attributes

from tap_marketo_crm import schemas as s
from tap_marketo_crm import sdk_seam
from tap_marketo_crm.pipeline import ExportPipeline, ExportUnit, JobSlots
from tap_marketo_crm.probe import activity_floors
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.scheduling import Lookahead
from tap_marketo_crm.state import state_section, state_time
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.windows import (
    ActivityWindow,
    TypeProgress,
    Window,
    parse_ts,
    plan_activity_windows,
)

ACTIVITY_PREFIX = "activities_"


class ActivityTypesStream(MarketoStream):
    name = "activity_types"
    primary_keys_default = ("id",)
    # The describe lists every type at once; a custom type deleted in Marketo just stops
    # being listed.
    reads_whole_table = True

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        attribute = s.object_schema({"name": s.STRING, "dataType": s.STRING, "apiName": s.STRING})
        attribute["type"] = ["object", "null"]
        return s.object_schema(
            {
                "id": {"type": ["integer"]},
                "name": s.STRING,
                "description": s.STRING,
                "apiName": s.STRING,
                "primaryAttribute": attribute,
                "attributes": {"type": ["array", "null"], "items": attribute},
            }
        )

    def sync_records(self) -> None:
        self.write_all(self.client.get("/rest/v1/activities/types.json").get("result") or [])


# --- activities: one export job per window for every selected type --------------------


class ActivityStream(MarketoStream):
    """``activities_<name>``: one activity type. Every selected type is exported by ONE job
    per window (the first activity stream to run does it for all) and rows are split by
    ``activityTypeId``."""

    primary_keys_default = ("marketoGUID",)
    replication_key_default = "activityDate"
    # An activity names its type and its lead.
    depends_on = ("activity_types", "leads")

    @property
    def activity_type_id(self) -> int:
        type_id = s.activity_type_id_of(self.effective_schema)
        assert type_id is not None, self.name
        return type_id

    def logged_activity_types(self) -> tuple[int, ...]:
        return (self.activity_type_id,)

    def type_names(self) -> dict[int, str]:
        # The describe name, from the stream's (activities_visit_webpage: visit webpage).
        return {self.activity_type_id: self.name.removeprefix(ACTIVITY_PREFIX).replace("_", " ")}

    def progress(self) -> TypeProgress:
        edge = self.stream_state.get("backfill_until")
        return TypeProgress(
            self.activity_type_id, self.bookmark(), parse_ts(edge) if edge else None
        )

    def sync_records(self) -> None:
        if not self.run.activities_exported:
            self.run.activities_exported = True
            ActivityExport(self).run()

    @property
    def export_key(self) -> str | None:
        return None if self.run.activities_exported else ActivityExport.NAME

    def export_lookahead(self) -> Lookahead | None:
        """Before the activity export's turn: its windows' jobs, queued into the shared
        slots while an earlier stream reads (nothing when state already holds jobs)."""
        return ActivityExport(self).lookahead()


class ActivityRoute:
    """Where rows of one activity type go, and how they become records.

    This is the hot loop of an activity export (millions of rows): the record is built
    from a template of the selected columns and typed here, column by column, with the
    checks ordered so the common case (value already of the right type) costs least.
    """

    __slots__ = (
        "attribute_specs",
        "bounded",
        "ceiling",
        "fast",
        "floor",
        "raw_attributes",
        "standard",
        "stream",
        "template",
        "writer",
    )

    def __init__(self, stream: ActivityStream) -> None:
        self.stream = stream
        self.writer = RecordWriter(stream, text_input=False)
        schema = stream.effective_schema
        properties = schema["properties"]
        selected = set(self.writer.columns)
        # The raw `attributes` object is added last, as the cell's own JSON text.
        self.raw_attributes = "attributes" in selected
        self.template: dict[str, Any] = dict.fromkeys(
            c for c in self.writer.columns if c != "attributes"
        )
        if "primary_attribute_name" in selected:
            self.template["primary_attribute_name"] = s.primary_attribute_name_of(schema)
        # (column, CSV column, converter) for the standard columns, CSV text in.
        self.standard = [
            (column, source, s.converter_for(properties[column], text_input=True))
            for column, source in _STANDARD_SOURCES
            if column in selected
        ]
        # attribute name -> (column, Python type its JSON value should have, converter)
        self.attribute_specs: dict[str, tuple[str, type | None, s.Converter | None]] = {}
        for name, column in s.activity_attribute_columns(schema).items():
            if column in selected:
                prop = properties[column]
                self.attribute_specs[name] = (
                    column,
                    _python_type(prop),
                    s.converter_for(prop, text_input=False),
                )
        # Every standard column selected with its usual type: typed inline below.
        self.fast = [c for c, _, _ in self.standard] == [c for c, _ in _STANDARD_SOURCES] and all(
            properties[c].get("type") == ACTIVITY_STANDARD_TYPES[c] for c, _ in _STANDARD_SOURCES
        )
        self.floor: str | None = None
        self.ceiling: str | None = None
        self.bounded = False

    def set_bounds(self, floor: str | None, ceiling: str | None) -> None:
        """Rows outside ``floor..ceiling`` (activityDate) belong to another window."""
        self.floor, self.ceiling = floor, ceiling
        self.bounded = floor is not None or ceiling is not None

    def write(self, row: Mapping[str, Any]) -> None:
        date = row["activityDate"] or ""
        if self.bounded and (
            (self.floor is not None and date < self.floor)
            or (self.ceiling is not None and date > self.ceiling)
        ):
            return
        record = self.template.copy()
        writer = self.writer
        if self.fast:
            try:
                record["marketoGUID"] = row["marketoGUID"]
                record["leadId"] = int(row["leadId"])
                record["activityTypeId"] = int(row["activityTypeId"])
                value = row["campaignId"]
                record["campaignId"] = None if value is None else int(value)
                record["primary_attribute_value"] = row["primaryAttributeValue"]
                value = row["primaryAttributeValueId"]
                record["primary_attribute_value_id"] = None if value is None else int(value)
            except (ValueError, TypeError):
                self._standard(row, record)
            # Bulk files write RFC 3339 with Z; anything else goes through the parser.
            record["activityDate"] = (
                date
                if len(date) == 20 and date[19] == "Z"
                else (s.to_datetime(date) if date else None)
            )
        else:
            self._standard(row, record)
        cell = row["attributes"]
        attributes, spliceable = _decode_attributes(cell) if cell else ({}, False)
        raw = self.raw_attributes
        specs = self.attribute_specs
        for name, value in attributes.items():
            spec = specs.get(name)
            if spec is None:
                continue
            column, kind, convert = spec
            if value is not None and type(value) is not kind and convert is not None:
                try:
                    record[column] = convert(value)
                except (ValueError, TypeError, OverflowError):
                    writer.warn_bad_value(column, value)
                    record[column] = None
            else:
                record[column] = value
        if raw and spliceable:
            writer.emit_with_raw(record, "attributes", cell, attributes)
        else:
            if raw:
                record["attributes"] = attributes
            writer.emit(record)

    def _standard(self, row: Mapping[str, Any], record: dict[str, Any]) -> None:
        for column, source, convert in self.standard:
            value = row[source]
            if value is not None and convert is not None:
                try:
                    value = convert(value)
                except (ValueError, TypeError):
                    self.writer.warn_bad_value(column, value)
                    value = None
            record[column] = value


# Activity columns filled straight from the export file's columns.
_STANDARD_SOURCES = (
    ("marketoGUID", "marketoGUID"),
    ("leadId", "leadId"),
    ("activityDate", "activityDate"),
    ("activityTypeId", "activityTypeId"),
    ("campaignId", "campaignId"),
    ("primary_attribute_value", "primaryAttributeValue"),
    ("primary_attribute_value_id", "primaryAttributeValueId"),
)
ACTIVITY_STANDARD_TYPES = {
    column: s.ACTIVITY_STANDARD_COLUMNS[column]["type"] for column, _ in _STANDARD_SOURCES
}
# The decoder's scanner without its Python wrapper (two whitespace regexes per call).
# typeshed does not declare ``scan_once``, the instance attribute JSONDecoder() sets.
_JSON_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode_attributes(cell: str) -> tuple[dict[str, Any], bool]:
    """The attributes cell as a dict, and whether the cell is exactly that JSON object
    (then it can be written out as it is)."""
    try:
        value, end = _JSON_SCAN(cell, 0)
    except (StopIteration, ValueError):
        value, end = None, -1
    if type(value) is dict and end == len(cell):
        return value, True
    return parse_attributes(cell), False  # other shapes, or raises with the cell quoted


def _python_type(prop: Mapping[str, Any]) -> type | None:
    types = set(prop.get("type") or []) - {"null"}
    if types == {"string"}:
        return str
    if types == {"integer"}:
        return int
    if types == {"number"}:
        return float
    if types == {"boolean"}:
        return bool
    return None


class ActivityExport:
    """The activity export of one run, for every selected activity type at once."""

    NAME = "activities"  # what the run's scheduler and progress lines call it

    def __init__(self, first: ActivityStream) -> None:
        self.first = first
        self.tap = first.tap
        self.streams = [
            st for st in self.tap.streams.values() if isinstance(st, ActivityStream) and st.selected
        ]
        self.by_type = {st.activity_type_id: st for st in self.streams}
        section = state_section(self.tap.state)
        self.pipeline = first.export_pipeline(
            "activities",
            JobSlots(
                holder=lambda: section,
                current="activity_export",
                ahead="next_activity_exports",
                write=first.save_state,
                legacy_ahead="next_activity_export",
            ),
            name=self.NAME,
        )

    def run(self) -> None:
        first = self.first
        for stream in self.streams:
            if stream is not first:
                # Their records come now, before their own turn: schema first.
                sdk_seam.write_schema_message(stream)
        routes = {str(tid): ActivityRoute(st) for tid, st in self.by_type.items()}

        def consume(unit: ExportUnit, rows: Iterator[dict[str, Any]]) -> None:
            aw: ActivityWindow = unit.scope
            for tid, route in routes.items():
                route.set_bounds(aw.floors.get(int(tid)), aw.ceilings.get(int(tid)))
                route.writer.mark_extracted()
            write_activity_rows(rows, routes)

        # The job in progress and the one queued ahead of it (see ``pipeline``): each is a
        # whole unit (window, types, bounds), read in order before planning on.
        saved = []
        for job_state in self.pipeline.saved_jobs():
            window = self._from_saved(job_state) if job_state.get("exportId") else None
            if window is not None:
                saved.append(self._unit(window, job_state))
        # The windows after them are planned only once they are read (below): until then
        # the queue's room is kept for those, not handed to later streams.
        self.pipeline.run(saved, consume, self._done, more_follow=True)
        # Planned only now: the plan starts from the bookmarks the saved jobs just moved.
        self.pipeline.run(self._planned_units(resumed=bool(saved)), consume, self._done)
        for route in routes.values():
            route.stream.log_written(route.writer)

    def _planned_units(self, *, resumed: bool = False) -> list[ExportUnit]:
        first = self.first
        progress = [st.progress() for st in self.streams]
        priority_first = bool(first.config.get("priority_first"))
        # Jobs saved by an earlier run win: they are resumed as planned and the plan goes
        # on from their bookmarks. Jobs this run queued ahead were planned from the probe,
        # so the windows after them are planned from the same floors.
        probe = (
            first.probing
            and not priority_first
            and (not resumed or first.run.activity_floors is not None)
        )
        data_starts = self._data_starts(progress) if probe else {}
        plan = plan_activity_windows(
            progress,
            start_date=first.start_date,
            now=first.run.now,
            max_days=first.max_export_days,
            lookback=first.lookback,
            priority_first=priority_first,
            # A first sync under priority_first fetches the newest window only.
            include_backfill=any(st.bookmark() is not None for st in self.streams),
            data_starts=data_starts,
        )
        return [self._unit(aw) for aw in plan]

    def lookahead(self) -> ExportPipeline | None:
        """The planned windows' pipeline, to queue their jobs ahead of this export's turn
        (None when state holds jobs: they are resumed, then planned on, in its turn)."""
        if self.pipeline.saved_jobs() or not self.streams:
            return None
        units = self._planned_units()
        self.pipeline.plan(units)
        self.first.run.scheduler.planned_ahead(self.NAME, len(units))
        return self.pipeline

    def _data_starts(self, progress: list[TypeProgress]) -> dict[int, dt.datetime]:
        """Where the data of the types on their first sync begins (see ``probe``). A type
        with no activity up to now gets its bookmark at now, in state at once: the next
        run reads it incrementally instead of probing again."""
        fresh = [p.type_id for p in progress if p.forward is None and p.backfill is None]
        if not fresh:
            return {}
        first = self.first
        if first.run.activity_floors is None:
            first.run.activity_floors = activity_floors(
                first.client,
                fresh,
                first.start_date,
                first.run.now,
                first.logger,
                sees_everything=first.run.sees_every_partition,
            )
        floors = {t: f for t, f in first.run.activity_floors.items() if t in fresh}
        empty = [t for t, floor in floors.items() if floor >= first.run.now]
        for type_id in empty:
            self.by_type[type_id].set_bookmark(first.run.now)
        if empty:
            first.save_state()
        return floors

    def _from_saved(self, saved: Mapping[str, Any]) -> ActivityWindow | None:
        try:
            window = Window.from_state(saved["window"])
            ids = tuple(int(t) for t in saved.get("activityTypeIds") or [])
        except (KeyError, TypeError, ValueError):
            return None
        return ActivityWindow(
            window,
            ids,
            backfill=bool(saved.get("backfill")),
            floors={int(k): v for k, v in (saved.get("floors") or {}).items()},
            ceilings={int(k): v for k, v in (saved.get("ceilings") or {}).items()},
        )

    @staticmethod
    def _unit(aw: ActivityWindow, saved: Mapping[str, Any] | None = None) -> ExportUnit:
        kind = "activities backfill" if aw.backfill else "activities"
        return ExportUnit(
            body={
                "format": "CSV",
                "filter": {
                    "createdAt": aw.window.as_filter(),
                    "activityTypeIds": list(aw.type_ids),
                },
            },
            meta={
                "window": aw.window.to_state(),
                "activityTypeIds": list(aw.type_ids),
                "backfill": aw.backfill,
                "floors": {str(k): v for k, v in aw.floors.items()},
                "ceilings": {str(k): v for k, v in aw.ceilings.items()},
            },
            label=f"{kind} {aw.window} ({len(aw.type_ids)} types)",
            saved=saved,
            scope=aw,
        )

    def _done(self, unit: ExportUnit) -> None:
        """Move the window's types' bookmarks (the pipeline then writes them, with the
        job queued ahead as the job in progress, in one state message)."""
        aw: ActivityWindow = unit.scope
        priority_first = bool(self.first.config.get("priority_first"))
        start_date = self.first.start_date
        for type_id in aw.type_ids:
            stream = self.by_type.get(type_id)
            if stream is None:
                continue  # deselected since the job was created
            state = stream.stream_state
            if aw.backfill:
                edge = aw.window.start
                state["backfill_until"] = None if edge <= start_date else state_time(edge)
                continue
            if stream.bookmark() is None and priority_first and aw.window.start > start_date:
                # First window of a priority-first sync: older data is still to come.
                state["backfill_until"] = state_time(aw.window.start)
            current = stream.bookmark()
            if current is None or aw.window.end > current:
                stream.set_bookmark(aw.window.end)


def write_activity_rows(
    rows: Iterable[Mapping[str, Any]], routes: Mapping[str, ActivityRoute]
) -> None:
    """Split an activity export's rows into their types' streams."""
    get_route = routes.get
    for row in rows:
        route = get_route(row["activityTypeId"] or "")
        if route is not None:
            route.write(row)
