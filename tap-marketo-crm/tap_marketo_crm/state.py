"""Where the tap keeps what a later run needs, and the layout of it.

Singer state is ``{"bookmarks": {stream: {...}}, "marketo": {...}}``:

- per stream (``bookmarks``): ``replication_key`` / ``replication_key_value`` (moved only
  when a whole export window is read: Marketo's files are not sorted), ``export_job`` /
  ``next_export_jobs`` (the export job being read and those queued ahead, in reading
  order; older releases kept one under ``next_export_job``, still read),
  ``feed_since`` (where a stream's activity feed reading stands), ``filter_field`` and
  ``read_mode`` (what a subscription refused once, 1035: not asked again), and per
  activity type ``backfill_until`` (priority_first); ``known_ids`` and
  ``last_delete_scan`` (ids emitted and not deleted, and when every id was last read:
  ``deletes``), ``last_whole_read`` and ``whole_read_version`` (the last periodic
  whole, versioned read: program_memberships, custom objects read by linked keys);
  ``table_version`` while a stream re-reads its whole table
  after a retention gap;
- tap level (``marketo``): ``export_usage`` (export MB today), ``activity_export`` /
  ``next_activity_exports`` (the shared activity export jobs: one job serves every type).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from marketo_core.timeutil import format_marketo_datetime

if TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState

# Tap-level state (beside "bookmarks"): things no single stream owns.
STATE_KEY = "marketo"


def raw_state(tap_state: TapState | dict[str, Any]) -> dict[str, Any]:
    """The tap state as the plain dict it is: the SDK types it as a TypedDict of
    ``bookmarks`` only, while the Singer state may carry other top-level keys (ours)."""
    return cast("dict[str, Any]", tap_state)


def state_section(tap_state: TapState | dict[str, Any]) -> dict[str, Any]:
    """The tap-level section of the state, created empty when absent."""
    state = raw_state(tap_state)
    section = state.get(STATE_KEY)
    if not isinstance(section, dict):
        section = {}
        state[STATE_KEY] = section
    return section


def state_time(value: dt.datetime) -> str:
    """A moment as state keeps it (Marketo's own format, whole seconds, ``Z``)."""
    return format_marketo_datetime(value)
