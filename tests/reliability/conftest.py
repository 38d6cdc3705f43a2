"""Fixtures of the reliability suite (helpers live in ``reliability_support``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxControl
from reliability_support import FAST, run_tap, tap_config


@pytest.fixture
def fast_sandbox(sandbox: SandboxControl) -> SandboxControl:
    """The session's sandbox, reset, without its rate window (tests not about limits)."""
    sandbox.configure(**FAST)
    return sandbox


@pytest.fixture(scope="session")
def discovered(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The tap's catalog of the seeded sandbox, discovered once per session (subprocess)."""
    control = SandboxControl(sandbox_server.url)
    control.reset()
    control.configure(**FAST)
    folder: Path = tmp_path_factory.mktemp("discover")
    run = run_tap(folder, tap_config(sandbox_server.info()), extra=["--discover"])
    assert run.returncode == 0, run.tail()
    return json.loads(run.stdout)
