"""The one seam between the target and singer-sdk's internals.

Marketo needs what the SDK's target does not offer through public hooks: one plan for
every stream per drain (the SDK drains each sink on its own), a buffer limit across
streams, setting checks a JSON schema cannot express, bad records turned into rejects
instead of ending the run, and the ``_sdc_deleted_at`` marker kept. Each of those
overrides or reads a private SDK member; they are ALL here, each with its reason, and
everything else in the target uses the public hooks below (``extra_config_errors``,
``stage_all``/``commit_drain``, ``drain_needed``, ``fatal_errors``, and the sink's
``verdict_*`` methods).

Checked against singer-sdk :data:`SDK_VERSION_CHECKED`. ``tests/target/test_target_sdk_seam.py``
records the signature of every private member used and a hash of the source of every SDK
method overridden here; an SDK upgrade that changes one fails that test, naming what to
re-check in this file.
"""

from __future__ import annotations

import sys
import typing as t
from abc import abstractmethod

from singer_sdk.exceptions import ConfigValidationError, InvalidRecord
from singer_sdk.plugin_base import JSONSchemaValidator
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from jsonschema import ValidationError
    from singer_sdk.sinks import Sink

SDK_VERSION_CHECKED = "0.54.9"

SDC_DELETED_AT = "_sdc_deleted_at"


def one_line(error: BaseException) -> str:
    """An error's text on one line (a fatal error is reported in one ERROR line)."""
    text = str(error).strip() or type(error).__name__
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


