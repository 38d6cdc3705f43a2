"""The marts (transform/) as Meltano builds them, for tests/e2e/test_dbt.py and
test_report.py: a full extract + dbt build, changes in Marketo, an incremental extract +
dbt build, a snapshot of every mart, then `dbt build --full-refresh`. conftest.py registers
the `marts` fixture, so both modules share one build."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.testing import SandboxControl


@dataclass
class MartsRun:
    """The project copy, its DuckDB file, each run's output and API calls, and what was
    changed in Marketo between the extracts."""

    root: Path
    database: Path
    runs: dict[str, subprocess.CompletedProcess[str]]
    api_calls: dict[str, int]
    changes: dict[str, Any]

    def python(self, plugin: str) -> Path:
        return self.root / ".meltano" / plugin / "venv" / "bin" / "python"

    def query(self, sql: str, plugin: str = "utilities/dbt-duckdb") -> list[list[Any]]:
        """Rows of a query, through a plugin's duckdb (the test venv has none)."""
        script = (
            "import duckdb, json, sys\n"
            "db = duckdb.connect(sys.argv[1], read_only=True)\n"
            "print(json.dumps([list(r) for r in db.execute(sys.argv[2]).fetchall()],"
            " default=str))\n"
        )
        out = subprocess.run([str(self.python(plugin)), "-c", script, str(self.database), sql],
                             capture_output=True, text=True, check=True, timeout=300)
        rows: list[list[Any]] = json.loads(out.stdout)
        return rows


def _sandbox_session(info: dict[str, str]) -> requests.Session:
    """An authenticated session, as any Marketo client gets one."""
    token = requests.get(f"{info['identity']}/oauth/token", timeout=30, params={
        "grant_type": "client_credentials", "client_id": info["client_id"],
        "client_secret": info["client_secret"]}).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture(scope="session")
def marts(clean_copy: Path) -> MartsRun:
    root = clean_copy
    database = root / "output" / "e2e-marts" / "marketo.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    for script in ("bootstrap-meltano",):
        subprocess.run(["bash", f"scripts/{script}"], cwd=root, check=True, timeout=900,
                       capture_output=True)
    meltano = str(root / ".venv-meltano" / "bin" / "meltano")
    config = SandboxConfig(client_secret="e2e-marts-secret-not-for-production")
    config.update({"rate_limit_calls": 1000})
    with SandboxServer(config, seed="small") as server:
        info = server.info()
        env = {**os.environ, "MELTANO_ENVIRONMENT": "dev",
               "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
               "MARKETO_SANDBOX_ENDPOINT": info["endpoint"],
               "MARKETO_SANDBOX_CLIENT_ID": info["client_id"],
               "MARKETO_SANDBOX_CLIENT_SECRET": info["client_secret"],
               "MARKETO_START_DATE": (dt.datetime.now(dt.UTC) - dt.timedelta(days=460))
               .strftime("%Y-%m-%dT00:00:00Z"),
               "TAP_MARKETO_CRM_RATE_LIMIT_CALLS": "1000",
               # Its own warehouse file and state, apart from the demo's.
               "TARGET_DUCKDB_PATH": str(database), "DBT_DUCKDB_PATH": str(database)}
        for name in ("MARKETO_CRM_VENV", "MELTANO_VENV", "MELTANO_PROJECT_ROOT", "VIRTUAL_ENV"):
            env.pop(name, None)
        install = subprocess.run([meltano, "install"], cwd=root, env=env, capture_output=True,
                                 text=True, timeout=1200, check=False)
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        control = SandboxControl(server.url)
        runs: dict[str, subprocess.CompletedProcess[str]] = {}
        calls: dict[str, int] = {}

        def meltano_run(name: str, *args: str) -> None:
            control.reset_calls()
            runs[name] = subprocess.run([meltano, *args], cwd=root, env=env,
                                        capture_output=True, text=True, timeout=1200,
                                        check=False)
            calls[name] = int(control.calls().get("total", 0))

        pipeline = ("tap-marketo-crm", "target-duckdb", "dbt-duckdb:build")
        meltano_run("full", "run", "--state-id-suffix=e2e-marts", "--full-refresh", *pipeline)
        changes = _change_marketo(server, info, MartsRun(root, database, runs, calls, {}))
        meltano_run("incremental", "run", "--state-id-suffix=e2e-marts", *pipeline)
        # Every mart as the incremental build left it, then all of them rebuilt from scratch.
        snapshot = subprocess.run([str(root / ".meltano/utilities/dbt-duckdb/venv/bin/python"),
                                   "-c", _SNAPSHOT, str(database)], capture_output=True,
                                  text=True, timeout=300, check=False)
        assert snapshot.returncode == 0, snapshot.stderr
        meltano_run("full-refresh", "run", "dbt-duckdb:build-full-refresh")
    summary = database.parent / "demo" / "summary.json"
    summary.parent.mkdir(exist_ok=True)
    summary.write_text(json.dumps({"steps": [
        {"name": f"extract-{name}", "api_calls": calls[name]} for name in ("full", "incremental")
    ]}))
    return MartsRun(root, database, runs, calls, changes)


