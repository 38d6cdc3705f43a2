"""Streams read through bulk extract: leads, activities (split by type), custom objects,
and the program member export used by ``program_memberships``.

Every bulk stream moves through windows of ``max_export_days`` (see ``exports``); its
bookmark moves only when a window's file has been read to the end, and the job of the
window in progress is kept in state so a later run resumes the same ``exportId``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from marketo_core import parse_attributes
from marketo_core.errors import MarketoAPIError

from tap_marketo_crm import schemas as s
from tap_marketo_crm.client import MarketoStream, RecordWriter, chunked, state_section
from tap_marketo_crm.exports import (
    ActivityWindow,
    TypeProgress,
    Window,
    parse_ts,
    plan_activity_windows,
    plan_windows,
)
from tap_marketo_crm.streams.activity_feed import (
    MERGE_LEADS,
    FeedNeed,
    feed_position,
    merge_losers,
)
from tap_marketo_crm.streams.by_key import lead_keys

ACTIVITY_PREFIX = "activities_"
CUSTOM_PREFIX = "custom_"
UNSUPPORTED_FILTER = "1035"  # the subscription has no bulk `updatedAt` filter
# Custom object read modes (``read_mode`` in the stream's state).
BULK = "bulk"
LINKED_KEYS = "linked_keys"
MAX_LINKED_KEYS = 300  # filter values per REST read (Marketo's limit)


class WindowedExportStream(MarketoStream):
    """A stream exported in ``updatedAt`` windows (``createdAt`` where the subscription
    rejects ``updatedAt`` with 1035), one job per window."""

    text_input = True
    replication_key_default = "updatedAt"
    # Whether a createdAt export may stand in when updatedAt is refused (1035).
    created_at_fallback = False

    @property
    def entity(self) -> str:
        raise NotImplementedError

    def export_fields(self) -> list[str]:
        """Fields to ask Marketo for: the selected ones it knows (``_sdc_*`` are ours)."""
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        for required in (*self.primary_keys, self.replication_key):
            if required and required not in fields:
                fields.insert(0, required)
        return fields

    def extra_fields(self) -> list[str]:
        """Fields exported for other streams' sake (not written on this stream)."""
        return []

    @property
    def filter_field(self) -> str:
        return str(self.stream_state.get("filter_field") or "updatedAt")

    def on_row(self, row: dict[str, Any]) -> None:
        """Called with each row before it is written (extra fields still present)."""

    def after_windows(self, writer: RecordWriter) -> None:
        """Called once every window is done."""

    def sync_records(self) -> None:
        writer = self.writer()
        while True:
            try:
                self._export_windows(writer)
                break
            except MarketoAPIError as exc:
                if (
                    exc.code != UNSUPPORTED_FILTER
                    or self.filter_field != "updatedAt"
                    or not self.created_at_fallback
                ):
                    raise
                # Detected once; state keeps the fallback so later runs do not ask again.
                self.stream_state["filter_field"] = "createdAt"
                self.stream_state["export_job"] = None
                self.save_state()
        if self.filter_field == "createdAt":
            self.logger.warning(
                "'%s': this Marketo subscription does not support the bulk updatedAt filter "
                "(1035); exporting by createdAt instead, so updates to records created "
                "before the bookmark are MISSED. Ask Adobe to enable the updatedAt filter.",
                self.name,
            )
        self.after_windows(writer)
        self.log_written(writer)

    def _export_windows(self, writer: RecordWriter) -> None:
        fields = self.export_fields()
        extras = [f for f in self.extra_fields() if f not in fields]
        exported = fields + extras
        drop = [f for f in exported if f not in writer.columns]
        # Selected columns Marketo does not export (``_sdc_*``): present, as null.
        fill = [c for c in writer.columns if c not in exported]
        filter_field = self.filter_field
        bookmark = self.bookmark()
        start = max(bookmark - self.lookback, self.start_date) if bookmark else self.start_date
        plan: list[tuple[Window, Mapping[str, Any] | None]] = []
        runner = self.export_runner(self.entity)
        # The job in progress and the one queued ahead of it (see ``exports``): each is
        # read whole, in order, before planning on from the end of the last one.
        saved = self.stream_state.get("export_job") or None
        ahead = self.stream_state.get("next_export_job") or None
        if saved is None:
            saved, ahead = ahead, None
        for job_state in (saved, ahead):
            if not job_state:
                continue
            if self._can_resume(job_state, exported, filter_field, start):
                window = Window.from_state(job_state["window"])
                plan += [(w, None) for w in plan_windows(start, window.start, self.max_export_days)]
                plan.append((window, job_state))
                start = window.end
                continue
            self.logger.info(
                "'%s': export %s in state no longer matches the selection; not resumed",
                self.name,
                job_state.get("exportId"),
            )
            runner.discard(job_state, self.name)  # frees its place in Marketo's queue
        plan += [(w, None) for w in plan_windows(start, self.run.now, self.max_export_days)]

        def body_of(window: Window) -> dict[str, Any]:
            return {
                "fields": exported,
                "format": "CSV",
                "filter": {filter_field: window.as_filter()},
            }

        def meta_of(window: Window) -> dict[str, Any]:
            return {"window": window.to_state(), "filter_field": filter_field, "fields": exported}

        queued_ahead: dict[str, Any] = {}  # the next window's job, once queued ahead
        for index, (window, saved_state) in enumerate(plan):
            job_state = saved_state
            if queued_ahead.get("window") == window.to_state():
                job_state = dict(queued_ahead)
            queued_ahead.clear()
            following = plan[index + 1] if index + 1 < len(plan) else None

            def prefetch(following: tuple[Window, Any] | None = following) -> None:
                if following is None or following[1] is not None:
                    return  # last window, or the next one is already a job in state
                state = runner.prefetch(
                    body_of(following[0]),
                    meta=meta_of(following[0]),
                    save=self._save_next_job,
                    label=f"{self.name} {filter_field} {following[0]}",
                )
                queued_ahead.update(state or {})

            writer.mark_extracted()
            rows = runner.rows(
                body_of(window),
                meta=meta_of(window),
                saved=job_state,
                save=self._save_job,
                label=f"{self.name} {filter_field} {window}",
                ahead=prefetch,
            )
            self.write_rows(rows, writer, drop, fill)
            # The next job (queued ahead now, or by an earlier run) becomes the job in
            # progress in the same state message: never out of state in between.
            upcoming = dict(queued_ahead) or (
                dict(following[1]) if following is not None and following[1] else None
            )
            self.commit_bookmark(window.end, export_job=upcoming, next_export_job=None)

    def write_rows(
        self,
        rows: Iterable[dict[str, Any]],
        writer: RecordWriter,
        drop: Sequence[str] = (),
        fill: Sequence[str] = (),
    ) -> None:
        """Write an export's rows: ``drop`` columns exported for other streams, ``fill``
        selected columns Marketo does not export (``_sdc_*``) with null."""
        on_row = self.on_row
        write_row = writer.write_row
        for row in rows:
            on_row(row)
            for name in drop:
                row.pop(name, None)
            for name in fill:
                row[name] = None
            write_row(row)

    def _can_resume(
        self, saved: Mapping[str, Any], fields: Sequence[str], filter_field: str, start: dt.datetime
    ) -> bool:
        try:
            window = Window.from_state(saved["window"])
        except (KeyError, TypeError, ValueError):
            return False
        return (
            bool(saved.get("exportId"))
            and saved.get("filter_field", "updatedAt") == filter_field
            and set(fields) <= set(saved.get("fields") or [])
            and window.end > start
        )

    def _save_job(self, job_state: dict[str, Any]) -> None:
        self.commit_bookmark(None, export_job=job_state)

    def _save_next_job(self, job_state: dict[str, Any]) -> None:
        self.commit_bookmark(None, next_export_job=job_state)


