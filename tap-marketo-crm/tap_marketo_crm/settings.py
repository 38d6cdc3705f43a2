"""The tap's settings: their JSON schema (what ``--about`` shows, ranges included) and
the checks a run makes before anything is read.

Every numeric setting has the range Marketo or the tap's own logic allows, in the schema
itself (``minimum`` / ``maximum`` / ``exclusiveMinimum``), so ``--about --format=json``
publishes it and a bad value fails fast through the SDK's ``ConfigValidationError`` path
(exit status 1) with one message naming the setting, instead of being silently replaced
or crashing mid-run. What JSON schema cannot say (a ``start_date`` Marketo's timestamp
parser refuses) is checked here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import ValidationError
from marketo_core.connection import RATE_LIMIT_HEADROOM, URL_PATTERN, with_connection_settings
from marketo_core.timeutil import parse_marketo_datetime
from singer_sdk import typing as th

MAX_EXPORT_DAYS = 31  # Marketo's bulk export window
MARKETO_EXPORT_QUEUE = 10  # export jobs Queued or Processing per instance, every integration

# The connection settings (endpoint, credentials, limits) are the target's too: defined
# in marketo_core.connection. The tap stops at 40,000 calls a day unless told otherwise
# and keeps a fixed headroom of RATE_LIMIT_HEADROOM calls per window.
CONFIG_SCHEMA: dict[str, Any] = with_connection_settings(
    th.PropertiesList(
        th.Property(
            "start_date",
            th.DateTimeType,
            required=True,
            description="Oldest data to sync on a first run (leads updated, activities "
            "created, programs updated since then). ISO 8601, e.g. 2025-01-01T00:00:00Z. "
            "Read as 2007-01-01 when earlier: Marketo holds nothing older.",
        ),
        th.Property(
            "max_export_days",
            th.IntegerType(minimum=1, maximum=MAX_EXPORT_DAYS),
            default=MAX_EXPORT_DAYS,
            description="Days per bulk export window (Marketo allows at most 31).",
        ),
        th.Property(
            "lookback_window_days",
            th.NumberType(minimum=0, maximum=365),
            default=0,
            description="Re-read this many days before each bookmark (bulk exports and the "
            "activity feed), for data Marketo records late. 0 re-reads only the boundary "
            "second. Larger values re-export that span on every run.",
        ),
        th.Property(
            "bulk_poll_interval_seconds",
            th.NumberType(exclusive_minimum=0, maximum=3600),
            default=60,
            description="Seconds between status checks of a pending export job (Marketo "
            "updates job status at most once a minute; each check is one API call).",
        ),
        th.Property(
            "bulk_job_timeout_seconds",
            th.NumberType(exclusive_minimum=0),
            default=10_800,
            description="How long to wait for one export job before leaving it for the "
            "next run (its exportId stays in state and is resumed, not exported again).",
        ),
        th.Property(
            "max_export_mb_per_day",
            th.NumberType(exclusive_minimum=0),
            default=500,
            description="Bulk export file MB per Marketo day (00:00 US Central) this tap may "
            "use, counted across runs in state. Marketo's own quota is 500 MB per day for "
            "every integration together.",
        ),
        th.Property(
            "max_queued_export_jobs",
            th.IntegerType(minimum=1, maximum=MARKETO_EXPORT_QUEUE),
            default=4,
            description="Export jobs this tap keeps Queued or Processing at once, across "
            "streams, during a first sync or catch-up. Marketo processes 2 jobs at a time "
            "and queues 10 for every integration of the instance together: 3 or more keep "
            "both processing slots busy while files are read; the rest of the queue is "
            "left to other integrations.",
        ),
        th.Property(
            "progress_interval_seconds",
            th.NumberType(minimum=1, maximum=3600),
            default=60,
            description="Seconds between progress lines during bulk exports: one per "
            "active stream with windows done, rows, export MB used today and the time left.",
        ),
        th.Property(
            "probe_data_start",
            th.BooleanType,
            default=True,
            description="On a first sync, start each bulk stream where its data begins "
            "(exact lower bounds from a few REST calls: the lowest lead id's createdAt, "
            "custom object types' createdAt, the first activity from start_date) instead "
            "of exporting every empty window from start_date. The lead and activity bounds "
            "are used only where REST shows a lead in every lead partition (or lead 1 "
            "itself), since REST reads leave out partitions the API role cannot see.",
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
            "activity_retention_months",
            th.IntegerType(minimum=1, maximum=120),
            default=25,
            description="Months Marketo keeps the activity types it does not prune sooner "
            "(Delete Lead: 14 days; Add to List, Change Data Value, Visit Webpage and the "
            "other high-volume types: 90 days): 25 on a standard subscription, 37 with "
            "Adobe's extended data retention. Decides when a stream's position is older "
            "than what Marketo still keeps (a retention gap).",
        ),
        th.Property(
            "on_retention_gap",
            th.StringType,
            allowed_values=["recover", "stop"],
            default="recover",
            description="What a stream derived from activities (lead deletes and merges, "
            "list memberships, opportunities and roles, program memberships) does when its "
            "position is older than Marketo's activity retention, so that events were lost: "
            "'recover' re-reads its whole table, sent with ACTIVATE_VERSION so loaders drop "
            "rows that vanished; 'stop' skips it, keeps its state, and the run exits with "
            "status 65.",
        ),
        th.Property(
            "delete_scan_interval_hours",
            th.NumberType(minimum=0, maximum=8760),
            default=24,
            description="Hours between delete scans of programs, emails and smart lists: "
            "Marketo logs no deletes of assets, so a scan browses every id (one call per "
            "200) and emits each id gone since the last scan with _sdc_deleted_at; runs in "
            "between read only what changed. 0 scans on every run.",
        ),
        th.Property(
            "membership_rescan_interval_days",
            th.NumberType(minimum=0, maximum=3650),
            default=7,
            description="Days between whole, versioned re-reads of program_memberships "
            "(what a first sync reads: a bulk member export, about 4 calls per 10 "
            "programs), ended by ACTIVATE_VERSION so a loader drops memberships Marketo "
            "removed without an activity (members deleted by API, deleted programs). "
            "Runs in between read only memberships named by program activities. 0 "
            "re-reads on every run.",
        ),
        th.Property(
            "custom_object_rescan_interval_days",
            th.NumberType(minimum=0, maximum=3650),
            default=7,
            description="Days between whole, versioned re-reads of the lead- and "
            "company-linked custom objects read over REST by linked keys (where Marketo "
            "refuses their bulk updatedAt filter, or their bulk export): by every lead's "
            "keys, ceil(leads / 300) calls per type, ended by ACTIVATE_VERSION. Marketo "
            "changes nothing on a lead when its custom object records change, so the runs "
            "in between, which read by the keys of the leads changed since the last run, "
            "miss such changes until the next whole read. 0 re-reads on every run.",
        ),
    ).to_dict(),
    max_daily_calls=40_000,
    headroom_setting=False,
)

DEFAULTS: dict[str, Any] = {
    name: prop["default"]
    for name, prop in CONFIG_SCHEMA["properties"].items()
    if prop.get("default") is not None
}
SECRETS = frozenset(n for n, p in CONFIG_SCHEMA["properties"].items() if p.get("secret"))

# Why a range is what it is, said with the error.
RANGE_REASONS: dict[str, str] = {
    "max_export_days": "Marketo's limit is 31 days per bulk export window",
    "max_concurrency": "Marketo's limit is 10 calls in flight per instance",
    "lookback_window_days": "a negative lookback would start incremental runs after the "
    "bookmark and skip data",
    "bulk_poll_interval_seconds": "each status check is one API call",
    "bulk_job_timeout_seconds": "seconds to wait for one export job",
    "max_export_mb_per_day": "Marketo's default export quota is 500 MB per day",
    "max_daily_calls": "calls per day this tap may use",
    "max_queued_export_jobs": "Marketo queues at most 10 export jobs per instance, for "
    "every integration together",
    "progress_interval_seconds": "seconds between progress lines",
    "delete_scan_interval_hours": "hours between delete scans (0: every run)",
    "membership_rescan_interval_days": "days between whole membership re-reads (0: every run)",
    "custom_object_rescan_interval_days": "days between whole custom object re-reads by "
    "linked keys (0: every run)",
    "rate_limit_calls": f"the tap keeps {RATE_LIMIT_HEADROOM} calls of headroom in each window",
    "rate_limit_window_seconds": "Marketo's window is 20 s",
    "activity_retention_months": "Adobe's retention is 25 months, 37 with extended retention",
}

_TYPE_NAMES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
}


def setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting's value, its default when left out or null (never a falsy stand-in:
    0 is a value, and validation has already refused the values that make no sense)."""
    value = config.get(name)
    return DEFAULTS.get(name) if value is None else value


