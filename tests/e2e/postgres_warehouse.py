"""Helpers of the PostgreSQL end-to-end tests: the server's settings from MARKETO_PG_*
(`scripts/postgres start` prints them; .ci/run exports them), a Meltano project in a clean
copy of the repository, and queries on what target-postgres loaded.

The test environment itself has no PostgreSQL driver: queries run through the Python of the
target-postgres plugin's venv, which has psycopg, as the demo test reads DuckDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_VARS = (
    "MARKETO_PG_HOST",
    "MARKETO_PG_PORT",
    "MARKETO_PG_USER",
    "MARKETO_PG_PASSWORD",
    "MARKETO_PG_DATABASE",
)


def postgres_settings() -> dict[str, str]:
    """MARKETO_PG_*, or a skip that says how to get them. Under CI=true a missing server
    is a failure: .ci/run starts one, so a skip there would hide a broken setup."""
    missing = [name for name in PG_VARS if not os.environ.get(name)]
    if missing:
        reason = (
            f"no PostgreSQL server: {', '.join(missing)} not set "
            '(start one with: pg_env="$(bash scripts/postgres start)" && eval "$pg_env")'
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run must start it", pytrace=False)
        pytest.skip(reason)
    return {name: os.environ[name] for name in PG_VARS}


def tail(result: subprocess.CompletedProcess[str], size: int = 4000) -> str:
    return f"exit {result.returncode}\n{result.stdout[-size:]}\n{result.stderr[-size:]}"


@dataclass
class MeltanoProject:
    """The repository's Meltano project in a clean copy, run as a user runs it."""

    root: Path
    env: dict[str, str]
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    @property
    def meltano(self) -> str:
        return str(self.root / ".venv-meltano" / "bin" / "meltano")

    def install(self, *plugins: tuple[str, str]) -> None:
        """Meltano itself, then only the named (type, name) plugins."""
        for command in (["bash", "scripts/bootstrap"], ["bash", "scripts/bootstrap-meltano"]):
            self._check(self._run(command, timeout=900))
        for kind, name in plugins:
            self._check(self._run([self.meltano, "install", f"--plugin-type={kind}", name], 900))

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`meltano run ARGS` (the dev environment); the result is kept for the report."""
        result = self._run([self.meltano, "run", *args], timeout)
        self.runs.append(result)
        return result

    def _run(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    @staticmethod
    def _check(result: subprocess.CompletedProcess[str]) -> None:
        assert result.returncode == 0, tail(result)


# Runs in the target-postgres plugin's Python: one query, rows as JSON on stdout.
_QUERY = """
import json, os, sys
import psycopg
with psycopg.connect(
    host=os.environ["MARKETO_PG_HOST"], port=os.environ["MARKETO_PG_PORT"],
    user=os.environ["MARKETO_PG_USER"], password=os.environ["MARKETO_PG_PASSWORD"],
    dbname=os.environ["MARKETO_PG_DATABASE"], autocommit=True,
) as db:
    cursor = db.execute(sys.argv[1])
    rows = cursor.fetchall() if cursor.description else []
print(json.dumps([list(row) for row in rows], default=str))
"""


@dataclass
class Warehouse:
    """The schema one test module loads into (a fresh name, dropped afterwards)."""

    project: MeltanoProject
    schema: str = field(default_factory=lambda: f"marketo_e2e_{uuid.uuid4().hex[:10]}")

    @property
    def python(self) -> str:
        venv = self.project.root / ".meltano" / "loaders" / "target-postgres" / "venv"
        return str(venv / "bin" / "python")

    def query(self, sql: str) -> list[list[Any]]:
        result = subprocess.run(
            [self.python, "-c", _QUERY, sql], env=self.project.env,
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, f"{sql}\n{result.stderr[-3000:]}"
        rows: list[list[Any]] = json.loads(result.stdout)
        return rows

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"'

    def tables(self) -> set[str]:
        rows = self.query(
            "select table_name from information_schema.tables "
            f"where table_schema = '{self.schema}'"
        )
        return {row[0] for row in rows}

    def column(self, table: str, column: str, where: str = "true") -> set[Any]:
        rows = self.query(f'select "{column}" from {self.table(table)} where {where}')
        return {row[0] for row in rows}

    def drop(self) -> None:
        """This schema and those named after it (dbt's `<schema>_analytics`, ...)."""
        rows = self.query(
            "select schema_name from information_schema.schemata "
            f"where schema_name = '{self.schema}' or schema_name like '{self.schema}\\_%'"
        )
        for (name,) in rows:
            self.query(f'drop schema "{name}" cascade')
