"""Every record Marketo refuses (or we refuse before sending) is reported, never dropped.

Each reject is one JSON line in ``reject_file``:
``{"severity", "stream", "object", "op", "key", "code", "message", "record"}``, where ``code`` is
Marketo's (``1006``, ``1007``...) also when the target caught the problem first, so a
reader handles both the same way.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import json
import logging
import threading
from pathlib import Path
from typing import IO, Any

_LOG = logging.getLogger("target_marketo_crm.rejects")

# Codes the target uses for problems Marketo would report the same way.
MISSING_KEY = "1003"  # Marketo: "Value for required field '<f>' not specified"
FIELD_NOT_FOUND = "1006"
MULTIPLE_LEADS = "1007"
LEAD_NOT_FOUND = "1004"
NOT_FOUND = "1013"
# Not Marketo's: a record that breaks its stream's SCHEMA message.
SCHEMA_VIOLATION = "SCHEMA"
# Not Marketo's: a record whose shape the target cannot turn into any request.
UNUSABLE_RECORD = "unusable_record"
BULK_IMPORT_FAILURE = "bulk_import_failure"
BULK_IMPORT_WARNING = "bulk_import_warning"


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class RejectLog:
    """Thread-safe sink for rejects: the reject file, counts, and log lines."""

    def __init__(self, path: str | Path | None = None, *, logger: logging.Logger | None = None):
        self.path = Path(path) if path else None
        self.log = logger or _LOG
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self.by_stream_code: collections.Counter[tuple[str, str]] = collections.Counter()
        self.warnings_by_stream: collections.Counter[str] = collections.Counter()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_stream_code.values())

    def add(
        self,
        *,
        stream: str,
        object_name: str,
        op: str,
        key: dict[str, Any] | None,
        code: str,
        message: str,
        record: dict[str, Any] | None,
        warning: bool = False,
    ) -> None:
        entry = {
            # "warning": the record was written, but not all of it (or not as sent).
            "severity": "warning" if warning else "reject",
            "stream": stream,
            "object": object_name,
            "op": op,
            "key": key,
            "code": str(code),
            "message": message,
            "record": record,
        }
        line = json.dumps(entry, default=json_default, ensure_ascii=False)
        with self._lock:
            if warning:
                self.warnings_by_stream[stream] += 1
            else:
                self.by_stream_code[(stream, str(code))] += 1
            if self.path is not None:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    # Appending: a rerun never erases what an earlier run reported.
                    self._file = self.path.open("a", encoding="utf-8")
                self._file.write(line + "\n")
                self._file.flush()
        level = logging.INFO if warning else logging.WARNING
        self.log.log(
            level, "%s %s %s %s: [%s] %s", "Warning for" if warning else "Rejected",
            stream, op, json.dumps(key, default=json_default), code, message,
        )

    def summary(self) -> str:
        with self._lock:
            if not self.by_stream_code:
                return "no rejects"
            parts = [f"{stream} [{code}]: {n}" for (stream, code), n in
                     sorted(self.by_stream_code.items())]
            return f"{sum(self.by_stream_code.values())} rejects ({', '.join(parts)})"

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
