"""Helpers shared by the fidelity tests: a raw HTTP caller, Marketo times, bulk CSV parsing.

The raw caller is deliberately thin (requests + a bearer token, nothing else) so that a test
sees exactly what the sandbox sends; the real clients under test are marketorestpython and
``marketo_core.MarketoClient``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from marketo_sandbox.testing import SandboxApi

MARKETO_TIME = "%Y-%m-%dT%H:%M:%SZ"


def marketo_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(MARKETO_TIME)


def parse_time(text: str) -> datetime:
    """Marketo timestamps, including the asset API's ``...Z+0000`` spelling."""
    return datetime.strptime(text[:20], MARKETO_TIME).replace(tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


class RawApi(SandboxApi):
    """Plain HTTP against the sandbox with a bearer token from its identity endpoint; the
    token is fetched on first use, so a test can change the sandbox's tokens before."""

    def __init__(self, info: dict[str, str]) -> None:
        super().__init__(info, login=False)

    @property
    def endpoint(self) -> str:
        return self.base

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        """Any call, whatever it answers (``token=`` and ``headers=`` as for ``request``)."""
        return self.request(method, path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """A call that must succeed; returns the envelope."""
        response = self.call(method, path, **kw)
        assert response.status_code == 200, (
            method,
            path,
            response.status_code,
            response.text[:500],
        )
        body = response.json()
        assert body.get("success") is True, (method, path, body)
        return body

    def close(self) -> None:
        self.session.close()


def error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["code"] if errors else None


def poll(
    fetch: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Call ``fetch`` until ``done`` holds (the sandbox's job clock is ~0 s in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still not done after {timeout} s: {value}"
        time.sleep(0.05)


def read_bulk_csv(data: bytes | str) -> list[dict[str, str]]:
    """A bulk file (header row first) as dicts; values are the raw cell strings."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text, newline="")))


def same_cell(text: str, truth: Any) -> bool:
    """Whether a bulk-file cell holds the ground-truth value (``null`` for empty)."""
    if truth is None or truth == "":
        return text == "null"
    if isinstance(truth, bool):
        return text == ("true" if truth else "false")
    if isinstance(truth, int | float):
        try:
            return float(text) == float(truth)
        except ValueError:
            return False
    if isinstance(truth, dict | list):
        try:
            return bool(json.loads(text) == truth)
        except ValueError:
            return False
    return text == str(truth)


def by_key(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}