def config_errors(
    config: Mapping[str, Any], schema: Mapping[str, Any], validator: Any
) -> list[str]:
    """One message per bad setting, naming it; empty when the config is valid.

    ``validator`` is the SDK's config validator (it also fills defaults in)."""
    messages: list[str] = []
    named: set[str] = set()
    errors = sorted(validator(schema).iter_errors(config), key=lambda e: list(e.path))
    for error in errors:
        name, message = describe_error(error, schema)
        if name is not None:
            if name in named:
                continue  # one message per setting
            named.add(name)
        messages.append(message)
    start = config.get("start_date")
    if isinstance(start, str) and "start_date" not in named:
        try:
            parse_marketo_datetime(start)
        except (TypeError, ValueError):
            messages.append(
                f"Setting 'start_date' is not a date-time: {start!r}. Use ISO 8601, e.g. "
                "2025-01-01T00:00:00Z."
            )
    return messages


def describe_error(error: ValidationError, schema: Mapping[str, Any]) -> tuple[str | None, str]:
    """(setting name, message) for one JSON schema error."""
    if error.validator == "required" and not error.path:
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        prop = (schema.get("properties") or {}).get(missing) or {}
        what = f": {prop['description']}" if prop.get("description") else ""
        return missing, f"Setting '{missing}' is required{what}"
    if not error.path:
        return None, f"Config: {error.message}"
    name = str(error.path[0])
    where = ".".join(str(p) for p in error.path)
    prop = error.schema if isinstance(error.schema, Mapping) else {}
    shown = "(hidden)" if name in SECRETS else repr(error.instance)
    kind = error.validator
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        reason = RANGE_REASONS.get(name)
        because = f" ({reason})" if reason else ""
        return name, f"Setting '{where}' must be {allowed_range(prop)}{because}; got {shown}"
    if kind == "type":
        types = prop.get("type")
        wanted = [types] if isinstance(types, str) else list(types or [])
        names = [_TYPE_NAMES.get(t, t) for t in wanted if t != "null"]
        return name, f"Setting '{where}' must be {' or '.join(names) or 'valid'}; got {shown}"
    if kind == "pattern" and prop.get("pattern") == URL_PATTERN:
        return name, (
            f"Setting '{where}' must be a URL starting with https://, such as "
            f"https://123-ABC-456.mktorest.com; got {shown}"
        )
    if kind == "minLength":
        return name, f"Setting '{where}' must not be empty"
    if kind == "enum":
        options = ", ".join(repr(v) for v in prop.get("enum") or [])
        return name, f"Setting '{where}' must be one of {options}; got {shown}"
    detail = error.message if name not in SECRETS else f"invalid value ({kind})"
    return name, f"Setting '{where}': {detail}"


def allowed_range(prop: Mapping[str, Any]) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    above = prop.get("exclusiveMinimum")
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    parts = []
    if low is not None:
        parts.append(f"at least {low:g}")
    if above is not None:
        parts.append(f"more than {above:g}")
    if high is not None:
        parts.append(f"at most {high:g}")
    return " and ".join(parts) or "in range"
