"""The two-way cycle as Meltano schedules it: `meltano schedule list` shows it, and
`meltano schedule run` pushes the CRM export into Marketo and then pulls Marketo (the
pushed records included) into DuckDB, in a clean copy of the repository against a sandbox
this test owns. A second run right after changes nothing in Marketo and pulls incrementally:
what makes running it every few minutes affordable."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.testing import SandboxControl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

SCHEDULE = "crm-two-way-sync-every-10-minutes"
JOB = "crm-two-way-sync"
CRM = Path(__file__).resolve().parents[2] / "demo" / "crm"
FAST_RATE = 1000
# Marketo endpoints the write-back calls, and the one a pull always starts with.
WRITES = ("POST /rest/v1/salespersons.json", "POST /rest/v1/companies.json",
          "POST /rest/v1/leads.json", "POST /rest/v1/opportunities.json",
          "POST /rest/v1/opportunities/roles.json")
PULL = "POST /bulk/v1/leads/export/create.json"


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    sandbox: SandboxControl
    work: Path

    def meltano(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / ".venv-meltano" / "bin" / "meltano"), *args],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )

    def run_schedule(self) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
        """`meltano schedule run`, and the Marketo calls it made, per endpoint."""
        self.sandbox.reset_calls()
        result = self.meltano("schedule", "run", SCHEDULE)
        return result, self.sandbox.calls()["endpoints"]

    def warehouse(self, table: str, column: str) -> set[Any]:
        """A column of the scheduled run's DuckDB file, read with the target-duckdb plugin's
        Python (the test environment does not install duckdb)."""
        python = self.root / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
        script = ("import duckdb, json, sys\n"
                  "db = duckdb.connect(sys.argv[1], read_only=True)\n"
                  "print(json.dumps([r[0] for r in db.execute(sys.argv[2]).fetchall()], "
                  "default=str))\n")
        out = subprocess.run(
            [str(python), "-c", script, str(self.work / "schedule.duckdb"),
             f'select {column} from "schedule".marketo.{table}'],
            capture_output=True, text=True, check=True, timeout=120,
        )
        return set(json.loads(out.stdout))


def crm(object_name: str) -> list[dict[str, Any]]:
    lines = (CRM / f"{object_name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def project(clean_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    work = tmp_path_factory.mktemp("schedule")
    env = {k: v for k, v in os.environ.items()
           if k not in {"MARKETO_CRM_VENV", "MELTANO_VENV", "MELTANO_PROJECT_ROOT",
                        "VIRTUAL_ENV", "MELTANO_ENVIRONMENT"}}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    # What scripts/demo sets up (a no-op when the demo test already did it in this copy).
    subprocess.run(["bash", "scripts/bootstrap-meltano"], cwd=clean_copy, env=env,
                   check=True, capture_output=True, timeout=900)
    install = subprocess.run([str(clean_copy / ".venv-meltano" / "bin" / "meltano"), "install"],
                             cwd=clean_copy, env=env, capture_output=True, text=True,
                             timeout=1200, check=False)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    config = SandboxConfig(client_secret="e2e-schedule-secret-not-for-production")
    config.update({"rate_limit_calls": FAST_RATE})
    with SandboxServer(config, seed="small") as server:
        info = server.info()
        env.update({
            "MARKETO_SANDBOX_ENDPOINT": info["endpoint"],
            "MARKETO_SANDBOX_CLIENT_ID": info["client_id"],
            "MARKETO_SANDBOX_CLIENT_SECRET": info["client_secret"],
            "MARKETO_START_DATE": "2024-01-01T00:00:00Z",
            "TAP_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE),
            "TARGET_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE),
            # This test's own state, warehouse and rejects, whatever ran in the copy before.
            "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
            "TARGET_DUCKDB_PATH": str(work / "schedule.duckdb"),
            "TARGET_MARKETO_CRM_REJECT_FILE": str(work / "rejects.jsonl"),
        })
        yield Project(clean_copy, env, SandboxControl(server.url), work)


def test_the_schedule_is_listed_with_its_interval_and_job(project: Project) -> None:
    listed = project.meltano("schedule", "list", "--format=json", timeout=120)
    assert listed.returncode == 0, listed.stderr[-3000:]
    schedules = {s["name"]: s for s in json.loads(listed.stdout)["schedules"]["job"]}
    schedule = schedules[SCHEDULE]
    assert schedule["cron_interval"] == "*/10 * * * *"
    assert schedule["job"]["name"] == JOB
    tasks: list[str] = []
    for task in schedule["job"]["tasks"]:
        tasks.extend([task] if isinstance(task, str) else task)
    # The CRM push first, parents before children, then the Marketo pull.
    assert tasks == [
        "crm-users target-marketo-crm",
        "crm-accounts target-marketo-crm",
        "crm-contacts target-marketo-crm",
        "crm-opportunities target-marketo-crm",
        "crm-contact-roles target-marketo-crm",
        "tap-marketo-crm target-duckdb",
    ]


@pytest.fixture(scope="module")
def first_run(project: Project) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    return project.run_schedule()


def test_schedule_run_pushes_the_crm_then_pulls_marketo(
    project: Project, first_run: tuple[subprocess.CompletedProcess[str], dict[str, int]],
) -> None:
    result, calls = first_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for endpoint in WRITES:
        assert calls.get(endpoint, 0) > 0, f"no {endpoint} call: {sorted(calls)}"
    assert calls.get(PULL, 0) > 0

    # Marketo holds the CRM's live contacts as leads (keyed on crmContactId)...
    live = {c["Id"] for c in crm("Contact") if not c["IsDeleted"]}
    in_marketo = {lead.get("crmContactId") for lead in project.sandbox.objects("leads")}
    assert live <= in_marketo
    # ...and the pull that followed brought them, and every other lead, to the warehouse.
    assert live <= project.warehouse("leads", "crmcontactid")
    assert project.warehouse("leads", "id") == {
        lead["id"] for lead in project.sandbox.objects("leads")}
    assert {a["Id"] for a in crm("Account")} <= project.warehouse(
        "companies", "externalcompanyid")
    rejects = project.work / "rejects.jsonl"
    assert not rejects.exists() or not rejects.read_text().strip()


def test_a_second_run_changes_nothing_in_marketo_and_pulls_incrementally(
    project: Project, first_run: tuple[subprocess.CompletedProcess[str], dict[str, int]],
) -> None:
    leads_before = project.sandbox.objects("leads")
    result, calls = project.run_schedule()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # The same export pushed again is the same upserts: no lead created, none changed.
    leads_after = project.sandbox.objects("leads")
    assert {lead["id"]: lead.get("updatedAt") for lead in leads_after} == {
        lead["id"]: lead.get("updatedAt") for lead in leads_before}
    # The pull runs from its bookmarks: far fewer calls than the first (full) sync.
    assert calls.get(PULL, 0) > 0
    assert sum(calls.values()) < sum(first_run[1].values())
    assert project.warehouse("leads", "id") == {lead["id"] for lead in leads_after}
