"""Marketo into PostgreSQL through MeltanoLabs' target-postgres, as a user runs it:
`meltano run tap-marketo-crm target-postgres` in a clean copy of the repository, against a
sandbox (`small` seed) this test owns and a PostgreSQL server from MARKETO_PG_* (.ci/run
starts one; locally `scripts/postgres start` does).

- a full sync loads exactly what Marketo holds, table by table;
- an incremental sync after a lead delete and a merge flags both leads (_sdc_deleted_at;
  target-postgres hard-deletes only on ACTIVATE_VERSION) and carries the update;
- a re-read of activity_types after a custom activity type was deleted in Marketo drops its
  row: the tap ends that stream with ACTIVATE_VERSION, the loader deletes older versions;
- `meltano run tap-marketo-crm target-postgres dbt-postgres:build` builds transform/'s
  models on what was loaded and every dbt test passes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from marketo_core import MarketoClient
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.model import activity_types as sandbox_activity_types
from marketo_sandbox.testing import SandboxControl
from postgres_warehouse import MeltanoProject, Warehouse, postgres_settings, tail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

# Faster than Marketo's 100 calls / 20 s on both sides: the test is about the loader.
FAST_RATE = 1000
PRODUCT_TRIAL_STARTED = 100002  # a custom activity type: Marketo lets an admin delete it

# warehouse table -> (sandbox ground-truth kind, key column); every object of the `small`
# seed is reachable by the tap, so the key sets are equal, not just the counts.
TABLES = {
    "leads": ("leads", "id"),
    "deleted_leads": ("deleted_leads", "marketoGUID"),
    "companies": ("companies", "id"),
    "salespersons": ("salespersons", "id"),
    "opportunities": ("opportunities", "marketoGUID"),
    "programs": ("programs", "id"),
    "static_lists": ("lists", "id"),
    "campaigns": ("campaigns", "id"),
    "custom_car_c": ("customobjects/car_c", "marketoGUID"),
    "custom_subscription_c": ("customobjects/subscription_c", "marketoGUID"),
}
# Tables keyed by several columns: compared as key tuples.
COMPOUND = {
    "opportunity_roles": ("opportunity_roles", ("externalOpportunityId", "leadId", "role")),
    "program_memberships": ("program_members", ("programId", "leadId")),
    "list_memberships": ("list_members", ("listId", "leadId")),
}
DELETE_LEAD = 37  # its activities are the lead's deletion, read from deleted_leads


@dataclass
class Pipeline:
    project: MeltanoProject
    warehouse: Warehouse
    sandbox: SandboxControl
    info: dict[str, str]

    def run(self, *args: str) -> None:
        result = self.project.run(*args, "tap-marketo-crm", "target-postgres")
        assert result.returncode == 0, tail(result)

    def marts(self, table: str) -> str:
        return f'"{self.warehouse.schema}_analytics"."{table}"'

    def writer(self) -> MarketoClient:
        return MarketoClient(
            self.info["endpoint"], self.info["client_id"], self.info["client_secret"],
            rate_limit_calls=100_000,
        )

    def live_leads(self) -> set[int]:
        return self.warehouse.column("leads", "id", '"_sdc_deleted_at" is null')

    def table_versions(self, table: str) -> set[int]:
        return self.warehouse.column(table, "_sdc_table_version")


@pytest.fixture(scope="module")
def pipeline(clean_copy: Path) -> Iterator[Pipeline]:
    settings = postgres_settings()
    config = SandboxConfig(client_secret="e2e-postgres-secret-not-for-production")
    config.update({"rate_limit_calls": FAST_RATE})
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=460)  # the seed spans 14 months
    with SandboxServer(config, seed="small") as server:
        info = server.info()
        env = {
            **os.environ,
            **settings,
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MARKETO_SANDBOX_ENDPOINT": info["endpoint"],
            "MARKETO_SANDBOX_IDENTITY": info["identity"],
            "MARKETO_SANDBOX_CLIENT_ID": info["client_id"],
            "MARKETO_SANDBOX_CLIENT_SECRET": info["client_secret"],
            "MARKETO_START_DATE": start.strftime("%Y-%m-%dT00:00:00Z"),
            "TAP_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE),
        }
        for name in ("MARKETO_CRM_VENV", "MELTANO_VENV", "MELTANO_PROJECT_ROOT", "VIRTUAL_ENV"):
            env.pop(name, None)
        project = MeltanoProject(clean_copy, env)
        project.install(("extractor", "tap-marketo-crm"), ("loader", "target-postgres"),
                        ("utility", "dbt-postgres"))
        warehouse = Warehouse(project)
        # This module's own schemas: the loader's, and dbt's models beside it.
        env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = warehouse.schema
        env["DBT_POSTGRES_SOURCE_SCHEMA"] = warehouse.schema
        env["DBT_POSTGRES_TARGET_SCHEMA"] = f"{warehouse.schema}_analytics"
        try:
            yield Pipeline(project, warehouse, SandboxControl(server.url), info)
        finally:
            warehouse.drop()


@contextmanager
def deleted_activity_type(type_id: int) -> Iterator[dict[str, Any]]:
    """The sandbox's type listing without ``type_id``, as after an admin deleted that
    custom type in Marketo. The sandbox runs in this process, and its control API has no
    call for this, so its listing is edited in place and restored afterwards."""
    listing = sandbox_activity_types.ACTIVITY_TYPES
    index = next(i for i, t in enumerate(listing) if t["id"] == type_id)
    removed = listing.pop(index)
    try:
        yield removed
    finally:
        listing.insert(index, removed)


@pytest.fixture(scope="module")
def full(pipeline: Pipeline) -> Pipeline:
    pipeline.run("--full-refresh")
    return pipeline


@dataclass
class Changes:
    deleted: int
    winner: int
    loser: int
    changed: int
    title: str


@pytest.fixture(scope="module")
def incremental(full: Pipeline) -> Changes:
    leads = sorted(full.sandbox.objects("leads"), key=lambda r: r["id"])
    # Leads with no role and no list or program membership: only these writes touch them.
    changes = Changes(leads[11]["id"], leads[12]["id"], leads[13]["id"], leads[10]["id"],
                      "Chief Warehouse Officer")
    with full.writer() as writer:
        result = writer.post("/rest/v1/leads/delete.json",
                             json={"input": [{"id": changes.deleted}]})
        assert result["result"][0]["status"] == "deleted", result
        writer.post(f"/rest/v1/leads/{changes.winner}/merge.json",
                    params={"leadIds": changes.loser})
        result = writer.post("/rest/v1/leads.json", json={
            "action": "updateOnly", "lookupField": "id",
            "input": [{"id": changes.changed, "title": changes.title}],
        })
        assert result["result"][0]["status"] == "updated", result
    full.run()
    return changes


def test_full_sync_loads_every_table_as_marketo_holds_it(full: Pipeline) -> None:
    warehouse, sandbox = full.warehouse, full.sandbox
    for table, (kind, key) in TABLES.items():
        truth = {row[key] for row in sandbox.objects(kind)}
        assert truth, f"the seed has no {kind}"
        assert warehouse.column(table, key) == truth, table
    for table, (kind, keys) in COMPOUND.items():
        truth_rows = {tuple(row[k] for k in keys) for row in sandbox.objects(kind)}
        columns = ", ".join(f'"{k}"' for k in keys)
        rows = warehouse.query(f"select {columns} from {warehouse.table(table)}")
        loaded = {tuple(row) for row in rows}
        assert loaded == truth_rows, table
    listed = {t["id"] for t in sandbox_activity_types.ACTIVITY_TYPES}
    assert warehouse.column("activity_types", "id") == listed

    # Activities: every one Marketo holds, in the table of its type.
    truth_by_type: dict[int, int] = {}
    for activity in sandbox.objects("activities"):
        if activity["activityTypeId"] != DELETE_LEAD:
            type_id = activity["activityTypeId"]
            truth_by_type[type_id] = truth_by_type.get(type_id, 0) + 1
    tables = sorted(t for t in warehouse.tables() if t.startswith("activities_"))
    union = " union all ".join(
        f'select "activityTypeId", count(*) from {warehouse.table(t)} group by 1' for t in tables
    )
    loaded_by_type = {int(type_id): count for type_id, count in warehouse.query(union)}
    assert loaded_by_type == truth_by_type


def test_full_sync_loads_activity_types_as_one_version(full: Pipeline) -> None:
    versions = full.table_versions("activity_types")
    assert len(versions) == 1
    assert None not in versions
    # Only the stream read whole carries a version; incremental ones do not.
    assert full.table_versions("leads") == {None}


def test_incremental_sync_flags_the_deleted_and_the_merged_lead(
    full: Pipeline, incremental: Changes
) -> None:
    warehouse = full.warehouse
    marketo_leads = {lead["id"] for lead in full.sandbox.objects("leads")}
    assert incremental.deleted not in marketo_leads
    assert incremental.loser not in marketo_leads
    assert full.live_leads() == marketo_leads
    flagged = {
        row[0]: row[1]
        for row in warehouse.query(
            f'select id, "_sdc_merged_into_lead_id" from {warehouse.table("leads")} '
            'where "_sdc_deleted_at" is not null'
        )
    }
    assert flagged == {incremental.deleted: None, incremental.loser: incremental.winner}
    titles = warehouse.query(
        f'select title from {warehouse.table("leads")} where id = {incremental.changed}'
    )
    assert titles == [[incremental.title]]
    assert incremental.deleted in warehouse.column("deleted_leads", "leadId")


def test_versioned_reread_drops_an_activity_type_marketo_no_longer_lists(
    full: Pipeline, incremental: Changes
) -> None:
    before = full.table_versions("activity_types")
    assert PRODUCT_TRIAL_STARTED in full.warehouse.column("activity_types", "id")
    with deleted_activity_type(PRODUCT_TRIAL_STARTED):
        listed = {t["id"] for t in sandbox_activity_types.ACTIVITY_TYPES}
        full.run()
    assert PRODUCT_TRIAL_STARTED not in listed
    assert full.warehouse.column("activity_types", "id") == listed
    after = full.table_versions("activity_types")
    assert len(after) == 1
    assert min(after) > max(before)
    # Streams read by bookmark kept their rows: no version was activated for them.
    assert full.live_leads() == {lead["id"] for lead in full.sandbox.objects("leads")}


def test_dbt_builds_the_marts_on_postgres_and_its_tests_pass(
    full: Pipeline, incremental: Changes
) -> None:
    result = full.project.run("tap-marketo-crm", "target-postgres", "dbt-postgres:build")
    assert result.returncode == 0, tail(result)
    target = full.project.root / ".meltano" / "utilities" / "dbt-postgres" / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
    assert not failed, failed
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    models = [r for r in results if r["unique_id"].startswith("model.")]
    assert len(tests) >= 10
    assert len(models) >= 10
    # The marts describe what Marketo holds now: the deleted and the merged-away lead,
    # flagged rows in the loaded table, are not leads of the mart.
    leads = {row[0] for row in full.warehouse.query(
        f"select lead_id from {full.marts('marketo__leads')}")}
    assert leads == {lead["id"] for lead in full.sandbox.objects("leads")}
    assert not {incremental.deleted, incremental.loser} & leads
