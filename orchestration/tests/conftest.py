"""Fixtures: the repository's Meltano project with the tap and target-jsonl installed, and
two sandboxes standing in for two Marketo instances (each its own Munchkin id, limits and
data)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.seed import spec_for
from marketo_sandbox.testing import SandboxControl

REPO = Path(__file__).resolve().parents[2]
# Faster than Marketo's 100 calls / 20 s, so the tests spend their time on the flow.
FAST_RATE = 1000


@pytest.fixture(scope="session")
def meltano_project() -> Path:
    """The repository's Meltano project, with Meltano (.venv-meltano) and the two plugins
    these tests run installed (Meltano skips what is already installed)."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "MELTANO_VENV"}}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    subprocess.run(["bash", str(REPO / "scripts" / "bootstrap-meltano")], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=900)
    meltano = str(REPO / ".venv-meltano" / "bin" / "meltano")
    for kind, name in (("extractor", "tap-marketo-crm"), ("loader", "target-jsonl")):
        done = subprocess.run([meltano, "install", kind, name], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return REPO


class Sandbox:
    """One sandbox instance: its server and its control API."""

    def __init__(self, name: str, server: SandboxServer) -> None:
        self.name = name
        self.server = server
        self.control = SandboxControl(server.url)

    @property
    def calls(self) -> int:
        return int(self.control.calls()["total"])

    def lead_ids(self) -> set[int]:
        return {lead["id"] for lead in self.control.objects("leads")}


def _sandbox(name: str, secret: str, leads: int, random_seed: int) -> SandboxServer:
    config = SandboxConfig(client_id=f"{name}-client-id", client_secret=secret)
    config.update({"rate_limit_calls": FAST_RATE})
    spec = spec_for("small", leads=leads, activities=300, random_seed=random_seed)
    return SandboxServer(config, seed=spec)


@pytest.fixture(scope="session")
def east() -> Iterator[Sandbox]:
    with _sandbox("east", "east-SECRET-never-logged", leads=60, random_seed=1) as server:
        yield Sandbox("east", server)


@pytest.fixture(scope="session")
def west() -> Iterator[Sandbox]:
    with _sandbox("west", "west-SECRET-never-logged", leads=45, random_seed=2) as server:
        yield Sandbox("west", server)


@pytest.fixture(scope="session")
def start_date() -> str:
    # The small seed spans 14 months back from now.
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=460)).strftime("%Y-%m-%dT00:00:00Z")
