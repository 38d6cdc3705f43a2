"""Helpers for marketo_core unit tests: a fake clock, canned envelopes, test credentials."""

from __future__ import annotations

import threading
from typing import Any

BASE = "https://123-ABC-456.mktorest.com"
IDENTITY = f"{BASE}/identity/oauth/token"
# Recognisable values so a leak is easy to spot in any string or log line.
SECRET = "SECRET-c0ffee-DO-NOT-LEAK-5150"
TOKEN = "TOKEN-aaaa-1111-bbbb:ab"
TOKEN2 = "TOKEN-cccc-2222-dddd:ab"


class FakeTime:
    """A monotonic clock that only moves when somebody sleeps.

    ``sleep(d)`` moves the clock to (the caller's last reading + d), never backwards, so
    several threads sleeping towards the same deadline do not add up their waits.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def monotonic(self) -> float:
        with self._lock:
            self._local.last = self.now
            return self.now

    def last_reading(self) -> float:
        return self._local.last

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            base = getattr(self._local, "last", self.now)
            self.now = max(self.now, base + max(0.0, seconds))
            self._local.last = self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def envelope(result: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": "e42b#14272d07d78", "success": True}
    if result is not None:
        body["result"] = result
    body.update(extra)
    return body


def failure(code: str | int, message: str = "boom") -> dict[str, Any]:
    return {
        "requestId": "bad#1",
        "success": False,
        "errors": [{"code": code, "message": message}],
    }


def api_requests(requests_mock: Any) -> list[Any]:
    """The calls that went to the API (identity excluded)."""
    return [r for r in requests_mock.request_history if "/identity/" not in r.url]


def logged_text(caplog: Any) -> str:
    """Everything logged, except requests_mock's own debug lines: that test double logs
    each URL it fakes and never runs in production (urllib3's lines are checked against a
    real server in test_core_download)."""
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("requests_mock")
    )
