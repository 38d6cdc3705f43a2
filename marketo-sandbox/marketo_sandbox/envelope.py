"""Marketo's response envelope and the errors handlers raise to produce it.

Marketo answers HTTP 200 for almost everything; failures are ``success:false`` with
``errors:[{"code":"606","message":...}]`` where the code is a STRING (clients compare
strings, so emitting integers would break them).
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

_counter = itertools.count(1)
_counter_lock = threading.Lock()

# Standard messages, worded as Marketo words them where documented.
MESSAGES: dict[str, str] = {
    "502": "Bad Gateway",
    "600": "Access token not specified",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "604": "Request timed out",
    "605": "HTTP Method not supported",
    "606": "Max rate limit '{limit}' exceeded with in '{window}' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "613": "Invalid Multipart Request",
    "614": "Invalid Subscription",
    "615": "Concurrent access limit '{limit}' reached",
    "701": "{field} cannot be blank",
    "702": "No data found for given search scenario",
    "703": "The feature is not enabled for the subscription",
    "704": "Invalid date format",
    "709": "Business rule violation",
    "710": "Parent folder not found",
    "711": "Incompatible folder type",
    "713": "Transient Error",
    "719": "Lock wait timeout exception",
    "1001": "Invalid value",
    "1002": "Missing value for required parameter",
    "1003": "Invalid data",
    "1004": "Lead not found",
    "1005": "Lead already exists",
    "1006": "Field not found",
    "1007": "Multiple leads match the lookup criteria",
    "1013": "Object not found",
    "1014": "Failed to create Object",
    "1015": "Lead not in list",
    "1016": "Too many imports",
    "1017": "Object already exists",
    "1018": "CRM Enabled",
    "1019": "Import in progress",
    "1021": "Company update not allowed",
    "1022": "Object in use",
    "1025": "Program status not found",
    "1029": "Too many jobs in queue",
    "1035": "Unsupported filter type for target subscription",
    "1036": "Duplicate object found in input",
    "1037": "Lead already at or past this status",
}


# Recorded request ids (docs/MARKETO.md section 9) are "<hex>#<hex>": the second part is
# the server's clock in epoch milliseconds, the first an unpadded number below 0x20000.
_REQUEST_SPREAD = 0x20000
_REQUEST_STEP = 0x9E37  # odd: consecutive calls get distinct, scattered first parts


def request_id() -> str:
    """A request id shaped like Marketo's (``10a88#1743e2b384b``)."""
    with _counter_lock:
        n = next(_counter)
    return f"{(n * _REQUEST_STEP) % _REQUEST_SPREAD:x}#{int(time.time() * 1000):x}"


def message(code: str, **fmt: Any) -> str:
    text = MESSAGES.get(code, "Error")
    try:
        return text.format(**fmt)
    except KeyError:
        return text


class ApiError(Exception):
    """A request-level Marketo failure: HTTP 200, ``success:false``."""

    def __init__(self, code: str | int, msg: str | None = None, **fmt: Any) -> None:
        self.code = str(code)
        self.msg = msg if msg is not None else message(self.code, **fmt)
        super().__init__(f"{self.code} {self.msg}")


class HttpError(Exception):
    """An HTTP-level failure (413, 414, 404 on bulk files, 401 from identity)."""

    def __init__(
        self, status: int, body: str | dict[str, Any] = "", content_type: str | None = None
    ):
        self.status = status
        self.body = body
        self.content_type = content_type
        super().__init__(f"HTTP {status}")


def ok(result: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A success envelope. ``result=None`` omits the key (asset 'no assets found')."""
    body: dict[str, Any] = {"requestId": request_id()}
    if result is not None:
        body["result"] = result
    body["success"] = True
    body.update(extra)
    return body


def asset_ok(result: list[Any] | None) -> dict[str, Any]:
    """Asset API envelope: errors/warnings always present; empty -> the warning, no result."""
    if not result:
        return {
            "success": True,
            "errors": [],
            "requestId": request_id(),
            "warnings": ["No assets found for the given search criteria."],
        }
    return {
        "success": True,
        "errors": [],
        "requestId": request_id(),
        "warnings": [],
        "result": result,
    }


def failure(code: str, msg: str) -> dict[str, Any]:
    return {"requestId": request_id(), "success": False, "errors": [{"code": code, "message": msg}]}


def skipped(code: str | int, msg: str | None = None, **item: Any) -> dict[str, Any]:
    """A record-level skip inside a successful response."""
    code = str(code)
    return {
        **item,
        "status": "skipped",
        "reasons": [{"code": code, "message": msg or message(code)}],
    }
