"""Shared fixtures: one real sandbox HTTP server per test session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.testing import SandboxControl

# Recognizable so the secrets tests can search every output for them.
TEST_CLIENT_SECRET = "s3cr3t-SANDBOX-CLIENT-SECRET-do-not-log"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(client_id="test-client-id", client_secret=TEST_CLIENT_SECRET)
    with SandboxServer(config, seed="small") as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    """The session's sandbox, back in its seeded state with Marketo's default limits."""
    control = SandboxControl(sandbox_server.url)
    control.reset()
    return control


@pytest.fixture
def sandbox_info(sandbox: SandboxControl, sandbox_server: SandboxServer) -> dict[str, str]:
    return sandbox_server.info()
