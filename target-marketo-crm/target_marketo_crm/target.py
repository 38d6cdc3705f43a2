"""target-marketo-crm: CRM records into Marketo, with Marketo's keys and Adobe's order.

The SDK drains each sink on its own; Marketo needs the opposite (a role after its lead
and opportunity, a sales person deleted after its leads let go). So sinks only validate
and stage, and every drain of the target plans and writes ALL staged records together,
in ``objects.ORDER``. STATE messages go out at the end of a drain, after that drain's
writes completed, so a checkpoint never covers a record not yet in Marketo.
"""

from __future__ import annotations

import json
import typing as t
from functools import cached_property

from jsonschema import ValidationError
from marketo_core.client import MarketoClient
from marketo_core.connection import client_from_config
from marketo_core.errors import MarketoError
from singer_sdk.exceptions import SingerSDKError
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine, SingerError
from singer_sdk.singerlib.json import deserialize_json

from target_marketo_crm.catalog import Catalog, UnknownObjectError
from target_marketo_crm.objects import (
    COMPANIES,
    DEFAULT_ACTION,
    normalize_object_name,
    object_for_stream,
)
from target_marketo_crm.planner import Planner
from target_marketo_crm.rejects import RejectLog
from target_marketo_crm.sdk_seam import SeamTarget
from target_marketo_crm.settings import (
    CONFIG_SCHEMA,
    TargetSettings,
    describe_setting_error,
    setting_errors,
)
from target_marketo_crm.sinks import Binding, CRMSink, MapperSettings
from target_marketo_crm.writer import Writer, WriterSettings


class RejectThresholdExceeded(Exception):  # noqa: N818 - reads as the condition it reports
    """The run ended with more rejects than ``fail_on_rejects``/``max_reject_share`` allow."""


class UnmappedStreamError(ValueError):
    """A stream with no Marketo object: not a default name and not in ``stream_objects``."""


# Errors that end a run for a reason the user can act on (credentials, settings, input,
# Marketo refusing, the reject threshold): one ERROR line says why; the traceback is only
# logged at DEBUG. Anything else is a bug of ours and keeps its traceback.
FATAL_ERRORS: tuple[type[BaseException], ...] = (
    RejectThresholdExceeded, UnmappedStreamError, UnknownObjectError, MarketoError,
    SingerSDKError, SingerError, OSError,
)

# Characters of a bad input line an error message shows.
_SHOWN_CHARS = 1000


class CRMReader(SingerReader):
    """The SDK's reader, without its traceback for a line that is not JSON: the error
    says which line (cut at ``_SHOWN_CHARS``) and what is wrong with it."""

    def deserialize_json(self, line: str) -> dict:
        try:
            return deserialize_json(line)
        except json.JSONDecodeError as exc:
            shown = line.strip()
            if len(shown) > _SHOWN_CHARS:
                shown = f"{shown[:_SHOWN_CHARS]}... ({len(shown)} characters)"
            raise InvalidInputLine(
                f"Unable to parse line as JSON ({exc.msg}, character {exc.pos}): {shown}"
            ) from exc


