"""Fixtures for the fidelity tests: independent referees pointed at the session's sandbox.

- ``raw``: plain requests with a bearer token (sees exactly what the sandbox sends);
- ``mrp``: marketorestpython's MarketoClient, the independent client, aimed at the sandbox
  the way its README says (construct with a munchkin id, then set ``host``);
- ``openapi``: Adobe's Swagger files with the named spec errata applied.
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from fidelity_openapi import OpenApi, load_specs
from fidelity_support import RawApi
from marketo_sandbox.testing import SandboxControl
from marketorestpython.client import MarketoClient as MrpClient
from marketorestpython.helper import http_lib

MUNCHKIN_ID = "123-ABC-456"


@pytest.fixture(scope="session")
def openapi() -> OpenApi:
    return OpenApi(load_specs())


@pytest.fixture
def raw(sandbox_info: dict[str, str]) -> Iterator[RawApi]:
    api = RawApi(sandbox_info)
    yield api
    api.close()


@pytest.fixture
def unthrottled_mrp(monkeypatch: pytest.MonkeyPatch) -> None:
    """marketorestpython spaces every call 200 ms apart per HTTP verb (its own 5 calls/s
    courtesy limiter, client-side only). The sandbox still enforces Marketo's 100 calls /
    20 s, so removing the client's sleep changes no wire behaviour, only test time."""
    no_wait = types.SimpleNamespace(time=time.time, sleep=lambda _seconds: None)
    monkeypatch.setattr(http_lib, "time", no_wait)


@pytest.fixture
def mrp(sandbox_info: dict[str, str], unthrottled_mrp: None) -> MrpClient:
    # max_retry_time bounds marketorestpython's backoff on retryable codes (606, 615,
    # 1029, ...): a sandbox bug that answers one must fail the test, not stall it 300 s.
    client = MrpClient(
        MUNCHKIN_ID,
        sandbox_info["client_id"],
        sandbox_info["client_secret"],
        max_retry_time=3,
        requests_timeout=(5, 60),
    )
    client.host = sandbox_info["endpoint"]
    return client


@pytest.fixture
def truth(sandbox: SandboxControl) -> Any:
    """``truth("leads")``: the sandbox's ground truth of one object kind, read now."""
    return sandbox.objects
