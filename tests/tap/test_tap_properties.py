"""``--properties``: the legacy name of ``--catalog`` that Stitch-style runners and
singer-io-era tooling still pass (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from marketo_sandbox.testing import SandboxControl
from tap_helpers import run_tap_cli, select_only

SELECTED = ("static_lists", "campaigns", "programs")


def _emitted(run: Any) -> set[str]:
    return set(run.schemas)


def test_help_shows_properties() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tap_marketo_crm", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert "--properties" in proc.stdout
    assert "--catalog" in proc.stdout


def test_a_run_with_properties_selects_the_same_streams_as_with_catalog(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
) -> None:
    chosen = select_only(catalog, *SELECTED)
    by_catalog = run_tap_cli(tmp_path / "catalog", config, chosen)
    assert by_catalog.returncode == 0, by_catalog.stderr[-3000:]

    folder = tmp_path / "properties"
    folder.mkdir()
    (folder / "properties.json").write_text(json.dumps(chosen))
    by_properties = run_tap_cli(
        folder, config, extra=("--properties", str(folder / "properties.json"))
    )
    assert by_properties.returncode == 0, by_properties.stderr[-3000:]

    assert _emitted(by_properties) == _emitted(by_catalog) == set(SELECTED)
    for name in SELECTED:
        assert by_properties.count(name) == by_catalog.count(name) > 0, name


def test_properties_and_catalog_together_is_a_clear_error(
    config: dict[str, Any], catalog: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "properties.json").write_text(json.dumps(catalog))
    run = run_tap_cli(
        tmp_path, config, catalog, extra=("--properties", str(tmp_path / "properties.json"))
    )
    assert run.returncode == 2, run.stderr[-3000:]
    assert "--properties is the legacy name of --catalog" in run.stderr
    assert not run.messages