class LeadsStream(WindowedExportStream):
    """Leads by bulk export, plus delete capture: leads deleted (37) or merged away (32)
    since the last run are emitted with ``_sdc_deleted_at`` (and the winner's id)."""

    name = "leads"
    primary_keys_default = ("id",)
    entity = "leads"
    created_at_fallback = True

    def __init__(self, tap: Any, schema: dict[str, Any], name: str | None = None) -> None:
        super().__init__(tap, schema, name=name)
        # Key fields harvested from rows for companies / sales persons (set per sync).
        self._keys: dict[str, set[str]] = {}

    @classmethod
    def schema_from_describe(cls, describe: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        properties = s.lead_fields_schema(describe)
        properties["id"] = {"type": ["integer"]}
        properties[s.SDC_DELETED_AT] = s.DATETIME
        properties[s.SDC_MERGED_INTO] = s.INTEGER
        return s.object_schema(properties)

    def _wants(self, *streams: str) -> bool:
        return any(name in self.tap.streams and self.tap.streams[name].selected for name in streams)

    def extra_fields(self) -> list[str]:
        """Lead fields later streams of this run read by, harvested from this export:
        companies and sales persons are fetched by the keys seen on leads, and so are
        custom objects read by their linked keys (see ``CustomObjectStream``)."""
        extras = []
        if self._wants("companies"):
            extras.append("externalCompanyId")
        if self._wants("salespersons"):
            extras.append("externalSalesPersonId")
        for stream in self.tap.streams.values():
            if isinstance(stream, CustomObjectStream):
                name = stream.lead_key_field()
                if name and name not in extras:
                    extras.append(name)
        return extras

    def sync_records(self) -> None:
        self._keys = {
            name: self.run.lead_keys.setdefault(name, set()) for name in self.extra_fields()
        }
        # A first sync exports every lead: the companies' and sales persons' full pass.
        self.run.leads_full_pass = self.bookmark() is None
        super().sync_records()
        self.run.leads_synced = True

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
        self.commit_bookmark(None, feed_since=self.run.now.strftime("%Y-%m-%dT%H:%M:%SZ"))


class CustomObjectStream(WindowedExportStream):
    """``custom_<apiName>``: one custom object type by bulk export on ``updatedAt``.

    Where the subscription refuses that filter (1035), the stream falls back, once and
    for good (``read_mode: linked_keys`` in its state, with a warning every run), to REST
    reads by the keys its records link to, 300 per call: the ids of the leads seen this
    run for lead-linked types, the ``externalCompanyId`` values seen on leads and other
    objects this run for company-linked ones (all leads on its first sync). Every
    record of those parents is written, whatever its ``updatedAt``. Limitation: a record
    changed while its parent did not change is seen only when the parent does.
    """

    read_mode_key = "read_mode"

    def __init__(
        self, tap: Any, schema: dict[str, Any], name: str, key: str = "marketoGUID"
    ) -> None:
        self.primary_keys_default = (key,)
        super().__init__(tap, schema, name=name)

    @property
    def api_name(self) -> str:
        return self.name[len(CUSTOM_PREFIX) :]

    @property
    def entity(self) -> str:
        return f"customobjects/{self.api_name}"

    @property
    def link(self) -> s.ObjectLink | None:
        return s.object_link_of(self.schema)

    @property
    def read_mode(self) -> str:
        return str(self.stream_state.get(self.read_mode_key) or BULK)

    def lead_key_field(self) -> str | None:
        """The lead field whose values this stream reads by this run, when it reads by
        linked keys (the leads stream then harvests them); None otherwise."""
        if not self.selected or self.read_mode != LINKED_KEYS:
            return None
        link = self.link
        return link.lead_field if link is not None else None

    @classmethod
    def schema_from_describe(cls, described: Mapping[str, Any]) -> dict[str, Any]:
        properties = s.fields_schema(described.get("fields") or [])
        id_field = described.get("idField") or "marketoGUID"
        if id_field in properties:
            properties[id_field] = {
                "type": [t for t in properties[id_field]["type"] if t != "null"]
            }
        s.mark_link(properties, s.link_from_describe(described))
        return s.object_schema(properties)

    def sync_records(self) -> None:
        if self.read_mode != LINKED_KEYS:
            try:
                super().sync_records()
                return
            except MarketoAPIError as exc:
                if exc.code != UNSUPPORTED_FILTER or self.filter_field != "updatedAt":
                    raise
                if self.link is None or self.link.lead_field is None:
                    raise MarketoAPIError(
                        f"{exc.message}; and the type's link to its parent is unknown, so "
                        "its records cannot be read by linked keys instead",
                        code=exc.code,
                        endpoint=exc.endpoint,
                    ) from exc
                # Detected once; state keeps the mode so later runs do not ask again.
                self.stream_state[self.read_mode_key] = LINKED_KEYS
                self.stream_state["export_job"] = None
                self.save_state()
        self.read_linked()

    def read_linked(self) -> None:
        link = self.link
        assert link is not None, self.name
        assert link.lead_field is not None, self.name
        parent = "lead ids" if link.parent.lower() == "lead" else f"{link.parent_field} values"
        self.logger.warning(
            "'%s': this Marketo subscription refuses the bulk updatedAt filter for custom "
            "objects (1035); reading its records by the %s seen this run instead, 300 per "
            "call. Records changed while their %s did not are missed until it does.",
            self.name,
            parent,
            link.parent.lower(),
        )
        keys = lead_keys(self, link.lead_field)
        if link.parent.lower() == "company":
            keys |= self.run.object_keys.get(link.parent_field, set())
        writer = RecordWriter(self, text_input=False)
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        path = f"/rest/v1/customobjects/{self.api_name}.json"
        for batch in chunked(sorted(k for k in keys if k), MAX_LINKED_KEYS):
            for record in self.client.iter_results(
                path,
                {
                    "filterType": link.field,
                    "filterValues": batch,
                    "fields": fields,
                    "batchSize": MAX_LINKED_KEYS,
                },
            ):
                writer.write(record)
        self.log_written(writer, f" (read by {len(keys)} linked keys)")
        self.commit_bookmark(self.run.now, export_job=None)


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

    @property
    def activity_type_id(self) -> int:
        type_id = s.activity_type_id_of(self.effective_schema)
        assert type_id is not None, self.name
        return type_id

    def progress(self) -> TypeProgress:
        edge = self.stream_state.get("backfill_until")
        return TypeProgress(
            self.activity_type_id, self.bookmark(), parse_ts(edge) if edge else None
        )

    def sync_records(self) -> None:
        if not self.run.activities_exported:
            self.run.activities_exported = True
            ActivityExport(self).run()


class _Route:
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

    def __init__(self, first: ActivityStream) -> None:
        self.first = first
        self.tap = first.tap
        self.run_ = first.run
        self.streams = [
            st for st in self.tap.streams.values() if isinstance(st, ActivityStream) and st.selected
        ]
        self.by_type = {st.activity_type_id: st for st in self.streams}
        self.section = state_section(self.tap.state)

    def run(self) -> None:
        first = self.first
        for stream in self.streams:
            if stream is not first:
                # Their records come now, before their own turn: schema first.
                stream._write_schema_message()
        routes = {str(tid): _Route(st) for tid, st in self.by_type.items()}
        runner = first.export_runner("activities")
        # The job in progress and the one queued ahead of it (see ``exports``): each is a
        # whole unit (window, types, bounds), read in order before planning on.
        saved = self.section.get("activity_export") or None
        ahead = self.section.get("next_activity_export") or None
        if saved is None:
            saved, ahead = ahead, None
        units: list[tuple[ActivityWindow, Mapping[str, Any]]] = []
        for job_state in (saved, ahead):
            if not job_state or not job_state.get("exportId"):
                continue
            window = self._from_saved(job_state)
            if window is not None:
                units.append((window, job_state))
        for index, (window, job_state) in enumerate(units):
            self._export(window, routes, runner, job_state, _next(units, index))
        plan = plan_activity_windows(
            [st.progress() for st in self.streams],
            start_date=first.start_date,
            now=self.run_.now,
            max_days=first.max_export_days,
            lookback=first.lookback,
            priority_first=bool(first.config.get("priority_first")),
            # A first sync under priority_first fetches the newest window only.
            include_backfill=any(st.bookmark() is not None for st in self.streams),
        )
        queued: Mapping[str, Any] | None = None
        for index, window in enumerate(plan):
            following = (plan[index + 1], None) if index + 1 < len(plan) else None
            queued = self._export(window, routes, runner, queued, following)
        for route in routes.values():
            route.stream.log_written(route.writer)

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

    def _export(
        self,
        aw: ActivityWindow,
        routes: dict[str, _Route],
        runner: Any,
        saved: Mapping[str, Any] | None,
        following: tuple[ActivityWindow, Mapping[str, Any] | None] | None = None,
    ) -> dict[str, Any] | None:
        """Read one window's job into its types' streams and commit it. ``following``
        is the next window (and its job, when state has one): its job is queued ahead
        while this file is read. Returns the next window's job state, if any."""
        for tid, route in routes.items():
            route.set_bounds(aw.floors.get(int(tid)), aw.ceilings.get(int(tid)))
            route.writer.mark_extracted()
        queued_ahead: dict[str, Any] = {}

        def prefetch() -> None:
            if following is None or following[1] is not None:
                return
            nxt = following[0]
            state = runner.prefetch(
                self._body(nxt),
                meta=self._meta(nxt),
                save=self._save_next_job,
                label=self._label(nxt),
            )
            queued_ahead.update(state or {})

        get_route = routes.get
        for row in runner.rows(
            self._body(aw),
            meta=self._meta(aw),
            saved=saved,
            save=self._save_job,
            label=self._label(aw),
            ahead=prefetch,
        ):
            found = get_route(row["activityTypeId"] or "")
            if found is not None:
                found.write(row)
        upcoming = dict(queued_ahead) or (
            dict(following[1]) if following is not None and following[1] else None
        )
        self._commit(aw, upcoming)
        return upcoming

    @staticmethod
    def _body(aw: ActivityWindow) -> dict[str, Any]:
        return {
            "format": "CSV",
            "filter": {"createdAt": aw.window.as_filter(), "activityTypeIds": list(aw.type_ids)},
        }

    @staticmethod
    def _meta(aw: ActivityWindow) -> dict[str, Any]:
        return {
            "window": aw.window.to_state(),
            "activityTypeIds": list(aw.type_ids),
            "backfill": aw.backfill,
            "floors": {str(k): v for k, v in aw.floors.items()},
            "ceilings": {str(k): v for k, v in aw.ceilings.items()},
        }

    @staticmethod
    def _label(aw: ActivityWindow) -> str:
        kind = "activities backfill" if aw.backfill else "activities"
        return f"{kind} {aw.window} ({len(aw.type_ids)} types)"

    def _save_job(self, job_state: dict[str, Any] | None) -> None:
        self.section["activity_export"] = job_state
        self.first.save_state()

    def _save_next_job(self, job_state: dict[str, Any] | None) -> None:
        self.section["next_activity_export"] = job_state
        self.first.save_state()

    def _commit(self, aw: ActivityWindow, upcoming: dict[str, Any] | None = None) -> None:
        """Move the window's types' bookmarks; the next job (``upcoming``) becomes the
        job in progress in the same state message."""
        priority_first = bool(self.first.config.get("priority_first"))
        start_date = self.first.start_date
        for type_id in aw.type_ids:
            stream = self.by_type.get(type_id)
            if stream is None:
                continue  # deselected since the job was created
            state = stream.stream_state
            if aw.backfill:
                edge = aw.window.start
                state["backfill_until"] = None if edge <= start_date else s_ts(edge)
                continue
            if stream.bookmark() is None and priority_first and aw.window.start > start_date:
                # First window of a priority-first sync: older data is still to come.
                state["backfill_until"] = s_ts(aw.window.start)
            current = stream.bookmark()
            if current is None or aw.window.end > current:
                state["replication_key"] = stream.replication_key
                state["replication_key_value"] = s_ts(aw.window.end)
        self.section["activity_export"] = upcoming
        self.section["next_activity_export"] = None
        self.first.save_state()


def _next(
    units: Sequence[tuple[ActivityWindow, Mapping[str, Any]]], index: int
) -> tuple[ActivityWindow, Mapping[str, Any] | None] | None:
    return units[index + 1] if index + 1 < len(units) else None


def write_activity_rows(rows: Iterable[Mapping[str, Any]], routes: dict[str, _Route]) -> None:
    """Split an activity export's rows into their types' streams."""
    get_route = routes.get
    for row in rows:
        route = get_route(row["activityTypeId"])
        if route is not None:
            route.write(row)


def s_ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- program members by bulk export ---------------------------------------------------


def export_program_members(
    stream: MarketoStream, program_ids: Sequence[int], fields: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """Rows of the members of these programs, 10 programs per job (Marketo's limit).

    The job in progress is kept in the stream's state (``export_job``) and resumed."""
    runner = stream.export_runner("program/members")
    saved = stream.stream_state.get("export_job")
    for batch in chunked(sorted(program_ids), 10):
        body = {"fields": list(fields), "format": "CSV", "filter": {"programIds": batch}}
        meta = {"programIds": batch, "fields": list(fields)}
        job_state = saved if saved and saved.get("programIds") == batch else None

        def save(job: dict[str, Any], st: MarketoStream = stream) -> None:
            st.commit_bookmark(None, export_job=job)

        yield from runner.rows(
            body,
            meta=meta,
            saved=job_state,
            save=save,
            label=f"program members of programs {batch}",
        )
        stream.commit_bookmark(None, export_job=None)
