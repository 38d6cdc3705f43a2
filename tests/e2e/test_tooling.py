"""The tooling's own rules: what scripts/test type-checks strictly, and that tests assert."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent


def _strict_modules() -> set[str]:
    """The modules of the pyproject override that switches on --strict's per-module flags."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    overrides = config["tool"]["mypy"]["overrides"]
    strict = [o for o in overrides if o.get("disallow_untyped_defs") is True]
    assert len(strict) == 1, "expected one override carrying the --strict flags"
    return set(strict[0]["module"])


def test_every_end_to_end_module_is_type_checked_strictly() -> None:
    # tests/e2e has no __init__.py, so mypy names each file a top-level module and the
    # override must list it by name: a new file left out would be checked only loosely.
    modules = {path.stem for path in E2E.glob("*.py")}
    missing = sorted(modules - _strict_modules())
    assert not missing, f"add to the strict mypy override in pyproject.toml: {missing}"
