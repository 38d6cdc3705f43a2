"""Fixtures of the tap's tests (helpers live in ``tap_helpers``)."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from tap_helpers import FAST_SANDBOX, tap_config
from tap_marketo_crm.tap import TapMarketoCRM


@pytest.fixture
def fast_sandbox(sandbox: SandboxControl) -> SandboxControl:
    sandbox.configure(**FAST_SANDBOX)
    return sandbox


@pytest.fixture
def config(fast_sandbox: SandboxControl, sandbox_info: dict[str, str]) -> dict[str, Any]:
    return tap_config(sandbox_info)


@pytest.fixture(scope="session")
def catalog(sandbox_server: Any) -> dict[str, Any]:
    """The discovered catalog (every stream selected); discovery runs once per session."""
    control = SandboxControl(sandbox_server.url)
    control.configure(**FAST_SANDBOX)
    tap = TapMarketoCRM(config=tap_config(sandbox_server.info()))
    with contextlib.redirect_stdout(io.StringIO()):
        result = tap.catalog_dict
    return json.loads(json.dumps(result))
