"""The base of streams read by bulk export in ``updatedAt`` windows: leads and custom
objects (docs/MARKETO.md section 5).

One job per window of ``max_export_days`` through the export pipeline; the bookmark
moves only when a window's file has been read to the end, and the job in progress (and
the one queued ahead) is kept in the stream's state, so a later run resumes the same
``exportId``. Where a subscription refuses ``updatedAt`` (1035), a stream that allows
it exports by ``createdAt`` instead, once detected for good (``filter_field`` in state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from marketo_core.errors import MarketoAPIError, MarketoError

from tap_marketo_crm.pipeline import ExportPipeline, ExportUnit
from tap_marketo_crm.probe import first_sync_start
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.scheduling import Lookahead
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.windows import Window, plan_windows

UNSUPPORTED_FILTER = "1035"  # the subscription has no bulk `updatedAt` filter


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

    def data_floor(self) -> dt.datetime | None:
        """A lower bound on the filter field of every record of the stream, when Marketo's
        rules give one cheaply (see ``probe``); None: export from start_date."""
        return None

    def on_row(self, row: dict[str, Any]) -> None:
        """Called with each row before it is written (extra fields still present)."""

    def after_windows(self, writer: RecordWriter) -> None:
        """Called once every window is done."""

    def report_created_at(self) -> None:
        """Say, every run, what exporting by createdAt (1035) costs this stream."""
        self.logger.warning(
            "'%s': this Marketo subscription does not support the bulk updatedAt filter "
            "(1035); exporting by createdAt instead, so updates to records created "
            "before the bookmark are MISSED. Ask Adobe to enable the updatedAt filter.",
            self.name,
        )

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
            self.report_created_at()
        self.after_windows(writer)
        self.log_written(writer)

    def _export_windows(self, writer: RecordWriter) -> None:
        exported = self._exported_fields()
        drop = [f for f in exported if f not in writer.columns]
        # Selected columns Marketo does not export (``_sdc_*``): present, as null.
        fill = [c for c in writer.columns if c not in exported]
        pipeline = self.export_pipeline(self.entity, self.job_slots())

        def consume(_: ExportUnit, rows: Iterator[dict[str, Any]]) -> None:
            writer.mark_extracted()  # one export file = one extraction time
            self.write_rows(rows, writer, drop, fill)

        def done(done_unit: ExportUnit) -> None:
            self.set_bookmark(done_unit.scope.end)

        pipeline.run(self._export_units(pipeline, exported), consume, done)

    def _exported_fields(self) -> list[str]:
        fields = self.export_fields()
        return fields + [f for f in self.extra_fields() if f not in fields]

    def _export_units(self, pipeline: ExportPipeline, exported: list[str]) -> list[ExportUnit]:
        """The windows to read, in order: the jobs state holds first (each read whole),
        then planned on from the end of the last one."""
        filter_field = self.filter_field
        bookmark = self.bookmark()
        saved_starts = [
            Window.from_state(job["window"]).start
            for job in pipeline.saved_jobs()
            if self._can_resume(job, exported, filter_field, self.start_date)
        ]
        if bookmark is not None:
            start = max(bookmark - self.lookback, self.start_date)
        elif saved_starts and self.probing:
            # A first sync's saved jobs (an earlier run's, or queued ahead of this
            # stream's turn) were planned from the data's probed lower bound: resumed as
            # planned, with nothing to export before the first of them.
            start = max(self.start_date, min(saved_starts))
        elif saved_starts:
            start = self.start_date
        else:
            # First sync: windows before the data's lower bound cannot hold a record.
            start = first_sync_start(self.start_date, self.data_floor() if self.probing else None)

        def unit(window: Window, saved: Mapping[str, Any] | None = None) -> ExportUnit:
            return ExportUnit(
                body={
                    "fields": exported,
                    "format": "CSV",
                    "filter": {filter_field: window.as_filter()},
                },
                meta={
                    "window": window.to_state(),
                    "filter_field": filter_field,
                    "fields": exported,
                },
                label=f"{self.name} {filter_field} {window}",
                saved=saved,
                scope=window,
            )

        # The job in progress and those queued ahead of it (see ``pipeline``): each is
        # read whole, in order, before planning on from the end of the last one.
        units: list[ExportUnit] = []
        for job_state in pipeline.saved_jobs():
            if self._can_resume(job_state, exported, filter_field, start):
                window = Window.from_state(job_state["window"])
                units += [unit(w) for w in plan_windows(start, window.start, self.max_export_days)]
                units.append(unit(window, job_state))
                start = window.end
                continue
            self.logger.info(
                "'%s': export %s in state no longer matches the selection; not resumed",
                self.name,
                job_state.get("exportId"),
            )
            pipeline.discard(job_state, self.name)  # frees its place in Marketo's queue
        units += [unit(w) for w in plan_windows(start, self.run.now, self.max_export_days)]
        return units

    @property
    def export_key(self) -> str | None:
        return self.name

    def export_lookahead(self) -> Lookahead | None:
        """Before this stream's turn: its windows' jobs, queued into its state while an
        earlier stream reads (nothing when state already holds jobs: those are resumed
        in its turn)."""
        pipeline = self.export_pipeline(self.entity, self.job_slots())
        if pipeline.saved_jobs():
            return None
        units = self._export_units(pipeline, self._exported_fields())
        pipeline.plan(units)
        pipeline.on_refused = self.refused_ahead
        self.run.scheduler.planned_ahead(self.name, len(units))
        return pipeline

    def refused_ahead(self, exc: MarketoError) -> None:
        """Marketo refused a job queued ahead of this stream's turn (see ``scheduling``)."""

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
