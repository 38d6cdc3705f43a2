"""Two Marketo instances on one Dagster code location, run in-process against two sandboxes:
each instance's job syncs from its own instance, reports what it did, waits for Marketo's
quota reset when the tap stops at a daily limit, and never runs twice at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    Failure,
    RetryRequested,
    build_op_context,
)

from marketo_orchestration.definitions import build_definitions
from marketo_orchestration.guard import instance_lock
from marketo_orchestration.meltano import MeltanoProject

from .conftest import FAST_RATE, Sandbox

pytestmark = pytest.mark.timeout(900)


class FrozenClockMeltano(MeltanoProject):
    """The project with its clock stopped at ``frozen_now``."""

    frozen_now: str

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.frozen_now)


def instance_entry(sandbox: Sandbox, destination: Path, **extra: Any) -> dict[str, Any]:
    upper = sandbox.name.upper()
    return {
        "name": sandbox.name,
        "environment": "dev",
        "tasks": ["tap-marketo-crm", "target-jsonl"],
        "cron": "*/15 * * * *",
        "endpoint_env": f"{upper}_MARKETO_ENDPOINT",
        "client_id_env": f"{upper}_MARKETO_CLIENT_ID",
        "client_secret_env": f"{upper}_MARKETO_CLIENT_SECRET",
        "env": {"TARGET_JSONL_DESTINATION_PATH": str(destination),
                "TAP_MARKETO_CRM_RATE_LIMIT_CALLS": str(FAST_RATE), **extra.pop("env", {})},
        **extra,
    }


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("orchestration")


@pytest.fixture(scope="module")
def instances_file(work: Path, meltano_project: Path, east: Sandbox, west: Sandbox) -> Path:
    for name in ("east", "west"):
        (work / name).mkdir()
    document = {
        "meltano_project": str(meltano_project),
        "instances": [
            # Split in two stream groups: two Meltano runs, two state IDs.
            instance_entry(east, work / "east", stream_groups=[
                {"name": "leads", "select": ["leads.*"]},
                {"name": "programs", "select": ["programs.*"]},
            ]),
            instance_entry(west, work / "west", env={"TAP_MARKETO_CRM__SELECT": '["leads.*"]'}),
        ],
    }
    path = work / "instances.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def credentials(east: Sandbox, west: Sandbox) -> Iterator[None]:
    """Each instance's endpoint and credentials, in the variables instances.yml names."""
    with pytest.MonkeyPatch.context() as patch:
        for sandbox in (east, west):
            info = sandbox.server.info()
            upper = sandbox.name.upper()
            patch.setenv(f"{upper}_MARKETO_ENDPOINT", info["endpoint"])
            patch.setenv(f"{upper}_MARKETO_CLIENT_ID", info["client_id"])
            patch.setenv(f"{upper}_MARKETO_CLIENT_SECRET", info["client_secret"])
        yield


@pytest.fixture(scope="module")
def project_settings(work: Path, meltano_project: Path, start_date: str) -> dict[str, Any]:
    return {
        "project_root": str(meltano_project),
        "lock_dir": str(work / "locks"),
        "log_dir": str(work / "logs"),
        # Its own Meltano system database: state of these runs only.
        "env": {"MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
                "MARKETO_START_DATE": start_date},
    }


@pytest.fixture(scope="module")
def defs(instances_file: Path, project_settings: dict[str, Any]) -> Definitions:
    return build_definitions(instances_file, MeltanoProject(**project_settings))


@pytest.fixture(scope="module")
def dagster_instance() -> DagsterInstance:
    return DagsterInstance.ephemeral()


def run_job(defs: Definitions, name: str, instance: DagsterInstance) -> ExecuteInProcessResult:
    return defs.get_job_def(f"marketo_{name}").execute_in_process(
        instance=instance, raise_on_error=False)