# Copies every table of schema analytics into schema incremental_snapshot.
_SNAPSHOT = """
import duckdb, sys
db = duckdb.connect(sys.argv[1])
db.execute("create schema if not exists incremental_snapshot")
for (name,) in db.execute("select table_name from information_schema.tables "
                          "where table_schema = 'analytics'").fetchall():
    db.execute(f'create or replace table incremental_snapshot."{name}" as '
               f'select * from analytics."{name}"')
"""


def _change_marketo(server: SandboxServer, info: dict[str, str], first: MartsRun) -> dict[str, Any]:
    """What happens in Marketo between the two extracts: field changes, a new and a deleted
    lead (through the REST API, which logs Change Data Value activities), a static list
    deleted with its members, and emails sent, opened and clicked (logged as Marketo's email
    engine would: the sandbox has no API for it), one of them an open and click of a send
    the first run already loaded."""
    assert first.runs["full"].returncode == 0, (
        first.runs["full"].stdout[-4000:] + first.runs["full"].stderr[-4000:])
    api = _sandbox_session(info)
    base = info["endpoint"]
    leads = [row[0] for row in first.query(
        "select lead_id from analytics.marketo__leads order by lead_id limit 3")]
    changed, deleted = leads[0], leads[1]
    result = api.post(f"{base}/rest/v1/leads.json", timeout=30, json={
        "action": "updateOnly", "lookupField": "id",
        "input": [{"id": changed, "leadStatus": "Sales Qualified",
                   "title": "Chief Data Officer"}],
    }).json()
    assert result["success"], result
    assert result["result"][0]["status"] == "updated", result
    result = api.post(f"{base}/rest/v1/leads.json", timeout=30, json={
        "action": "createOnly",
        "input": [{"email": "marts-e2e@example.org", "firstName": "Mart"}],
    }).json()
    assert result["success"], result
    assert result["result"][0]["status"] == "created", result
    created = int(result["result"][0]["id"])
    result = api.post(f"{base}/rest/v1/leads/delete.json", timeout=30,
                      json={"input": [{"id": deleted}]}).json()
    assert result["success"], result
    # A static list deleted with its members: Marketo logs no Remove from List for them.
    deleted_list = first.query(
        "select list_id from analytics_staging.stg_marketo__list_memberships "
        "group by list_id order by count(*) desc, list_id limit 1")[0][0]
    result = api.post(f"{base}/rest/asset/v1/staticList/{deleted_list}/delete.json",
                      timeout=30).json()
    assert result["success"], result

    store = server.store
    assert store is not None
    old = first.query(
        "select lead_id, email_template_id, email_template_name, campaign_id, campaign_run_id, "
        "email_send_id from analytics.marketo__email_sends where not was_opened and "
        "campaign_id is not null and lead_id not in (" + f"{deleted}, {changed}" + ") "
        "order by activity_timestamp desc limit 1")[0]
    lead_id, mailing, name, campaign, run, old_send = old
    engagement = {"Campaign Run ID": run, "Choice Number": 0, "Step ID": 1, "Test Variant": 0}
    for type_id in (10, 11):  # Open Email, Click Email
        store.log_activity(lead_id, type_id, primary_attribute_value_id=mailing,
                           primary_attribute_value=name, attributes=engagement,
                           campaign_id=campaign)
    new_run = 9001
    for type_id in (6, 7, 10):  # Send Email, Email Delivered, Open Email
        store.log_activity(created, type_id, primary_attribute_value_id=mailing,
                           primary_attribute_value=name, campaign_id=campaign,
                           attributes={**engagement, "Campaign Run ID": new_run})
    return {"changed_lead": changed, "deleted_lead": deleted, "created_lead": created,
            "deleted_list": deleted_list, "old_send": old_send,
            "new_send": f"{mailing}-{campaign}-{new_run}-{created}"}
