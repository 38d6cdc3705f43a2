"""target-marketo-crm: CRM records into Marketo, with Marketo's keys and Adobe's order.

The SDK drains each sink on its own; Marketo needs the opposite (a role after its lead
and opportunity, a sales person deleted after its leads let go). So sinks only validate
and stage, and every drain of the target plans and writes ALL staged records together,
in ``objects.ORDER``. STATE messages go out at the end of a drain, after that drain's
writes completed, so a checkpoint never covers a record not yet in Marketo.
"""

from __future__ import annotations

import json
import sys
import typing as t
from functools import cached_property

from marketo_core.client import MarketoClient
from marketo_core.errors import MarketoError
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, SingerSDKError
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine, SingerError
from singer_sdk.singerlib.json import deserialize_json
from singer_sdk.target_base import Target

from target_marketo_crm.catalog import Catalog, UnknownObjectError
from target_marketo_crm.objects import (
    ACTIONS,
    COMPANIES,
    CUSTOM_PREFIX,
    DEFAULT_ACTION,
    MAX_RECORDS_PER_CALL,
    STANDARD_KINDS,
    normalize_object_name,
    object_for_stream,
)
from target_marketo_crm.planner import Planner
from target_marketo_crm.rejects import RejectLog
from target_marketo_crm.sinks import Binding, CRMSink, MapperSettings
from target_marketo_crm.writer import Writer, WriterSettings

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.sinks import Sink


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

_URL_PATTERN = r"^https?://[^/\s]+"
# Characters of a bad input line an error message shows.
_SHOWN_CHARS = 1000


def known_object_name(name: str) -> bool:
    """Whether a setting's object name names a Marketo object the target can write
    (a custom object's apiName is only checked against describe at run time)."""
    normalized = normalize_object_name(name)
    if normalized in STANDARD_KINDS:
        return True
    return normalized.startswith(CUSTOM_PREFIX) and len(normalized) > len(CUSTOM_PREFIX)


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


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


_STREAM_OBJECT = th.ObjectType(
    th.Property(
        "object", th.StringType, required=True,
        description="Marketo object: salespersons, companies, leads, opportunities, "
        "opportunity_roles, program_members, list_members, campaign_requests, or "
        "customobjects/<apiName>.",
    ),
    th.Property(
        "fields", th.ObjectType(additional_properties=th.StringType(nullable=True)),
        description="Renames, source field -> Marketo field (e.g. {\"Id\": "
        "\"externalCompanyId\"}); map a field to null to drop it.",
    ),
    th.Property("action", th.StringType(allowed_values=list(ACTIONS)),
                description="Overrides `actions` for this stream."),
    th.Property("delete_flag_field", th.StringType,
                description="Overrides `delete_flag_field` for this stream."),
    # A misspelt key ("field", "actions") would otherwise be ignored without a word.
    additional_properties=False,
)