def materializations(result: ExecuteInProcessResult) -> list[dict[str, Any]]:
    return [
        {key: value.value for key, value in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    ]


def written_lead_ids(destination: Path) -> set[int]:
    lines = (destination / "leads.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["id"] for line in lines if line}


@pytest.fixture(scope="module")
def east_run(defs: Definitions, dagster_instance: DagsterInstance, east: Sandbox,
             west: Sandbox, credentials: None) -> tuple[ExecuteInProcessResult, int, int]:
    east.control.reset_calls()
    west.control.reset_calls()
    result = run_job(defs, "east", dagster_instance)
    return result, east.calls, west.calls


def test_each_instance_job_syncs_from_its_own_instance(
    defs: Definitions, dagster_instance: DagsterInstance, east: Sandbox, west: Sandbox,
    work: Path, east_run: tuple[ExecuteInProcessResult, int, int],
) -> None:
    result, east_calls, west_calls = east_run
    assert result.success, result.all_events
    assert east_calls > 0
    assert west_calls == 0, "the east job called the west instance"
    assert written_lead_ids(work / "east") == east.lead_ids()

    west_result = run_job(defs, "west", dagster_instance)
    assert west_result.success
    assert west.calls > 0
    assert east.calls == east_calls, "the west job called the east instance"
    assert written_lead_ids(work / "west") == west.lead_ids()
    assert len(east.lead_ids()) != len(west.lead_ids())


def test_runs_report_calls_rows_and_exit_status(
    east_run: tuple[ExecuteInProcessResult, int, int], dagster_instance: DagsterInstance,
    east: Sandbox, work: Path,
) -> None:
    result, east_calls, _ = east_run
    # One Meltano run per stream group, each with its own state ID.
    reports = materializations(result)
    assert [r["state_id_suffix"] for r in reports] == ["east-leads", "east-programs"]
    leads, programs = reports
    assert leads["exit_status"] == 0
    assert programs["exit_status"] == 0
    assert leads["records_per_stream"] == {"leads": len(east.lead_ids())}
    assert leads["rows"] == len(east.lead_ids())
    assert set(programs["records_per_stream"]) == {"programs"}
    assert programs["rows"] == len(east.control.objects("programs"))
    # The tap's own count: the sandbox also counts token requests.
    assert 0 < leads["api_calls"] + programs["api_calls"] <= east_calls
    output = result.output_for_node("sync_east")
    assert output["api_calls"] == leads["api_calls"] + programs["api_calls"]
    assert output["rows"] == leads["rows"] + programs["rows"]
    tags = dagster_instance.get_run_by_id(result.run_id).tags
    assert tags["marketo/instance"] == "east"
    assert tags["marketo/api_calls"] == str(output["api_calls"])
    assert tags["marketo/rows"] == str(output["rows"])
    assert tags["marketo/exit_status"] == "0"
    # Meltano's log of each run is kept, and no secret is in it.
    for report in reports:
        text = Path(report["log"]).read_text(encoding="utf-8")
        assert "east-SECRET-never-logged" not in text


@pytest.mark.parametrize(("calls_left", "exit_codes"), [
    # 607 mid-sync: the tap saves its state and exits 75.
    (20, {"extractors": 75}),
    # 607 on the tap's first call (its usage check, during discovery): nothing synced yet.
    (0, {}),
])
def test_a_quota_stop_is_retried_after_the_next_central_midnight(
    defs: Definitions, project_settings: dict[str, Any], west: Sandbox, tmp_path: Path,
    calls_left: int, exit_codes: dict[str, int],
) -> None:
    used = int(west.control.calls()["used_today"])
    west.control.configure(daily_call_quota=used + calls_left)
    west_sync = defs.get_job_def("marketo_west").graph.node_defs[0]
    # 12:00 UTC on 1 July is 07:00 in Chicago (CDT, UTC-5): the reset is 05:00 UTC on 2
    # July, 17 hours later, and the retry 10 minutes after it.
    settings = {**project_settings, "env": {
        **project_settings["env"],
        # A first sync (no state yet), so that the quota runs out in the middle of it.
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}}
    meltano = FrozenClockMeltano(**settings, frozen_now="2026-07-01T12:00:00+00:00")
    try:
        with build_op_context(resources={"meltano": meltano}) as context, \
                pytest.raises(RetryRequested) as retry:
            west_sync(context)
    finally:
        west.control.configure(daily_call_quota=50_000)
    assert retry.value.seconds_to_wait == 17 * 3600 + 600
    assert retry.value.max_retries == 3
    reports = [
        {key: value.value for key, value in event.metadata.items()}
        for event in context.get_events()
    ]
    assert len(reports) == 1
    assert reports[0]["outcome"] == "quota_stop"
    assert reports[0]["meltano_exit_status"] == 1
    assert reports[0]["plugin_exit_codes"] == exit_codes
    assert "607" in reports[0]["quota_stop"] or "daily" in reports[0]["quota_stop"]
    if exit_codes:
        assert reports[0]["exit_status"] == 75
        assert reports[0]["api_calls"] > 0


def test_any_other_exit_fails_the_run_without_showing_the_secret(
    defs: Definitions, project_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEST_MARKETO_CLIENT_SECRET", "a-WRONG-secret-value")
    west_sync = defs.get_job_def("marketo_west").graph.node_defs[0]
    with build_op_context(resources={"meltano": MeltanoProject(**project_settings)}) as context, \
            pytest.raises(Failure) as failure:
        west_sync(context)
    description = failure.value.description or ""
    assert "meltano exited 1" in description
    assert "a-WRONG-secret-value" not in description
    assert failure.value.metadata["outcome"].value == "failed"
    assert context.get_events() == []  # nothing was loaded: no materialization


def test_a_second_run_of_a_busy_instance_is_refused(
    defs: Definitions, dagster_instance: DagsterInstance, east: Sandbox, work: Path,
) -> None:
    # Slow calls keep the first run inside its lock long enough to start a second one.
    east.control.configure(latency_ms=150)
    first: dict[str, ExecuteInProcessResult] = {}
    thread = threading.Thread(target=lambda: first.update(
        result=run_job(defs, "east", dagster_instance)))
    lock = work / "locks" / "east.lock"
    thread.start()
    try:
        holder = wait_for_holder(lock)
        second = run_job(defs, "east", dagster_instance)
    finally:
        east.control.configure(latency_ms=0)
        thread.join(timeout=600)
    assert not second.success
    failure = next(e for e in second.all_events
                   if e.event_type == DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.user_failure_data.description
    assert "already being synced" in message
    assert holder["run_id"] in message
    # The refused run started no Meltano run.
    assert materializations(second) == []
    messages = [entry.user_message for entry in dagster_instance.all_logs(second.run_id)]
    assert not [m for m in messages if m.startswith("meltano run for")]
    assert first["result"].success
    assert holder["run_id"] == first["result"].run_id


def wait_for_holder(lock: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = lock.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if text:
            return json.loads(text)
        time.sleep(0.1)
    raise AssertionError(f"{lock} was never taken")


def test_the_same_lock_refuses_a_holder_outside_dagster(
    defs: Definitions, dagster_instance: DagsterInstance, west: Sandbox, work: Path,
) -> None:
    west.control.reset_calls()
    with instance_lock(work / "locks", "west", run_id="a-manual-backfill"):
        refused = run_job(defs, "west", dagster_instance)
    assert not refused.success
    assert west.calls == 0