class SeamTarget(Target):
    """The SDK's Target with the private overrides the Marketo target needs."""

    # Errors that end a CLI run for a reason the user can act on: one ERROR line, exit 1.
    fatal_errors: t.ClassVar[tuple[type[BaseException], ...]] = ()

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """The CLI run: a fatal error ends it with one clear ERROR line and exit 1.

        Why overridden: the SDK lets any exception out of ``invoke`` with its traceback.
        Bad settings keep the SDK's own path (one line per invalid setting, then "Config
        validation failed", exit 1); other fatal errors log their traceback at DEBUG only.
        Checked: ``Target.invoke`` builds the target and calls ``listen`` (SDK 0.54.9).
        """
        try:
            super().invoke(*args, **kwargs)
        except ConfigValidationError:
            raise
        except cls.fatal_errors as error:
            cls.logger.debug("Traceback of the fatal error below", exc_info=True)
            cls.logger.error("%s failed: %s", cls.name, one_line(error))
            sys.exit(1)

    # --- settings ------------------------------------------------------------------------

    def extra_config_errors(self) -> list[str]:
        """Setting errors a JSON schema cannot find, each naming its setting."""
        return []

    def describe_config_error(self, error: ValidationError) -> str:
        """One JSON schema error as the SDK words it: the message, then the setting."""
        where = "".join(f"[{part!r}]" for part in error.path)
        return f"{error.message} in config{where}" if where else error.message

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The SDK's schema checks (types, enums, ranges; defaults filled in) worded by
        :meth:`describe_config_error`, then :meth:`extra_config_errors`, through the same
        ConfigValidationError ("Config validation failed", one line per error, exit 1).

        Why overridden: the SDK has no public hook for validation beyond the schema, nor
        for the wording of its errors (which quote the value, secrets included); this
        private method is what the constructor calls. It repeats the SDK's steps: the
        built-in settings appended to the schema, the SDK's default-filling validator run
        on the config itself (``self._config``). Checked against
        ``PluginBase._validate_config`` of SDK 0.54.9.
        """
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        validator = JSONSchemaValidator(schema)
        errors = [self.describe_config_error(e) for e in validator.iter_errors(self._config)]
        if not errors:
            errors = self.extra_config_errors()
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        for error in errors:
            self.logger.warning("Invalid setting: %s", error)
        return errors

    # --- draining ------------------------------------------------------------------------

    @abstractmethod
    def commit_drain(self) -> None:
        """Write everything the drain staged; runs before the SDK emits STATE."""

    def drain_needed(self) -> bool:
        """Whether the buffers (all streams together) call for a drain now."""
        return False

    def _drain_all(self, sink_list: Iterable[Sink], parallelism: int) -> None:
        """Stage every sink's records, then commit them all together.

        Why overridden: ``drain_all`` (final in the SDK) calls this twice, first for the
        sinks a schema change retired (``_sinks_to_clear``), then for the active ones,
        then emits STATE. Draining each sink stages its records; committing once, after
        the second call, keeps one plan (one write order) per drain, finished before the
        STATE goes out. Checked against ``Target.drain_all`` of SDK 0.54.9.
        """
        _ = parallelism  # staging is a list move; the writer has its own parallelism
        for sink in list(sink_list):
            self.drain_one(sink)
        if sink_list is self._sinks_to_clear:
            return
        self.commit_drain()

    def buffered_in_sinks(self) -> int:
        """Records held by every sink, active or retired by a schema change (the SDK keeps
        the two groups in private members)."""
        held = sum(s.current_size for s in self._sinks_active.values())
        return held + sum(s.current_size for s in self._sinks_to_clear)

    def _handle_max_record_age(self) -> None:
        """Why overridden: the SDK calls this after every record and only drains on age
        or on one sink being full; a drain here plans every stream, so the buffer limit is
        for all streams together (:meth:`drain_needed`). Checked: called from
        ``Target._process_record_message`` (SDK 0.54.9)."""
        if self.drain_needed():
            self.drain_all()
            return
        super()._handle_max_record_age()


class SeamSink(BatchSink):
    """The SDK's BatchSink, keeping ``_sdc_deleted_at`` and turning the SDK's record
    checks into a verdict (code, message) the sink reports instead of raising."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # The verdict of the SDK-side checks on the record being processed.
        self.verdict: tuple[str, str] | None = None

    def take_verdict(self) -> tuple[str, str] | None:
        verdict, self.verdict = self.verdict, None
        return verdict

    @abstractmethod
    def verdict_on_schema(self, error: InvalidRecord, validator: t.Any) -> tuple[str, str]:
        """The verdict on a record breaking its stream's SCHEMA."""

    @abstractmethod
    def verdict_on_timestamp(self, error: ValueError) -> tuple[str, str]:
        """The verdict on a record whose date-time the SDK cannot parse."""

    @abstractmethod
    def verdict_on_missing_keys(self, missing: list[str]) -> tuple[str, str]:
        """The verdict on a record lacking declared key properties."""

    # Why overridden: the SDK strips every _sdc_* field unless add_record_metadata is on;
    # the delete marker must survive whatever that setting says. Checked against
    # ``Sink._remove_sdc_metadata_from_schema``/``_from_record`` of SDK 0.54.9.
    def _remove_sdc_metadata_from_schema(self) -> None:
        kept = self.schema.get("properties", {}).get(SDC_DELETED_AT)
        super()._remove_sdc_metadata_from_schema()
        if kept is not None:
            self.schema["properties"][SDC_DELETED_AT] = kept

    def _remove_sdc_metadata_from_record(self, record: dict[str, t.Any]) -> None:
        deleted_at = record.get(SDC_DELETED_AT)
        super()._remove_sdc_metadata_from_record(record)
        if deleted_at is not None:
            record[SDC_DELETED_AT] = deleted_at

    # Why overridden: the SDK runs these two on every record before ``process_record``
    # and raises on a bad one, which would end the run; a bad record must become a
    # reject. The body repeats the SDK's steps (validator, then timestamp parsing with the
    # sink's datetime treatment) with a verdict instead of the raise. Checked against
    # ``Sink._validate_and_parse``/``_singer_validate_message`` of SDK 0.54.9.
    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        self.verdict = None
        if self._validator is not None:
            try:
                self._validator.validate(record)
            except InvalidRecord as error:
                self.verdict = self.verdict_on_schema(error, self._validator)
                return record
        try:
            self._parse_timestamps_in_record(
                record=record, schema=self.schema, treatment=self.datetime_error_treatment
            )
        except ValueError as error:
            self.verdict = self.verdict_on_timestamp(error)
        return record

    def _singer_validate_message(self, record: dict[str, t.Any]) -> None:
        if self.verdict is not None:
            return
        missing = [name for name in self.key_properties if name not in record]
        if missing:
            self.verdict = self.verdict_on_missing_keys(missing)
