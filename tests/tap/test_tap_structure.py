"""The tap's shape: the sync order comes from declared dependencies, and every module
imports on its own (no import cycle, no import hidden in a function to dodge one)."""

from __future__ import annotations

import ast
import contextlib
import io
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tap_marketo_crm
from tap_marketo_crm.discovery import FIXED_STREAMS
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.sync_order import DependencyCycleError, sync_order
from tap_marketo_crm.tap import TapMarketoCRM

PACKAGE = Path(tap_marketo_crm.__file__).parent

# The order the tap used before it was derived (a hard-coded list; `*` a family): the
# derived order must agree with it on every pair of streams where one depends on the
# other.
FORMER_ORDER = (
    "activity_types",
    "leads",
    "deleted_leads",
    "activities_*",
    "opportunities",
    "opportunity_roles",
    "companies",
    "salespersons",
    "programs",
    "program_memberships",
    "static_lists",
    "list_memberships",
    "campaigns",
    "custom_*",
)


def _former_rank(name: str) -> int:
    for rank, pattern in enumerate(FORMER_ORDER):
        if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            return rank
    return len(FORMER_ORDER)


def _family(name: str) -> str:
    for prefix in ("activities_", "custom_"):
        if name.startswith(prefix):
            return prefix + "*"
    return name


def _ordered_streams(catalog: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        tap = TapMarketoCRM(config=_offline_config(), catalog=catalog)
        return tap.streams


def _offline_config() -> dict[str, Any]:
    # A catalog run builds its streams without calling Marketo.
    return {
        "endpoint": "https://123-ABC-456.mktorest.com",
        "client_id": "id",
        "client_secret": "secret",
        "start_date": "2025-01-01T00:00:00Z",
    }


def test_the_sync_order_runs_every_stream_after_what_it_depends_on(
    catalog: dict[str, Any],
) -> None:
    streams = _ordered_streams(catalog)
    position = {name: index for index, name in enumerate(streams)}
    declared = 0
    for name, stream in streams.items():
        assert isinstance(stream, MarketoStream)
        for dependency in stream.depends_on:
            assert dependency in position, f"'{name}' depends on unknown '{dependency}'"
            assert position[dependency] < position[name], (name, dependency, list(streams))
            # Where the order matters, it is the order the tap always had (streams added
            # since, such as the design assets, have no former rank).
            if _former_rank(dependency) < len(FORMER_ORDER):
                assert _former_rank(dependency) < _former_rank(name), (name, dependency)
            declared += 1
    assert declared >= 10  # the dependencies are declared, not an accident of names


def test_the_default_catalog_syncs_in_this_order(catalog: dict[str, Any]) -> None:
    families = list(dict.fromkeys(_family(name) for name in _ordered_streams(catalog)))
    assert families == [
        "activity_types",
        # Assets (not selected by default): folders first, each asset after them.
        "channels",
        "folders",
        "email_templates",
        "emails",
        "files",
        "form_fields",
        "forms",
        "landing_page_templates",
        "landing_pages",
        "leads",
        "activities_*",
        "deleted_leads",
        "opportunities",
        "companies",
        "custom_*",
        "opportunity_roles",
        "programs",
        "campaigns",
        # Tags, costs and tokens after programs: a first sync reuses its program ids.
        "program_costs",
        "program_memberships",
        "program_tags",
        "program_tokens",
        "salespersons",
        "segmentations",
        "segments",
        "smart_lists",
        "snippets",
        "static_lists",
        "list_memberships",
        "tag_types",
    ]


def test_ties_go_by_name_absent_dependencies_are_no_constraint_and_cycles_fail() -> None:
    assert sync_order({"b": (), "a": (), "c": ("b", "gone")}) == ["a", "b", "c"]
    assert sync_order({"z": (), "y": ("z",)}) == ["z", "y"]
    with pytest.raises(DependencyCycleError, match="a, b"):
        sync_order({"a": ("b",), "b": ("a",), "c": ()})


def _modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE)], prefix="tap_marketo_crm.")
        if not info.name.endswith("__main__")
    )


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert "tap_marketo_crm.pipeline" in modules
    failed = {}
    for module in modules:
        proc = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            failed[module] = proc.stderr.strip().splitlines()[-1:]
    assert not failed, failed


def test_no_module_imports_inside_a_function() -> None:
    """Imports inside functions are how import cycles get hidden; TYPE_CHECKING blocks
    and module-level optional imports are fine."""
    nested = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                nested += [
                    f"{path.relative_to(PACKAGE)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert not nested, nested


def test_no_fixed_schema_has_two_columns_that_differ_only_in_case() -> None:
    """SQL loaders fold column names to lower case: `URL` and `url` in one schema would
    be one column created twice (target-duckdb refuses the table)."""
    for cls in FIXED_STREAMS:
        names = list(cls.fixed_schema()["properties"])
        folded = [name.lower() for name in names]
        assert len(set(folded)) == len(folded), (cls.name, sorted(names))
