"""What one `meltano --log-format=json run` did, read from its log.

`meltano run` exits 1 whichever way a block fails, so the plugin's own exit status (75: a
Marketo daily limit stopped the tap with its state saved) is read from Meltano's "Block run
completed" line (``exit_codes``, per plugin type). The tap's Singer SDK metrics arrive as
``metric_info`` (``record_count`` per stream), and the tap ends every run with "Marketo API
calls this run: N" and a quota stop with "Stopping the sync: ... Exit status 75".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The BSD sysexits EX_TEMPFAIL the tap exits with when it stops at a daily limit.
EXIT_RESUMABLE = 75

_API_CALLS = re.compile(r"Marketo API calls this run: (\d+)")
# Marketo's "daily quota reached" code in a plugin's one-line fatal error. The tap exits 75
# with a "Stopping the sync:" line for a 607 met while syncing or discovering; older tap
# versions ended a 607 met during discovery with status 1, and Meltano reports any failed
# discovery as its own error, so such a line still means: wait for the reset.
_DAILY_QUOTA_CODE = re.compile(r"\[607\]")


@dataclass
class MeltanoRunLog:
    exit_status: int
    # Non-zero exit statuses of the failed block's plugins, by plugin type.
    plugin_exit_codes: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    records: dict[str, int] = field(default_factory=dict)
    quota_stop: str | None = None
    quota_error: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def resumable_stop(self) -> bool:
        """A daily Marketo limit stopped a plugin cleanly: retry after the reset."""
        if self.exit_status == 0:
            return False
        # The tap's own "Stopping the sync:" line counts even where Meltano names no plugin
        # exit status: a limit met during discovery ends as "Catalog discovery failed".
        return (
            EXIT_RESUMABLE in self.plugin_exit_codes.values()
            or self.quota_stop is not None
            or self.quota_error is not None
        )

    @property
    def plugin_exit_status(self) -> int:
        """The exit status to report: the plugin's own where Meltano names it (75 for a
        quota stop), else Meltano's."""
        if self.exit_status == 0:
            return 0
        if EXIT_RESUMABLE in self.plugin_exit_codes.values():
            return EXIT_RESUMABLE
        return max(self.plugin_exit_codes.values(), default=self.exit_status)

    @property
    def outcome(self) -> str:
        if self.exit_status == 0:
            return "success"
        return "quota_stop" if self.resumable_stop else "failed"

    @property
    def rows(self) -> int:
        return sum(self.records.values())


def parse_run_log(text: str, exit_status: int) -> MeltanoRunLog:
    result = MeltanoRunLog(exit_status=exit_status)
    records: Counter[str] = Counter()
    for entry in _entries(text):
        event = str(entry.get("event", ""))
        metric = entry.get("metric_info")
        if isinstance(metric, dict) and metric.get("metric") == "record_count":
            stream = (metric.get("tags") or {}).get("stream")
            if stream and entry.get("producer", True):
                records[str(stream)] += _int(metric.get("value"))
            continue
        calls = _API_CALLS.search(event)
        if calls:
            # One line per tap run; a job with several tap blocks adds them up.
            result.api_calls += int(calls.group(1))
        elif event.startswith("Stopping the sync:"):
            result.quota_stop = event
        elif event == "Block run completed" and entry.get("success") is False:
            codes = entry.get("exit_codes") or {}
            if isinstance(codes, dict):
                result.plugin_exit_codes.update(
                    {str(kind): _int(code) for kind, code in codes.items() if _int(code)}
                )
        if entry.get("level") in {"error", "critical"} and event:
            result.errors.append(event)
            if "plugin_logger" in entry and _DAILY_QUOTA_CODE.search(event):
                result.quota_error = event
    result.records = dict(sorted(records.items()))
    return result


def _entries(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
