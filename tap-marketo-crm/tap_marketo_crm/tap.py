"""TapMarketoCRM: settings, discovery from Marketo's describe endpoints, sync order."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import click
from marketo_core import MarketoClient
from marketo_core.connection import client_from_config
from marketo_core.errors import MarketoError, Redactor
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError
from singer_sdk.plugin_base import JSONSchemaValidator, PluginBase, SingerCommand

from tap_marketo_crm import discovery
from tap_marketo_crm.client import (
    EXIT_RESUMABLE,
    STATE_KEY,
    SyncRun,
    raw_state,
    state_section,
)
from tap_marketo_crm.exports import ExportUsage
from tap_marketo_crm.settings import CONFIG_SCHEMA, SECRETS, config_errors, setting

# Errors that end a run for a reason the user can act on (credentials, permissions,
# Marketo refusing a request): one clear log line and exit status 1, the traceback only
# at DEBUG. Anything else is a bug and keeps the SDK's traceback.
FATAL_ERRORS: tuple[type[BaseException], ...] = (FatalAPIError, MarketoError)
EXIT_FATAL = 1

# Streams run in this order (the SDK would run them by name): a stream that uses what
# another finds comes after it. Companies and sales persons are fetched by the keys seen
# on leads and opportunities (and sales persons by those on companies); the activity
# feed (read once, by whichever stream needs it first) drives deleted_leads,
# opportunities, roles, and program and list memberships.
SYNC_ORDER: tuple[str, ...] = (
    "activity_types",
    "leads",
    "deleted_leads",
    "activities_*",
    "opportunities",
    "opportunity_roles",
    "companies",
    "salespersons",
    "programs",
    "program_memberships",
    "static_lists",
    "list_memberships",
    "campaigns",
    "custom_*",
)


def _sync_rank(name: str) -> tuple[int, str]:
    for rank, pattern in enumerate(SYNC_ORDER):
        if (pattern.endswith("*") and name.startswith(pattern[:-1])) or name == pattern:
            return rank, name
    return len(SYNC_ORDER), name


class TapMarketoCRM(Tap):
    """Singer tap for Adobe Marketo Engage: every entity, incremental, resumable exports."""

    name = "tap-marketo-crm"
    # Streams and their columns come from describe endpoints (custom fields, custom
    # activity types and custom objects included), so discovery needs valid credentials.
    dynamic_catalog = True

    # Settings and their ranges live in `settings` (``--about`` shows both).
    config_jsonschema = CONFIG_SCHEMA

    # Secret setting values of the taps built in this process: the fatal error line is
    # scrubbed of them whatever produced its text.
    _redactor: Redactor = Redactor()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._client: MarketoClient | None = None
        self._run: SyncRun | None = None
        super().__init__(*args, **kwargs)

    # --- settings ---------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The SDK's validation (defaults filled in), with one message per bad setting
        that names it and says what is allowed, plus what JSON schema cannot check."""
        for name in SECRETS:
            value = self._config.get(name)
            if isinstance(value, str):
                TapMarketoCRM._redactor.add(value)
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        # The SDK's own validator: it also fills defaults in.
        errors = config_errors(self._config, schema, JSONSchemaValidator)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        for error in errors:
            self.logger.warning("Config validation: %s", error)
        return errors

    # --- shared resources -------------------------------------------------------------

    @property
    def client(self) -> MarketoClient:
        if self._client is None:
            self._client = client_from_config(
                self.config,
                user_agent=f"{self.name}/{self.plugin_version}",
                logger=self.logger.getChild("client"),
            )
        return self._client

    @property
    def run(self) -> SyncRun:
        if self._run is None:
            self._run = SyncRun(self)
        return self._run

    @property
    def export_usage(self) -> ExportUsage:
        usage = state_section(self.state).setdefault("export_usage", {})
        return ExportUsage(usage, setting(self.config, "max_export_mb_per_day"))

    # --- state ------------------------------------------------------------------------

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        # Tap-level state (export quota used today, the shared activity export job) sits
        # beside "bookmarks"; the SDK only carries bookmarks over by itself.
        section = state.get(STATE_KEY)
        if isinstance(section, dict):
            raw_state(self.state)[STATE_KEY] = dict(section)

    # --- streams ----------------------------------------------------------------------

    def discover_streams(self) -> Sequence[Stream]:
        if self.input_catalog is not None:
            # A catalog run rebuilds streams from the catalog alone: no describe calls.
            return discovery.streams_from_catalog(self, self.input_catalog)
        return discovery.streams_from_marketo(self, self.client)

    @property
    def streams(self) -> dict[str, Stream]:
        streams = super().streams
        ordered = sorted(streams, key=_sync_rank)
        if list(streams) != ordered:
            self._streams = {name: streams[name] for name in ordered}
        return self._streams  # type: ignore[return-value]

    # --- command line -----------------------------------------------------------------

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, ending fatal errors (discovery included) with one line."""
        command = super().get_singer_command()
        return _FatalErrorCommand(
            name=command.name,
            callback=command.callback,
            params=command.params,
            help=command.help,
            context_settings=command.context_settings,
            logger=cls.logger,
        )

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: Any = None,
        catalog: Any = None,
    ) -> None:
        """As the SDK's, plus the documented exit status of a resumable stop."""
        from singer_sdk.helpers._util import load_json  # noqa: PLC0415
        from singer_sdk.plugin_base import _ConfigInput  # noqa: PLC0415

        PluginBase.invoke.__func__(cls, about=about, about_format=about_format)  # type: ignore[attr-defined]
        cls.print_version(print_fn=cls.logger.info)
        config = config or _ConfigInput()
        tap = cls(
            config=config.config,
            state=None if state is None else load_json(state.read()),
            catalog=None if catalog is None else load_json(catalog.read()),
            parse_env_config=config.parse_env,
            validate_config=True,
        )
        try:
            tap.sync_all()
        finally:
            if tap._client is not None:
                tap.logger.info("Marketo API calls this run: %d", tap._client.calls_made)
                tap._client.close()
        sys.stdout.flush()
        if tap.run.incomplete:
            sys.exit(EXIT_RESUMABLE)


class _FatalErrorCommand(SingerCommand):
    """Ends a run stopped by a fatal Marketo error (bad credentials, 603 access denied,
    a request Marketo refuses...) with ONE error line and exit status 1. Secret settings
    are scrubbed from it; the traceback is logged only at DEBUG."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except FATAL_ERRORS as exc:
            report_fatal(self.logger, exc)
            sys.exit(EXIT_FATAL)


def report_fatal(logger: logging.Logger, exc: BaseException) -> None:
    redact = TapMarketoCRM._redactor.redact
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("Traceback of the error below", exc_info=exc)
    text = " ".join(redact(str(exc) or type(exc).__name__).split())
    logger.error("Run failed: %s (exit status %d)", text, EXIT_FATAL)


if __name__ == "__main__":
    TapMarketoCRM.cli()
