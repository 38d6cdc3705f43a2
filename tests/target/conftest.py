"""Fixtures of the target tests: the sandbox without its rate window, a target config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from target_helpers import ACCOUNT_BINDING


@pytest.fixture
def fast_sandbox(sandbox: SandboxControl) -> SandboxControl:
    """The sandbox without its rate window, for tests that are not about limits."""
    sandbox.configure(rate_limit_calls=1_000_000)
    return sandbox


@pytest.fixture
def target_config(
    sandbox_info: dict[str, str], tmp_path: Path
) -> Callable[..., dict[str, Any]]:
    """Config for the target against the sandbox; keyword arguments override."""

    def make(**overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            **sandbox_info,  # the connection settings: endpoint, identity, client id and secret
            "lookup_field": "crmContactId",
            "reject_file": str(tmp_path / "rejects.jsonl"),
            "stream_objects": {"Account": ACCOUNT_BINDING},
            "rate_limit_calls": 1_000_000,
        }
        config.update(overrides)
        return config

    return make