class TargetMarketoCRM(SeamTarget):
    """Singer target writing CRM records into Adobe Marketo Engage."""

    name = "target-marketo-crm"
    default_sink_class = CRMSink
    message_reader_class = CRMReader
    fatal_errors = FATAL_ERRORS
    # Settings, their ranges and defaults live in `settings` (``--about`` shows them).
    config_jsonschema = CONFIG_SCHEMA

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.records_seen = 0
        self.dry_run_report: dict[str, t.Any] = {}

    # --- settings ---------------------------------------------------------------------------

    def describe_config_error(self, error: ValidationError) -> str:
        return describe_setting_error(error)

    def extra_config_errors(self) -> list[str]:
        # Object names in `actions`/`stream_objects`, settings contradicting each other.
        return setting_errors(self.config)

    @cached_property
    def settings(self) -> TargetSettings:
        return TargetSettings.from_config(self.config)

    @cached_property
    def mapper_settings(self) -> MapperSettings:
        return MapperSettings(
            lookup_field=self.settings.lookup_field,
            unknown_fields=self.settings.unknown_fields,
        )

    def action_for(self, object_name: str) -> str:
        return self.settings.actions.get(object_name, DEFAULT_ACTION)

    def binding_for(self, stream_name: str) -> Binding:
        bound = self.settings.stream_objects.get(stream_name)
        default_flag = self.settings.delete_flag_field
        if bound:
            object_name = normalize_object_name(str(bound["object"]))
            return Binding(
                stream=stream_name,
                object_name=object_name,
                renames=dict(bound.get("fields") or {}),
                delete_flag_field=bound.get("delete_flag_field") or default_flag,
                action=str(bound.get("action") or self.action_for(object_name)),
            )
        default_object = object_for_stream(stream_name)
        if default_object is None:
            raise UnmappedStreamError(
                f"Stream {stream_name!r} maps to no Marketo object: name it like the tap's "
                "streams (leads, companies, ..., custom_<apiName>) or bind it in "
                "`stream_objects`."
            )
        return Binding(stream_name, default_object, {}, default_flag,
                       self.action_for(default_object))

    # --- the Marketo side -------------------------------------------------------------------

    @cached_property
    def client(self) -> MarketoClient:
        return client_from_config(
            self.config, user_agent="target-marketo-crm", logger=self.logger.getChild("client")
        )

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.client, logger=self.logger.getChild("catalog"))

    @cached_property
    def rejects(self) -> RejectLog:
        return RejectLog(self.settings.reject_file, logger=self.logger.getChild("rejects"))

    @cached_property
    def planner(self) -> Planner:
        return Planner(
            kinds=self.catalog.known_kinds,
            company_type_fields=self.catalog.company_type_fields,
            action_for=self.action_for,
            logger=self.logger.getChild("planner"),
        )

    @cached_property
    def writer(self) -> Writer:
        settings = self.settings
        writer_settings = WriterSettings(
            lookup_field=settings.lookup_field,
            partition_name=settings.partition_name,
            bulk_import_threshold=settings.bulk_import_threshold,
            bulk_import_poll_seconds=settings.bulk_import_poll_seconds,
            dry_run=settings.dry_run,
            cascade_deletes=settings.cascade_deletes,
            max_concurrency=settings.max_concurrency,
            batch_size=settings.records_per_call,
            company_action=self.action_for(COMPANIES.name),
        )
        return Writer(self.client, self.catalog, self.rejects, writer_settings,
                      logger=self.logger.getChild("writer"))

    def count_record(self, *, rejected: bool) -> None:
        _ = rejected  # rejects are counted by the RejectLog; this is the denominator
        self.records_seen += 1

    # --- draining (the SDK side of it is in sdk_seam.SeamTarget) ----------------------------

    def drain_needed(self) -> bool:
        # A drain is a full plan of every stream: the buffer limit is for all of them.
        max_buffer = self.settings.max_buffer_records
        if self.buffered_in_sinks() + self.planner.staged_count < max_buffer:
            return False
        self.logger.info("%d records buffered; draining all streams", max_buffer)
        return True

    def commit_drain(self) -> None:
        """Write every staged record, in dependency order (``objects.ORDER``)."""
        plan = self.planner.take_plan()
        if not plan.steps:
            return
        self.logger.info(
            "Writing %d records in %d steps (%d repeats of a key merged): %s", plan.size,
            len(plan.steps), plan.merged_duplicates, json.dumps(plan.counts()),
        )
        self.writer.execute(plan)

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
        finally:
            self._close()
        self._report()

    def _close(self) -> None:
        if "writer" in self.__dict__:
            self.writer.close()
        if "client" in self.__dict__:
            self.client.close()
        if "rejects" in self.__dict__:
            self.rejects.close()

    def _report(self) -> None:
        rejects = self.rejects.total if "rejects" in self.__dict__ else 0
        tally = self.writer.tally if "writer" in self.__dict__ else None
        calls = dict(tally.calls) if tally else {}
        summary = {
            "records": self.records_seen,
            "rejects": rejects,
            "calls": calls,
            "outcomes": dict(tally.outcomes) if tally else {},
        }
        crm_owned = self.writer.crm_owned_objects() if "writer" in self.__dict__ else {}
        if crm_owned:
            # Objects the instance's native CRM sync owns: every record of them was rejected.
            summary["crm_owned"] = crm_owned
        if self.settings.dry_run:
            self.dry_run_report = {**summary, "records_per_call_label":
                                   dict(tally.records) if tally else {}}
            self.logger.info("Dry run plan (nothing written): %s",
                             json.dumps(self.dry_run_report, sort_keys=True))
        else:
            self.logger.info("Run summary: %s", json.dumps(summary, sort_keys=True))
        if rejects:
            self.logger.warning("Rejected: %s", self.rejects.summary())
        if not rejects or not self.settings.fail_on_rejects:
            return
        share = rejects / max(1, self.records_seen)
        allowed = self.settings.max_reject_share
        if share > allowed:
            raise RejectThresholdExceeded(
                f"{rejects} of {self.records_seen} records rejected ({share:.1%} > "
                f"max_reject_share {allowed:.1%}); see "
                f"{self.settings.reject_file or 'the log'}"
            )


if __name__ == "__main__":
    TargetMarketoCRM.cli()
