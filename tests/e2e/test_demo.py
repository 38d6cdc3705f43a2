"""The README's main job, run as a user runs it: `bash scripts/demo` in a clean copy of the
repository (its own virtualenvs, `meltano install`, `meltano run`), against a sandbox this
test owns so that it can check Marketo's side afterwards.

The demo extracts Marketo into DuckDB, writes the sample CRM export back (first as it was
before a contact and a contact role were deleted, then with those deletes), extracts
incrementally, and repeats the extract as a plain `tap | target` pipe.
"""

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

CRM = Path(__file__).resolve().parents[2] / "demo" / "crm"
# Faster than Marketo's 100 calls / 20 s on both sides, so CI spends its time on the flow,
# not on waiting for rate windows (the demo itself runs with Marketo's limits).
FAST_RATE = 1000


def crm(object_name: str) -> list[dict[str, Any]]:
    lines = (CRM / f"{object_name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class DemoRun:
    root: Path
    result: subprocess.CompletedProcess[str]
    sandbox: SandboxControl

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = json.loads(
            (self.root / "output" / "demo" / "summary.json").read_text()
        )
        return summary

    def query(self, database: str, sql: str) -> list[list[Any]]:
        """Rows of a query on output/<database>, through the target-duckdb plugin's Python
        (the test environment itself does not install duckdb)."""
        python = self.root / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
        script = (
            "import duckdb, json, sys\n"
            "db = duckdb.connect(sys.argv[1], read_only=True)\n"
            "rows = db.execute(sys.argv[2]).fetchall()\n"
            "print(json.dumps([list(r) for r in rows], default=str))\n"
        )
        out = subprocess.run(
            [str(python), "-c", script, str(self.root / "output" / database), sql],
            capture_output=True, text=True, check=True, timeout=120,
        )
        rows: list[list[Any]] = json.loads(out.stdout)
        return rows

    def column(self, database: str, table: str, column: str) -> set[Any]:
        catalog = Path(database).stem
        rows = self.query(database, f'select {column} from "{catalog}".marketo.{table}')
        return {row[0] for row in rows}


@pytest.fixture(scope="module")
def demo(clean_copy: Path) -> Iterator[DemoRun]:
    config = SandboxConfig(client_secret="e2e-secret-not-for-production")
    config.update({"rate_limit_calls": FAST_RATE})
    with SandboxServer(config, seed="demo") as server:
        info = server.info()
        env = {
            **os.environ,
            "MARKETO_SANDBOX_ENDPOINT": info["endpoint"],
            "MARKETO_SANDBOX_IDENTITY": info["identity"],
            "MARKETO_SANDBOX_CLIENT_ID": info["client_id"],
            "MARKETO_SANDBOX_CLIENT_SECRET": info["client_secret"],
            "TAP_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE),
            "TARGET_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE),
        }
        for name in ("MARKETO_CRM_VENV", "MELTANO_VENV", "MELTANO_PROJECT_ROOT", "VIRTUAL_ENV"):
            env.pop(name, None)
        result = subprocess.run(
            ["bash", "scripts/demo"],
            cwd=clean_copy, env=env, capture_output=True, text=True, timeout=1700, check=False,
        )
        yield DemoRun(clean_copy, result, SandboxControl(server.url))


def test_the_demo_command_succeeds_and_prints_its_summary(demo: DemoRun) -> None:
    assert demo.result.returncode == 0, demo.result.stdout[-4000:] + demo.result.stderr[-4000:]
    assert "Summary" in demo.result.stdout
    steps = {step["name"]: step for step in demo.summary["steps"]}
    assert list(steps) == ["extract-full", "write-back-initial", "write-back-deletes",
                           "extract-incremental", "plain-pipe"]
    assert all(step["status"] == 0 for step in steps.values())
    assert all(step["api_calls"] > 0 for step in steps.values())
    # Nothing in the sample CRM export is refused by Marketo.
    assert demo.summary["reject_file_lines"] == 0
    assert steps["write-back-deletes"]["target"]["rejects"] == 0


def test_crm_export_is_in_marketo_with_its_deletes_applied(demo: DemoRun) -> None:
    sandbox = demo.sandbox
    salespersons = {s["externalSalesPersonId"] for s in sandbox.objects("salespersons")}
    assert {u["Id"] for u in crm("User")} <= salespersons
    companies = {c["externalCompanyId"] for c in sandbox.objects("companies")}
    assert {a["Id"] for a in crm("Account")} <= companies
    opportunities = {o["externalOpportunityId"] for o in sandbox.objects("opportunities")}
    assert {o["Id"] for o in crm("Opportunity")} <= opportunities

    leads_by_contact = {lead.get("crmContactId"): lead for lead in sandbox.objects("leads")}
    live = [c for c in crm("Contact") if not c["IsDeleted"]]
    deleted = [c for c in crm("Contact") if c["IsDeleted"]]
    assert deleted, "the sample export deletes a contact"
    for contact in live:
        lead = leads_by_contact[contact["Id"]]
        assert lead["email"] == contact["Email"]
        assert lead.get("externalCompanyId") == contact["AccountId"]
    assert not {c["Id"] for c in deleted} & set(leads_by_contact)

    contact_of_lead = {lead["id"]: cid for cid, lead in leads_by_contact.items() if cid}
    roles = {
        (r["externalOpportunityId"], contact_of_lead.get(r["leadId"]), r["role"])
        for r in sandbox.objects("opportunity_roles")
    }
    for role in crm("OpportunityContactRole"):
        key = (role["OpportunityId"], role["ContactId"], role["Role"])
        assert (key in roles) is not role["IsDeleted"], key


def test_warehouse_leads_equal_marketo_after_the_incremental_run(demo: DemoRun) -> None:
    marketo_leads = {lead["id"] for lead in demo.sandbox.objects("leads")}
    warehouse_leads = demo.column("marketo.duckdb", "leads", "id")
    assert warehouse_leads == marketo_leads, (
        f"missing {sorted(marketo_leads - warehouse_leads)[:20]}, "
        f"extra {sorted(warehouse_leads - marketo_leads)[:20]}"
    )


def test_incremental_run_picked_up_the_write_back_and_the_delete(demo: DemoRun) -> None:
    contacts = demo.column("marketo.duckdb", "leads", "crmcontactid")
    live = {c["Id"] for c in crm("Contact") if not c["IsDeleted"]}
    deleted = {c["Id"] for c in crm("Contact") if c["IsDeleted"]}
    assert live <= contacts
    assert not deleted & contacts
    # The deleted lead is recorded in deleted_leads, as Marketo records it.
    marketo_deleted = {d["leadId"] for d in demo.sandbox.objects("deleted_leads")}
    assert demo.column("marketo.duckdb", "deleted_leads", "leadid") == marketo_deleted
    # The CRM's parents came back with the leads that point at them.
    assert {a["Id"] for a in crm("Account")} <= demo.column(
        "marketo.duckdb", "companies", "externalcompanyid")
    assert {u["Id"] for u in crm("User")} <= demo.column(
        "marketo.duckdb", "salespersons", "externalsalespersonid")
    assert {o["Id"] for o in crm("Opportunity")} <= demo.column(
        "marketo.duckdb", "opportunities", "externalopportunityid")


def test_incremental_run_costs_less_than_the_full_one(demo: DemoRun) -> None:
    steps = {step["name"]: step for step in demo.summary["steps"]}
    assert steps["extract-incremental"]["api_calls"] < steps["extract-full"]["api_calls"]


def test_plain_pipe_loads_what_marketo_holds(demo: DemoRun) -> None:
    marketo_leads = {lead["id"] for lead in demo.sandbox.objects("leads")}
    assert demo.column("pipe.duckdb", "leads", "id") == marketo_leads
    for kind, key in (("companies", "externalCompanyId"),
                      ("opportunities", "externalOpportunityId")):
        warehouse = demo.column("pipe.duckdb", kind, key.lower())
        assert warehouse <= {o[key] for o in demo.sandbox.objects(kind)}
