"""TapMarketoCRM: settings, discovery from Marketo's describe endpoints, sync order."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from marketo_core import MarketoClient
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.plugin_base import PluginBase

from tap_marketo_crm import discovery
from tap_marketo_crm.client import EXIT_RESUMABLE, STATE_KEY, SyncRun, state_section
from tap_marketo_crm.exports import ExportUsage

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

    config_jsonschema = th.PropertiesList(
        th.Property(
            "endpoint",
            th.StringType,
            required=True,
            description="REST endpoint of the instance, e.g. https://123-ABC-456.mktorest.com "
            "(Admin > Web Services). Lead database, asset and bulk APIs all use it.",
        ),
        th.Property(
            "identity",
            th.StringType,
            description="Identity endpoint; default: the endpoint + /identity.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            secret=True,
            description="Client id of the API-only user's LaunchPoint service.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            description="Client secret of that service. Never logged.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            required=True,
            description="Oldest data to sync on a first run (leads updated, activities "
            "created, programs updated since then). ISO 8601, e.g. 2025-01-01T00:00:00Z.",
        ),
        th.Property(
            "max_daily_calls",
            th.IntegerType,
            default=40_000,
            description="Stop cleanly (state saved, exit status 75) before the instance's "
            "calls today, as /stats/usage reports them plus ours, would pass this number. "
            "Keep it under the subscription's daily quota (50,000 typical) so other "
            "integrations keep room.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=5,
            description="Calls in flight at once (Marketo allows 10 per instance and advises 5).",
        ),
        th.Property(
            "max_export_days",
            th.IntegerType,
            default=31,
            description="Days per bulk export window (Marketo allows at most 31).",
        ),
        th.Property(
            "lookback_window_days",
            th.NumberType,
            default=0,
            description="Re-read this many days before each bookmark (bulk exports and the "
            "activity feed), for data Marketo records late. 0 re-reads only the boundary "
            "second. Larger values re-export that span on every run.",
        ),
        th.Property(
            "bulk_poll_interval_seconds",
            th.NumberType,
            default=60,
            description="Seconds between status checks of a pending export job (Marketo "
            "updates job status at most once a minute; each check is one API call).",
        ),
        th.Property(
            "bulk_job_timeout_seconds",
            th.NumberType,
            default=10_800,
            description="How long to wait for one export job before leaving it for the "
            "next run (its exportId stays in state and is resumed, not exported again).",
        ),
        th.Property(
            "max_export_mb_per_day",
            th.NumberType,
            default=500,
            description="Bulk export file MB per Marketo day (00:00 US Central) this tap may "
            "use, counted across runs in state. Marketo's own quota is 500 MB per day for "
            "every integration together.",
        ),
        th.Property(
            "priority_first",
            th.BooleanType,
            default=False,
            description="On a first sync, export the newest activity window first and "
            "backfill older windows, newest first, down to start_date in later runs. State "
            "keeps both edges per activity type.",
        ),
        th.Property(
            "rate_limit_calls",
            th.IntegerType,
            default=100,
            description="The instance's rate limit: calls per rate_limit_window_seconds "
            "(Marketo: 100 per 20 s for all integrations together). The tap keeps 10 "
            "calls of headroom.",
        ),
        th.Property(
            "rate_limit_window_seconds",
            th.NumberType,
            default=20,
            description="Length of the rate-limit window in seconds (Marketo: 20).",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._client: MarketoClient | None = None
        self._run: SyncRun | None = None
        super().__init__(*args, **kwargs)

    # --- shared resources -------------------------------------------------------------

    @property
    def client(self) -> MarketoClient:
        if self._client is None:
            cfg = self.config
            self._client = MarketoClient(
                cfg["endpoint"],
                cfg["client_id"],
                cfg["client_secret"],
                identity=cfg.get("identity") or None,
                max_concurrency=int(cfg.get("max_concurrency") or 5),
                rate_limit_calls=int(cfg.get("rate_limit_calls") or 100),
                rate_limit_window=float(cfg.get("rate_limit_window_seconds") or 20),
                max_daily_calls=cfg.get("max_daily_calls"),
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
        return ExportUsage(usage, self.config.get("max_export_mb_per_day"))

    # --- state ------------------------------------------------------------------------

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        # Tap-level state (export quota used today, the shared activity export job) sits
        # beside "bookmarks"; the SDK only carries bookmarks over by itself.
        section = state.get(STATE_KEY)
        if isinstance(section, dict):
            self.state[STATE_KEY] = dict(section)

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


if __name__ == "__main__":
    TapMarketoCRM.cli()
