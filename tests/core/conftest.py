"""Fixtures for marketo_core unit tests: a fake clock, a mocked identity, a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from core_helpers import BASE, IDENTITY, SECRET, TOKEN, FakeTime
from marketo_core import MarketoClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def identity(requests_mock: Any) -> Any:
    return requests_mock.get(
        IDENTITY,
        json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 3599, "scope": "x"},
    )


@pytest.fixture
def make_client(fake_time: FakeTime, identity: Any) -> Iterator[Callable[..., MarketoClient]]:
    clients: list[MarketoClient] = []

    def factory(**kw: Any) -> MarketoClient:
        kw.setdefault("sleep", fake_time.sleep)
        kw.setdefault("clock", fake_time.monotonic)
        client = MarketoClient(BASE, "client-id-123", SECRET, **kw)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., MarketoClient]) -> MarketoClient:
    return make_client()
