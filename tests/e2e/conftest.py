"""End-to-end fixtures: a clean copy of the repository, as a fresh clone would have it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# The marts dbt builds, shared by test_dbt.py and test_report.py (one build for both).
from marts_pipeline import marts  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def repository_files(root: Path) -> list[str]:
    """The files a commit of the work tree would hold: tracked ones and new ones that
    .gitignore does not exclude (so no .venv, .meltano, output or caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


@pytest.fixture(scope="session")
def repository_file_names() -> list[str]:
    return repository_files(REPO)


@pytest.fixture(scope="session")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "marketo-crm"
    for name in repository_files(REPO):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return copy
