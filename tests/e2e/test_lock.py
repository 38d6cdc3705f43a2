"""requirements-dev.lock is what the development virtualenv runs: every dev requirement
is pinned there, and the interpreter running the tests has exactly the pinned versions
(scripts/bootstrap installs with `-c requirements-dev.lock`)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    lines = (REPO / "requirements-dev.lock").read_text(encoding="utf-8").splitlines()
    pins = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements-dev.lock: {line!r} is not an exact pin"
            pins[_canonical(name)] = version.strip()
    return pins


def test_every_dev_requirement_is_pinned_in_the_lock() -> None:
    requirements = (REPO / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    names = {
        _canonical(re.split(r"[<>=!~\[;\s]", line.strip(), maxsplit=1)[0])
        for line in requirements
        if line.strip() and not line.startswith("#")
    }
    missing = sorted(names - set(_pins()))
    assert not missing, f"not in requirements-dev.lock (run bash scripts/lock): {missing}"


def test_installed_versions_are_the_locked_ones() -> None:
    pins = _pins()
    drift = {
        name: (dist.version, pins[name])
        for dist in metadata.distributions()
        if (name := _canonical(dist.metadata["Name"])) in pins and dist.version != pins[name]
    }
    assert not drift, f"installed vs locked versions differ (run bash scripts/bootstrap): {drift}"