class TargetMarketoCRM(Target):
    """Singer target writing CRM records into Adobe Marketo Engage."""

    name = "target-marketo-crm"
    default_sink_class = CRMSink
    message_reader_class = CRMReader

    config_jsonschema = th.PropertiesList(
        th.Property("endpoint", th.StringType(pattern=_URL_PATTERN), required=True,
                    description="REST base URL, https://<munchkin-id>.mktorest.com."),
        th.Property("identity", th.StringType(pattern=_URL_PATTERN),
                    description="Identity URL; default <endpoint>/identity."),
        th.Property("client_id", th.StringType, required=True,
                    description="Client id of the Marketo API-only user's LaunchPoint service."),
        th.Property("client_secret", th.StringType, required=True, secret=True,
                    description="Client secret of that service (never logged)."),
        th.Property("lookup_field", th.StringType(min_length=1), default="email",
                    description="Lead dedupe field (Marketo's lookupField). Adobe recommends "
                    "a custom field holding the CRM id, so an email change cannot create a "
                    "duplicate. Also how roles, memberships and campaign requests name their "
                    "lead when they carry no Marketo leadId."),
        th.Property("partition_name", th.StringType,
                    description="Lead partition for lead upserts (Marketo's partitionName)."),
        th.Property(
            "actions", th.ObjectType(additional_properties=th.StringType(
                allowed_values=list(ACTIONS))),
            description="Sync action per object, e.g. {\"companies\": \"updateOnly\"}; "
            "createOrUpdate by default. createOnly meeting an existing record is not a "
            "reject; updateOnly meeting a missing one is.",
        ),
        th.Property(
            "stream_objects", th.ObjectType(additional_properties=_STREAM_OBJECT),
            description="Streams with other names than the tap's (salespersons, companies, "
            "leads, opportunities, opportunity_roles, program_memberships, "
            "list_memberships, campaign_requests, custom_<apiName>): stream name -> "
            "{object, fields, action, delete_flag_field}. E.g. {\"Account\": {\"object\": "
            "\"companies\", \"fields\": {\"Id\": \"externalCompanyId\"}}}.",
        ),
        th.Property("delete_flag_field", th.StringType,
                    description="A boolean field marking deleted records (e.g. a CRM's "
                    "IsDeleted), besides `_sdc_deleted_at`. Never sent to Marketo."),
        th.Property("unknown_fields", th.StringType(allowed_values=["reject", "ignore"]),
                    default="reject",
                    description="A field Marketo's describe does not know: reject the record "
                    "with 1006 (default) or drop the field and write the rest."),
        th.Property("reject_file", th.StringType,
                    description="Path of a JSON-lines file receiving every record Marketo "
                    "(or the target) refused: stream, object, op, key, code, message, record. "
                    "Appended to, never truncated."),
        th.Property("fail_on_rejects", th.BooleanType, default=True,
                    description="Exit non-zero at the end of a run whose rejects exceed "
                    "`max_reject_share` (by default: any reject). Everything else is "
                    "written first."),
        th.Property("max_reject_share", th.NumberType(minimum=0, maximum=1), default=0.0,
                    description="Share of records (0..1) that may be rejected before "
                    "`fail_on_rejects` fails the run."),
        th.Property("bulk_import_threshold", th.IntegerType(minimum=0), default=10_000,
                    description="Lead upserts in one drain at or above this count go through "
                    "bulk lead import (CSV files of <= 10 MB) instead of REST; 0 disables. "
                    "Only for the createOrUpdate action."),
        th.Property("bulk_import_poll_seconds", th.NumberType(exclusive_minimum=0),
                    default=5.0,
                    description="Longest wait between bulk import status polls."),
        th.Property("cascade_deletes", th.BooleanType, default=True,
                    description="Before deleting an opportunity, delete its remaining roles; "
                    "before deleting a sales person, clear externalSalesPersonId on leads "
                    "still pointing at it (Adobe's rule)."),
        th.Property("dry_run", th.BooleanType, default=False,
                    description="Validate, map and plan (calls per object and action, "
                    "logged) without writing anything."),
        th.Property("max_concurrency", th.IntegerType(minimum=1, maximum=10), default=5,
                    description="Requests in flight (Marketo allows 10 per instance across "
                    "all integrations; Adobe advises <= 5)."),
        th.Property("max_daily_calls", th.IntegerType(minimum=1),
                    description="Stop cleanly before the instance's calls today (all "
                    "integrations) exceed this."),
        th.Property("rate_limit_calls", th.IntegerType(minimum=1), default=100,
                    description="Marketo's rate limit: calls per window (per instance)."),
        th.Property("rate_limit_window_seconds", th.NumberType(exclusive_minimum=0),
                    default=20.0,
                    description="Marketo's rate window in seconds."),
        th.Property("rate_limit_headroom", th.IntegerType(minimum=0), default=10,
                    description="Calls per window left to other integrations."),
        th.Property("records_per_call",
                    th.IntegerType(minimum=1, maximum=MAX_RECORDS_PER_CALL),
                    default=MAX_RECORDS_PER_CALL,
                    description="Records per REST write (Marketo's maximum is 300)."),
        th.Property("max_buffer_records", th.IntegerType(minimum=1), default=50_000,
                    description="Buffered records (all streams) that trigger a drain. Order "
                    "is guaranteed within a drain: a parent arriving after its children "
                    "beyond this distance is written in a later drain."),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.records_seen = 0
        self.dry_run_report: dict[str, t.Any] = {}

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """The CLI run: a fatal error ends it with one clear ERROR line and exit 1.

        Bad settings take the SDK's own path (one line per invalid setting, then "Config
        validation failed", exit 1). The traceback of a fatal error is logged at DEBUG only.
        """
        try:
            super().invoke(*args, **kwargs)
        except ConfigValidationError:
            raise
        except FATAL_ERRORS as error:
            cls.logger.debug("Traceback of the fatal error below", exc_info=True)
            cls.logger.error("%s failed: %s", cls.name, _one_line(error))
            sys.exit(1)

    # --- settings ---------------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The JSON schema's checks (types, enums, ranges), then what a schema cannot say:
        object names in ``actions`` and ``stream_objects``, and settings that contradict
        each other. Each error names its setting."""
        errors = super()._validate_config(raise_errors=raise_errors)
        if errors:
            return errors
        errors = self._setting_errors()
        if errors and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=errors, schema=self.config_jsonschema
            )
        for error in errors:
            self.logger.warning("Invalid setting: %s", error)
        return errors

    def _setting_errors(self) -> list[str]:
        cfg = self.config
        errors: list[str] = []
        known = ("salespersons, companies, leads, opportunities, opportunity_roles, "
                 "program_members, list_members, campaign_requests or customobjects/<apiName>")
        for name in (cfg.get("actions") or {}):
            if not known_object_name(str(name)):
                errors.append(f"{name!r} is not a Marketo object ({known}) in "
                              "config['actions']")
        for stream, binding in (cfg.get("stream_objects") or {}).items():
            object_name = str((binding or {}).get("object") or "")
            if not known_object_name(object_name):
                errors.append(f"{object_name!r} is not a Marketo object ({known}) in "
                              f"config['stream_objects'][{stream!r}]['object']")
        calls, headroom = self._rate_limit_calls, self._rate_limit_headroom
        if headroom >= calls:
            errors.append(f"{headroom} leaves no calls per window to this target "
                          f"(rate_limit_calls is {calls}) in config['rate_limit_headroom']")
        return errors

    @property
    def _rate_limit_calls(self) -> int:
        value = self.config.get("rate_limit_calls")
        return 100 if value is None else int(value)

    @property
    def _rate_limit_headroom(self) -> int:
        value = self.config.get("rate_limit_headroom")
        return 10 if value is None else int(value)

    @property
    def lookup_field(self) -> str:
        return str(self.config.get("lookup_field") or "email")

    @cached_property
    def mapper_settings(self) -> MapperSettings:
        return MapperSettings(
            lookup_field=self.lookup_field,
            unknown_fields=str(self.config.get("unknown_fields") or "reject"),
        )

    @cached_property
    def _actions(self) -> dict[str, str]:
        raw = self.config.get("actions") or {}
        return {normalize_object_name(k): str(v) for k, v in raw.items()}

    def action_for(self, object_name: str) -> str:
        return self._actions.get(object_name, DEFAULT_ACTION)

    def binding_for(self, stream_name: str) -> Binding:
        settings = (self.config.get("stream_objects") or {}).get(stream_name)
        default_flag = self.config.get("delete_flag_field")
        if settings:
            object_name = normalize_object_name(str(settings["object"]))
            return Binding(
                stream=stream_name,
                object_name=object_name,
                renames=dict(settings.get("fields") or {}),
                delete_flag_field=settings.get("delete_flag_field") or default_flag,
                action=str(settings.get("action") or self.action_for(object_name)),
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

    @property
    def dry_run(self) -> bool:
        return bool(self.config.get("dry_run"))

    # --- the Marketo side -------------------------------------------------------------------

    @cached_property
    def client(self) -> MarketoClient:
        cfg = self.config
        return MarketoClient(
            cfg["endpoint"], cfg["client_id"], cfg["client_secret"],
            identity=cfg.get("identity"),
            max_concurrency=int(cfg.get("max_concurrency") or 5),
            rate_limit_calls=self._rate_limit_calls,
            rate_limit_window=float(cfg.get("rate_limit_window_seconds") or 20.0),
            rate_limit_headroom=self._rate_limit_headroom,
            max_daily_calls=cfg.get("max_daily_calls"),
            user_agent="target-marketo-crm",
            logger=self.logger.getChild("client"),
        )

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.client, logger=self.logger.getChild("catalog"))

    @cached_property
    def rejects(self) -> RejectLog:
        return RejectLog(self.config.get("reject_file"), logger=self.logger.getChild("rejects"))

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
        cfg = self.config
        settings = WriterSettings(
            lookup_field=self.lookup_field,
            partition_name=cfg.get("partition_name"),
            bulk_import_threshold=int(cfg.get("bulk_import_threshold", 10_000) or 0),
            bulk_import_poll_seconds=float(cfg.get("bulk_import_poll_seconds") or 5.0),
            dry_run=self.dry_run,
            cascade_deletes=bool(cfg.get("cascade_deletes", True)),
            max_concurrency=int(cfg.get("max_concurrency") or 5),
            batch_size=max(1, min(MAX_RECORDS_PER_CALL,
                                  int(cfg.get("records_per_call") or MAX_RECORDS_PER_CALL))),
            company_action=self.action_for(COMPANIES.name),
        )
        return Writer(self.client, self.catalog, self.rejects, settings,
                      logger=self.logger.getChild("writer"))

    def count_record(self, *, rejected: bool) -> None:
        _ = rejected  # rejects are counted by the RejectLog; this is the denominator
        self.records_seen += 1

    # --- draining ---------------------------------------------------------------------------

    def _drain_all(self, sink_list: Iterable[Sink], parallelism: int) -> None:
        """Stage every sink's records, then write them all in dependency order.

        ``drain_all`` calls this for sinks retired by a schema change, then for the active
        ones, then emits STATE: staging the first group and committing with the second
        keeps one plan (one order) per drain, finished before the STATE goes out.
        """
        _ = parallelism  # staging is a list move; the parallelism is in the writer
        sinks = list(sink_list)
        for sink in sinks:
            self.drain_one(sink)
        if sink_list is self._sinks_to_clear:
            return
        self._commit()

    def _buffered(self) -> int:
        in_sinks = sum(s.current_size for s in self._sinks_active.values())
        in_sinks += sum(s.current_size for s in self._sinks_to_clear)
        return in_sinks + self.planner.staged_count

    def _handle_max_record_age(self) -> None:
        # A drain is a full plan of every stream: one full sink drains them all.
        max_buffer = int(self.config.get("max_buffer_records") or 50_000)
        if self._buffered() >= max_buffer:
            self.logger.info("%d records buffered; draining all streams", max_buffer)
            self.drain_all()
            return
        super()._handle_max_record_age()

    def _commit(self) -> None:
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
        if self.dry_run:
            self.dry_run_report = {**summary, "records_per_call_label":
                                   dict(tally.records) if tally else {}}
            self.logger.info("Dry run plan (nothing written): %s",
                             json.dumps(self.dry_run_report, sort_keys=True))
        else:
            self.logger.info("Run summary: %s", json.dumps(summary, sort_keys=True))
        if rejects:
            self.logger.warning("Rejected: %s", self.rejects.summary())
        if not rejects or not self.config.get("fail_on_rejects", True):
            return
        share = rejects / max(1, self.records_seen)
        allowed = float(self.config.get("max_reject_share") or 0.0)
        if share > allowed:
            raise RejectThresholdExceeded(
                f"{rejects} of {self.records_seen} records rejected ({share:.1%} > "
                f"max_reject_share {allowed:.1%}); see "
                f"{self.config.get('reject_file') or 'the log'}"
            )


if __name__ == "__main__":
    TargetMarketoCRM.cli()
