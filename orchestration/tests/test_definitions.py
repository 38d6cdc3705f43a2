"""The code location without Meltano: instances.yml, schedules, the run queue's limit per
instance, the lock, the quota clock and reading Meltano's log."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_schedule_context,
    instance_for_test,
)

from marketo_orchestration.definitions import DEFAULT_INSTANCES_FILE, build_definitions
from marketo_orchestration.guard import InstanceBusy, instance_lock
from marketo_orchestration.instances import (
    InstanceConfigError,
    load_instances,
    parse_instance,
)
from marketo_orchestration.jobs import INSTANCE_TAG
from marketo_orchestration.meltano import MeltanoProject
from marketo_orchestration.meltano_log import parse_run_log

ORCHESTRATION = Path(__file__).resolve().parents[1]


def write_instances(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "instances.yml"
    path.write_text(yaml.safe_dump({"meltano_project": str(tmp_path), "instances": list(entries)}))
    return path


# --- instances.yml ---------------------------------------------------------------------

def test_the_shipped_instances_file_builds_a_job_and_schedule_per_instance() -> None:
    _, instances = load_instances(DEFAULT_INSTANCES_FILE)
    repository = build_definitions(DEFAULT_INSTANCES_FILE).get_repository_def()
    names = {f"marketo_{i.name}" for i in instances}
    assert {job.name for job in repository.get_all_jobs()} == names
    assert {s.name for s in repository.schedule_defs} == {f"{n}_schedule" for n in names}
    for instance in instances:
        sync_job = repository.get_job(instance.job_name)
        assert sync_job.tags[INSTANCE_TAG] == instance.name
        every = repository.get_schedule_def(f"{instance.job_name}_schedule")
        assert every.cron_schedule == instance.cron
        assert every.execution_timezone == instance.timezone


def test_credentials_come_from_the_named_variables_for_tap_and_target() -> None:
    instance = parse_instance({
        "name": "emea", "environment": "prod", "endpoint": "https://123-ABC-456.mktorest.com",
        "client_id_env": "EMEA_ID", "client_secret_env": "EMEA_SECRET",
        "env": {"TARGET_DUCKDB_PATH": "output/emea.duckdb"},
    })
    env = instance.meltano_env({"EMEA_ID": "the-id", "EMEA_SECRET": "the-secret"})
    assert env == {
        "TAP_MARKETO_CRM_ENDPOINT": "https://123-ABC-456.mktorest.com",
        "TAP_MARKETO_CRM_CLIENT_ID": "the-id",
        "TAP_MARKETO_CRM_CLIENT_SECRET": "the-secret",
        "TARGET_MARKETO_CRM_ENDPOINT": "https://123-ABC-456.mktorest.com",
        "TARGET_MARKETO_CRM_CLIENT_ID": "the-id",
        "TARGET_MARKETO_CRM_CLIENT_SECRET": "the-secret",
        "TARGET_DUCKDB_PATH": "output/emea.duckdb",
    }


def test_a_missing_secret_variable_is_named_and_no_value_is_shown() -> None:
    instance = parse_instance({"name": "emea", "environment": "prod",
                               "client_id_env": "EMEA_ID", "client_secret_env": "EMEA_SECRET"})
    with pytest.raises(InstanceConfigError, match=r"EMEA_SECRET .* is not set") as error:
        instance.meltano_env({"EMEA_ID": "the-id"})
    assert "the-id" not in str(error.value)


@pytest.mark.parametrize("entry", [
    {"client_secret_env": "s3cr3t-value!"},
    {"env": {"TAP_MARKETO_CRM_CLIENT_SECRET": "s3cr3t-value!"}},
])
def test_a_secret_written_inline_is_refused_without_echoing_it(entry: dict) -> None:
    with pytest.raises(InstanceConfigError) as error:
        parse_instance({"name": "emea", "environment": "prod", **entry})
    assert "s3cr3t-value!" not in str(error.value)


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "EMEA"}, "lower case"),
    ({"name": "emea"}, "'environment'"),
    ({"name": "emea", "environment": "prod", "cron": "hourly"}, "5 fields"),
    ({"name": "emea", "environment": "prod", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "emea", "environment": "prod", "stream_groups": [{"name": "a"}]}, "select"),
    ({"name": "emea", "environment": "prod", "schedule": "x"}, "unknown keys"),
])
def test_instance_errors_name_the_key(entry: dict, message: str) -> None:
    with pytest.raises(InstanceConfigError, match=message):
        parse_instance(entry)


def test_two_instances_may_not_share_a_name(tmp_path: Path) -> None:
    entry = {"name": "emea", "environment": "prod"}
    with pytest.raises(InstanceConfigError, match="unique"):
        load_instances(write_instances(tmp_path, entry, entry))


def test_stream_groups_are_runs_with_their_own_state_id_and_selection() -> None:
    instance = parse_instance({"name": "big", "environment": "prod", "stream_groups": [
        {"name": "leads", "select": ["leads.*"], "env": {"TAP_MARKETO_CRM_MAX_DAILY_CALLS": "1"}},
        {"name": "activities", "select": ["activities_*.*"]},
    ]})
    runs = instance.runs()
    assert [r.state_id_suffix for r in runs] == ["big-leads", "big-activities"]
    assert json.loads(runs[0].env["TAP_MARKETO_CRM__SELECT"]) == ["leads.*"]
    assert runs[0].env["TAP_MARKETO_CRM_MAX_DAILY_CALLS"] == "1"
    assert json.loads(runs[1].env["TAP_MARKETO_CRM__SELECT"]) == ["activities_*.*"]


# --- schedules and the run queue ------------------------------------------------------

def test_a_schedule_skips_while_its_instance_has_a_run_in_progress(tmp_path: Path) -> None:
    path = write_instances(tmp_path, {"name": "emea", "environment": "prod"},
                           {"name": "apac", "environment": "prod"})
    repository = build_definitions(path).get_repository_def()
    every = repository.get_schedule_def("marketo_emea_schedule")
    tick = dt.datetime(2026, 7, 1, 12, 30, tzinfo=dt.UTC)
    with instance_for_test() as instance:
        schedule_skips_only_for_its_own_instance(repository, every, instance, tick)


def schedule_skips_only_for_its_own_instance(repository: Any, every: Any,
                                             instance: DagsterInstance,
                                             tick: dt.datetime) -> None:
    with build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
        request = every.evaluate_tick(context).run_requests
    assert request
    assert isinstance(request[0], RunRequest)

    # Another instance's run does not hold this one back; its own does.
    instance.create_run_for_job(repository.get_job("marketo_apac"),
                                status=DagsterRunStatus.STARTED, tags={INSTANCE_TAG: "apac"})
    with build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
        assert every.evaluate_tick(context).run_requests
    running = instance.create_run_for_job(repository.get_job("marketo_emea"),
                                          status=DagsterRunStatus.STARTED,
                                          tags={INSTANCE_TAG: "emea"})
    with build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
        skipped = every(context)
    assert isinstance(skipped, SkipReason)
    assert running.run_id in (skipped.skip_message or "")


def test_the_run_queue_allows_one_run_per_instance(tmp_path: Path) -> None:
    shutil.copy(ORCHESTRATION / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    limits = [limit for limit in queue.tag_concurrency_limits if limit["key"] == INSTANCE_TAG]
    assert limits == [{"key": INSTANCE_TAG, "value": {"applyLimitPerUniqueValue": True},
                       "limit": 1}]


# --- the lock -------------------------------------------------------------------------

def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    with instance_lock(tmp_path, "emea", run_id="run-1"):
        with pytest.raises(InstanceBusy, match="run_id run-1"), \
                instance_lock(tmp_path, "emea", run_id="run-2"):
            pass
        # Other instances are not held back.
        with instance_lock(tmp_path, "apac", run_id="run-3"):
            pass
    # Released when its holder is done.
    with instance_lock(tmp_path, "emea", run_id="run-4"):
        pass


# --- the quota clock ------------------------------------------------------------------

@pytest.mark.parametrize(("now", "retry_at"), [
    # CDT (UTC-5): midnight in Chicago is 05:00 UTC.
    ("2026-07-01T12:00:00+00:00", "2026-07-02T05:10:00+00:00"),
    # CST (UTC-6), and just before midnight Chicago time.
    ("2026-12-05T05:59:00+00:00", "2026-12-05T06:10:00+00:00"),
    # Just after the reset: the next one is a day away.
    ("2026-12-05T06:00:01+00:00", "2026-12-06T06:10:00+00:00"),
    # The day daylight saving starts (8 March 2026): the day is 23 hours long.
    ("2026-03-08T07:00:00+00:00", "2026-03-09T05:10:00+00:00"),
])
def test_a_quota_stop_retries_after_the_next_midnight_in_chicago(
        now: str, retry_at: str) -> None:
    class Frozen(MeltanoProject):
        def now(self) -> dt.datetime:
            return dt.datetime.fromisoformat(now)

    meltano = Frozen(project_root=".", quota_reset_margin_seconds=600)
    assert meltano.quota_retry_at() == dt.datetime.fromisoformat(retry_at)
    expected = dt.datetime.fromisoformat(retry_at) - dt.datetime.fromisoformat(now)
    assert meltano.seconds_until_quota_retry() == int(expected.total_seconds())


# --- Meltano's log --------------------------------------------------------------------

def _line(**entry: object) -> str:
    return json.dumps(entry)


def test_the_log_gives_the_taps_exit_status_calls_and_records() -> None:
    log = "\n".join([
        _line(event="Running job with name 'prod:tap-marketo-crm-to-target-duckdb:emea'"),
        _line(producer=True, metric_info={"metric": "record_count", "value": 7,
                                          "tags": {"stream": "leads"}}),
        _line(producer=True, metric_info={"metric": "record_count", "value": 3,
                                          "tags": {"stream": "leads"}}),
        _line(producer=True, metric_info={"metric": "http_request_duration", "value": 0.2}),
        _line(consumer=True, producer=False, metric_info={
            "metric": "record_count", "value": 10, "tags": {"stream": "leads"}}),
        _line(plugin_logger="tap-marketo-crm",
              event="Stopping the sync: Marketo daily API call quota reached (607) during "
                    "'leads'. Exit status 75.", level="warning"),
        _line(event="Marketo API calls this run: 42", level="info"),
        "not json at all",
        _line(event="Extractor failed", level="error"),
        _line(event="Block run completed", success=False, exit_codes={"extractors": 75},
              level="error"),
    ])
    parsed = parse_run_log(log, exit_status=1)
    assert parsed.records == {"leads": 10}
    assert parsed.rows == 10
    assert parsed.api_calls == 42
    assert parsed.plugin_exit_codes == {"extractors": 75}
    assert parsed.resumable_stop
    assert parsed.plugin_exit_status == 75
    assert parsed.quota_stop is not None
    assert "607" in parsed.quota_stop
    assert parsed.errors == ["Extractor failed", "Block run completed"]


def test_a_607_before_the_sync_started_waits_for_the_reset_too() -> None:
    log = "\n".join([
        _line(plugin_logger="tap-marketo-crm", level="error",
              event="Run failed: [607] Daily quota reached (GET /rest/v1/stats/usage.json)"),
        _line(event="Cannot start plugin tap-marketo-crm: Catalog discovery failed",
              level="error"),
    ])
    parsed = parse_run_log(log, exit_status=1)
    assert parsed.resumable_stop
    assert parsed.outcome == "quota_stop"
    assert parsed.plugin_exit_status == 1


def test_any_other_exit_is_a_failure_not_a_quota_stop() -> None:
    log = _line(event="Block run completed", success=False, exit_codes={"loaders": 1})
    parsed = parse_run_log(log, exit_status=1)
    assert not parsed.resumable_stop
    assert parsed.plugin_exit_status == 1
    assert not parse_run_log("", exit_status=0).resumable_stop
