"""TapMarketoCRM: settings, discovery from Marketo's describe endpoints, the sync order
(from the streams' ``depends_on``), and the command line (``--properties`` included)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC
from typing import IO, Any

import click
from marketo_core import MarketoClient
from marketo_core.connection import client_from_config
from marketo_core.errors import MarketoError, QuotaExhausted, Redactor
from singer_sdk import Stream
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.plugin_base import SingerCommand

from tap_marketo_crm import discovery, sdk_seam
from tap_marketo_crm.pipeline import ExportUsage
from tap_marketo_crm.run import EXIT_RESUMABLE, EXIT_RETENTION_GAP, SyncRun
from tap_marketo_crm.settings import CONFIG_SCHEMA, SECRETS, config_errors, setting
from tap_marketo_crm.state import STATE_KEY, raw_state, state_section
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.sync_order import sync_order

# Errors that end a run for a reason the user can act on (credentials, permissions,
# Marketo refusing a request): one clear log line and exit status 1, the traceback only
# at DEBUG. Anything else is a bug and keeps the SDK's traceback.
FATAL_ERRORS: tuple[type[BaseException], ...] = (FatalAPIError, MarketoError)
EXIT_FATAL = 1


class TapMarketoCRM(sdk_seam.SeamTap):
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
        self._ordered_streams: dict[str, Stream] | None = None
        super().__init__(*args, **kwargs)

    # --- settings ---------------------------------------------------------------------

    def validate_settings(self, config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        """The SDK's validation (defaults filled in), with one message per bad setting
        that names it and says what is allowed, plus what JSON schema cannot check."""
        for name in SECRETS:
            value = config.get(name)
            if isinstance(value, str):
                TapMarketoCRM._redactor.add(value)
        # The SDK's own validator: it also fills defaults in.
        return config_errors(config, schema, sdk_seam.config_validator())

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
            self._run = SyncRun.start(self)
            self._run.check_retention()
        return self._run

    def close_client(self) -> None:
        """Close the Marketo client, if this tap made one."""
        if self._client is not None:
            self._client.close()

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
        """The streams in sync order (the SDK syncs them in this dict's order): each
        after the streams it ``depends_on``."""
        if self._ordered_streams is None:
            loaded = super().streams
            depends_on = {
                name: stream.depends_on if isinstance(stream, MarketoStream) else ()
                for name, stream in loaded.items()
            }
            self._ordered_streams = {name: loaded[name] for name in sync_order(depends_on)}
        return self._ordered_streams

    # --- command line -----------------------------------------------------------------

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, ending fatal errors (discovery included) with one line."""
        command = super().get_singer_command()
        # Stitch-style runners and singer-io-era tooling pass the catalog as --properties
        # (its name before --catalog): same meaning.
        command.params.append(
            click.Option(
                ["--properties"],
                help="Legacy name of --catalog (Stitch-style runners): the same catalog file.",
                type=click.File(),
            )
        )
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
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
        properties: IO[str] | None = None,
    ) -> None:
        """As the SDK's, plus ``--properties`` and the exit status of a resumable stop."""
        if catalog is not None and properties is not None:
            raise click.BadOptionUsage(
                "properties",
                "--properties is the legacy name of --catalog: give one of them, not both",
            )
        sdk_seam.run_tap_command(
            cls,
            about=about,
            about_format=about_format,
            config=config,
            state=state,
            catalog=catalog if catalog is not None else properties,
            sync=_sync_and_exit,
        )


def _sync_and_exit(tap: TapMarketoCRM) -> None:
    """Sync, report the calls made, and exit 65 when a stream was skipped at a retention
    gap (on_retention_gap = stop), 75 when the run stopped resumably."""
    try:
        tap.sync_all()
    finally:
        tap.run.close()
        if tap._client is not None:
            tap.logger.info("Marketo API calls this run: %d", tap._client.calls_made)
        tap.close_client()
    sys.stdout.flush()
    if tap.run.retention_stops:
        # Before 75: running again later does not help, someone has to decide.
        sys.exit(EXIT_RETENTION_GAP)
    if tap.run.incomplete:
        sys.exit(EXIT_RESUMABLE)


class _FatalErrorCommand(SingerCommand):
    """Ends a run stopped by a fatal Marketo error (bad credentials, 603 access denied,
    a request Marketo refuses...) with ONE error line and exit status 1. Secret settings
    are scrubbed from it; the traceback is logged only at DEBUG."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except QuotaExhausted as exc:
            # A daily limit met before any stream started (the usage check at start-up,
            # or discovery's describe calls): nothing was synced and the state given is
            # unchanged, so this is the same resumable stop as one met mid-sync.
            report_quota_stop(self.logger, exc)
            sys.exit(EXIT_RESUMABLE)
        except FATAL_ERRORS as exc:
            report_fatal(self.logger, exc)
            sys.exit(EXIT_FATAL)


def report_quota_stop(logger: logging.Logger, exc: QuotaExhausted) -> None:
    reset = exc.resets_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = " ".join(TapMarketoCRM._redactor.redact(str(exc)).split())
    logger.warning(
        "Stopping the sync: %s before any stream started (discovery or the start-up "
        "checks). Nothing was synced and the state is unchanged; run again after %s "
        "(00:00 US Central). Exit status %d.",
        text,
        reset,
        EXIT_RESUMABLE,
    )


def report_fatal(logger: logging.Logger, exc: BaseException) -> None:
    redact = TapMarketoCRM._redactor.redact
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("Traceback of the error below", exc_info=exc)
    text = " ".join(redact(str(exc) or type(exc).__name__).split())
    logger.error("Run failed: %s (exit status %d)", text, EXIT_FATAL)


if __name__ == "__main__":
    TapMarketoCRM.cli()
