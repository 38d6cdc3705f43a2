"""The marts in transform/, as Meltano builds them: `meltano run tap-marketo-crm
target-duckdb dbt-duckdb:build` after a full extract, then again after changes in Marketo
and an incremental extract (incremental dbt models), then `dbt build --full-refresh`. The
incremental build must leave every mart exactly as the full rebuild does, and pick up what
changed in Marketo. The fixture (`marts`) is in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from marts_pipeline import MartsRun

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

MARTS = ("marketo__leads", "marketo__email_sends", "marketo__email_templates",
         "marketo__campaigns", "marketo__programs", "marketo__lead_history",
         "marketo__email_engagement_by_week")


def _output(marts: MartsRun, run: str) -> str:
    result = marts.runs[run]
    return result.stdout[-6000:] + result.stderr[-6000:]


@pytest.mark.parametrize("run", ["full", "incremental", "full-refresh"])
def test_each_build_and_its_dbt_tests_pass(marts: MartsRun, run: str) -> None:
    assert marts.runs[run].returncode == 0, _output(marts, run)
    log = marts.runs[run].stdout + marts.runs[run].stderr
    assert "Completed successfully" in log, _output(marts, run)


def test_every_fivetran_mart_is_built_and_filled(marts: MartsRun) -> None:
    tables = {row[0] for row in marts.query(
        "select table_name from information_schema.tables where table_schema = 'analytics'")}
    assert set(MARTS) <= tables
    for mart in MARTS:
        assert marts.query(f"select count(*) from analytics.{mart}")[0][0] > 0, mart


def test_incremental_build_equals_full_refresh(marts: MartsRun) -> None:
    for mart in MARTS:
        counts = [marts.query(f"select count(*) from {schema}.{mart}")[0][0]
                  for schema in ("incremental_snapshot", "analytics")]
        assert counts[0] == counts[1], (mart, counts)
        for left, right in (("incremental_snapshot", "analytics"),
                            ("analytics", "incremental_snapshot")):
            differing = marts.query(f"select * from {left}.{mart} except all "
                                    f"select * from {right}.{mart} limit 5")
            assert not differing, (mart, f"in {left}, not in {right}", differing)


def test_incremental_extract_and_build_picked_up_the_changes(marts: MartsRun) -> None:
    changes = marts.changes
    leads = {row[0] for row in marts.query(
        "select lead_id from incremental_snapshot.marketo__leads")}
    assert changes["created_lead"] in leads
    assert changes["deleted_lead"] not in leads
    # The older send was opened and clicked after the first build: its row was rebuilt.
    opened = marts.query(
        "select was_opened, was_clicked, count_opens from incremental_snapshot."
        f"marketo__email_sends where email_send_id = '{changes['old_send']}'")
    assert opened == [[True, True, 1]]
    new = marts.query(
        "select was_delivered, was_opened, was_clicked, lead_id from incremental_snapshot."
        f"marketo__email_sends where email_send_id = '{changes['new_send']}'")
    assert new == [[True, True, False, changes["created_lead"]]]


def test_members_of_a_deleted_static_list_leave_the_staging_model(marts: MartsRun) -> None:
    """The tap flags the list, not its members (Marketo logs no removal for them): the
    loaded memberships stay, and the staging model drops them by its join to the lists."""
    deleted_list = marts.changes["deleted_list"]
    loaded = marts.query(
        f"select count(*) from marketo.marketo.list_memberships where listid = {deleted_list}")
    assert loaded[0][0] > 0, "the loaded members of the deleted list"
    staged = marts.query(
        "select count(*) from analytics_staging.stg_marketo__list_memberships "
        f"where list_id = {deleted_list}")
    assert staged == [[0]]
    lists = marts.query("select list_id from analytics_staging.stg_marketo__static_lists")
    assert deleted_list not in {row[0] for row in lists}
    assert marts.query("select count(*) from analytics_staging.stg_marketo__list_memberships"
                       )[0][0] > 0


def test_lead_history_follows_change_data_value_activities(marts: MartsRun) -> None:
    changes = marts.changes
    today = marts.query(
        "select lead_status, title, cast(date_day as varchar) from incremental_snapshot."
        f"marketo__lead_history where lead_id = {changes['changed_lead']} "
        "order by date_day desc limit 1")
    assert today[0][:2] == ["Sales Qualified", "Chief Data Officer"]
    assert today[0][2] == marts.query("select cast(current_date as varchar)")[0][0]
    # The deleted lead has no history left; the new one has today's row.
    assert marts.query("select count(*) from incremental_snapshot.marketo__lead_history "
                       f"where lead_id = {changes['deleted_lead']}") == [[0]]
    assert marts.query("select count(*) from incremental_snapshot.marketo__lead_history "
                       f"where lead_id = {changes['created_lead']}") == [[1]]
    # One row per lead per day since its creation.
    spans = marts.query(
        "select count(*), min(date_day) = cast(min(l.created_timestamp) as date) "
        "from incremental_snapshot.marketo__lead_history h join "
        "incremental_snapshot.marketo__leads l using (lead_id) "
        f"where lead_id = {changes['changed_lead']}")
    created = marts.query("select cast(created_timestamp as date) from "
                          f"analytics.marketo__leads where lead_id = {changes['changed_lead']}")
    days = (dt.date.fromisoformat(today[0][2]) - dt.date.fromisoformat(created[0][0])).days + 1
    assert spans == [[days, True]]


def test_dbt_leaves_the_file_readable_by_the_loader(marts: MartsRun) -> None:
    """The incremental extract wrote into the file dbt had written: both use duckdb 1.1.3."""
    versions = {plugin: marts.query("select version()", plugin)[0][0]
                for plugin in ("loaders/target-duckdb", "utilities/dbt-duckdb")}
    assert set(versions.values()) == {"v1.1.3"}, versions
    assert marts.runs["incremental"].returncode == 0


def test_models_build_on_a_warehouse_without_the_tap_streams(clean_copy: Path,
                                                             tmp_path: Path) -> None:
    """An instance without some streams (custom objects, unused activity types, the emails
    asset stream), down to none at all: every model still builds, empty, and its tests pass."""
    meltano = clean_copy / ".venv-meltano" / "bin" / "meltano"
    subprocess.run(["bash", "scripts/bootstrap-meltano"], cwd=clean_copy, check=True,
                   capture_output=True, timeout=900)
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_DUCKDB_PATH": str(tmp_path / "empty.duckdb")}
    for name in ("MELTANO_PROJECT_ROOT", "VIRTUAL_ENV"):
        env.pop(name, None)
    subprocess.run([str(meltano), "install", "utility", "dbt-duckdb"], cwd=clean_copy,
                   env=env, check=True, capture_output=True, timeout=900)
    build = subprocess.run([str(meltano), "invoke", "dbt-duckdb:build"], cwd=clean_copy,
                           env=env, capture_output=True, text=True, timeout=900, check=False)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    assert "ERROR=0" in build.stdout
    assert "PASS=0" not in build.stdout
