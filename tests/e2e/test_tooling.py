"""The tooling's own rules: what scripts/test type-checks strictly, and that tests assert."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
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


# --- every test asserts ------------------------------------------------------------------
#
# The rule, checked on the source (AST) of every test module under tests/ and
# orchestration/tests: a test function (``test*``, at module level or in a ``Test*`` class)
# must contain, anywhere in its body,
#   - an ``assert`` statement, or
#   - a call to ``pytest.raises`` / ``pytest.warns`` / ``pytest.fail``, or
#   - a call to anything named ``assert_*`` / ``check_*`` (mock's ``assert_called_with``
#     and our own helpers alike), or
#   - a plain call (``helper(...)``) to a function defined under those folders that itself
#     passes this rule (a helper such as ``run_tap_and_compare`` that asserts).
# A test that only runs code and passes when nothing raises is what this catches: say what
# the run must have produced.

TEST_ROOTS = (REPO / "tests", REPO / "orchestration" / "tests")
PYTEST_CHECKS = frozenset({"raises", "warns", "fail"})
CHECK_PREFIXES = ("assert_", "check_")
Function = ast.FunctionDef | ast.AsyncFunctionDef


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    return (n for n in ast.walk(node) if isinstance(n, ast.Call))


def _checks_directly(function: Function) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
    for call in _calls(function):
        func = call.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name.startswith(CHECK_PREFIXES):
            return True
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id == "pytest" and func.attr in PYTEST_CHECKS):
            return True
    return False


def _helpers_called(function: Function) -> set[str]:
    return {call.func.id for call in _calls(function) if isinstance(call.func, ast.Name)}


def _test_functions(module: ast.Module) -> Iterator[Function]:
    for node in module.body:
        members = node.body if isinstance(node, ast.ClassDef) and node.name.startswith(
            "Test") else [node]
        for member in members:
            if isinstance(member, Function) and member.name.startswith("test"):
                yield member


def assertion_free_tests(roots: tuple[Path, ...]) -> list[str]:
    """``path:line name`` of every test function breaking the rule above."""
    functions: dict[str, list[Function]] = {}
    tests: list[tuple[Path, Function]] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(module):
                if isinstance(node, Function):
                    functions.setdefault(node.name, []).append(node)
            tests.extend((path, test) for test in _test_functions(module))
    # Helpers that check, directly or through other helpers (by name: tests share helpers
    # through plain imports), until no new one is found.
    checking = {name for name, defs in functions.items() if any(map(_checks_directly, defs))}
    grown = True
    while grown:
        found = {name for name, defs in functions.items() if name not in checking
                 and any(_helpers_called(d) & checking for d in defs)}
        checking |= found
        grown = bool(found)
    return [
        f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{test.lineno} "
        f"{test.name}"
        for path, test in tests
        if not _checks_directly(test) and not _helpers_called(test) & checking
    ]


def test_every_test_asserts() -> None:
    offenders = assertion_free_tests(TEST_ROOTS)
    assert not offenders, f"tests that assert nothing (see the rule above): {offenders}"


def test_the_assertion_scan_catches_a_test_that_asserts_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def _run():\n    return 1\n"
        "def _expect_one():\n    assert _run() == 1\n"
        "def check_two():\n    pass\n"
        "def test_runs_only():\n    _run()\n"
        "def test_asserts():\n    assert _run()\n"
        "def test_through_a_helper():\n    _expect_one()\n"
        "def test_through_a_check():\n    check_two()\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "class TestGroup:\n    def test_method_runs_only(self):\n        _run()\n",
        encoding="utf-8",
    )
    found = [entry.split()[-1] for entry in assertion_free_tests((tmp_path,))]
    assert found == ["test_runs_only", "test_method_runs_only"]
