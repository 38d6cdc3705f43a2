"""In-flight export jobs survive the run: a run killed while a lead export is pending is
rerun with its last state and reuses the SAME exportId; nothing is skipped. The same
holds for the job queued ahead while the previous window's file is read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from marketo_sandbox.testing import SandboxControl
from tap_helpers import (
    diff_records,
    ground_truth_problems,
    normalize,
    parse_messages,
    run_tap,
    select_only,
    write_args,
)


def _pending_lead_export(
    proc: subprocess.Popen[str], sandbox: SandboxControl, deadline: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read the tap's stdout; once two windows are done, make Marketo's queue slow; return
    the first STATE holding a queued lead export, and the records read until then."""
    assert proc.stdout is not None
    records = []
    slowed = False
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.append(message["record"])
        if message["type"] != "STATE":
            continue
        leads = message["value"].get("bookmarks", {}).get("leads", {})
        job = leads.get("export_job")
        if not slowed and leads.get("replication_key_value") and records:
            sandbox.configure(export_queued_seconds=3600)
            slowed = True
        elif slowed and job and job.get("exportId") and job.get("status") == "Queued":
            return message["value"], records
    raise AssertionError("the tap never reported a queued lead export")


def test_a_run_killed_during_a_pending_lead_export_resumes_the_same_export_id(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
) -> None:
    leads_only = select_only(catalog, "leads")
    config = {**config, "bulk_poll_interval_seconds": 0.2}
    fast_sandbox.reset_calls()
    args = write_args(tmp_path / "first", config, leads_only, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_marketo_crm", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        state, first_records = _pending_lead_export(proc, fast_sandbox, time.monotonic() + 60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert first_records, "the killed run should have emitted its first windows"
    export_id = state["bookmarks"]["leads"]["export_job"]["exportId"]
    creates_before = fast_sandbox.calls()["endpoints"]["POST /bulk/v1/leads/export/create.json"]

    # Marketo finishes the job while nobody is watching; the rerun gets the last STATE.
    fast_sandbox.configure(export_queued_seconds=0)
    proc2 = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_marketo_crm",
            *write_args(tmp_path / "second", config, leads_only, state),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc2.returncode == 0, proc2.stderr[-2000:]
    # Every job the killed run had in state (the one pending and those queued ahead of
    # it) is resumed, not exported again.
    leads_state = state["bookmarks"]["leads"]
    kept = [leads_state["export_job"], *(leads_state.get("next_export_jobs") or [])]
    for job in kept:
        assert f"resuming export {job['exportId']}" in proc2.stderr
    jobs = {j["exportId"]: j for j in fast_sandbox.objects("export_jobs")}
    assert jobs[export_id]["status"] == "Completed"
    calls = fast_sandbox.calls()
    # The rerun creates one job per window it did not find in state. Bookmarks it emits:
    # the one it started from, then one per window (resumed or new).
    bookmarks = {
        m["value"]["bookmarks"]["leads"].get("replication_key_value")
        for m in parse_messages(proc2.stdout)
        if m["type"] == "STATE"
    }
    new_jobs = calls["endpoints"]["POST /bulk/v1/leads/export/create.json"] - creates_before
    assert new_jobs == len(bookmarks) - 1 - len(kept)

    second_records = [m["record"] for m in parse_messages(proc2.stdout) if m["type"] == "RECORD"]
    schema = next(e for e in catalog["streams"] if e["tap_stream_id"] == "leads")["schema"]
    truth = [normalize(r, schema) for r in fast_sandbox.objects("leads")]
    union = [r for r in first_records + second_records if not r.get("_sdc_deleted_at")]
    assert not diff_records(union, truth, ["id"])


def _first_state_with_a_job_ahead(
    messages: list[dict[str, Any]], where: Any
) -> tuple[int, dict[str, Any]]:
    for index, message in enumerate(messages):
        if message["type"] == "STATE" and where(message["value"]):
            return index, message["value"]
    raise AssertionError("no STATE held a job queued ahead")


def _leads_ahead(state: dict[str, Any]) -> bool:
    leads = state.get("bookmarks", {}).get("leads", {})
    return any(job.get("status") == "Queued" for job in leads.get("next_export_jobs") or [])


def _activities_ahead(state: dict[str, Any]) -> bool:
    section = state.get("marketo", {})
    return any(job.get("status") == "Queued" for job in section.get("next_activity_exports") or [])


def test_next_windows_are_queued_while_a_job_is_processed_and_a_rerun_resumes_every_job(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
) -> None:
    chosen = select_only(catalog, "leads", "activities_*")
    first = run_tap(config, chosen)
    assert not ground_truth_problems(
        first.records, fast_sandbox, catalog, {"leads", "activities_*"}
    )

    for ahead, current_of in (
        (_leads_ahead, lambda st: st["bookmarks"]["leads"]["export_job"]),
        (_activities_ahead, lambda st: st["marketo"]["activity_export"]),
    ):
        index, state = _first_state_with_a_job_ahead(first.messages, ahead)
        # The job being waited on or read and the next windows' jobs, queued ahead of it
        # (for activities, while leads were still being read): all of them in state.
        current = current_of(state)
        assert current["status"] in ("Queued", "Processing", "Completed"), current
        if ahead is _activities_ahead:
            # Queued while the leads were still being read (the run's scheduler), into
            # the activity export's own slots: the kill comes before its turn.
            assert state["bookmarks"]["leads"].get("export_job"), state["bookmarks"]["leads"]
        queued_ahead = (
            state["bookmarks"]["leads"].get("next_export_jobs")
            if ahead is _leads_ahead
            else state["marketo"]["next_activity_exports"]
        )
        kept = {current["exportId"], *(job["exportId"] for job in queued_ahead)}

        # The run dies right there; the rerun gets that STATE: it reads every job (no
        # new export for their windows) and nothing is lost.
        fast_sandbox.reset_calls()
        rerun = run_tap(config, chosen, state)
        entity = "leads" if ahead is _leads_ahead else "activities"
        creates = fast_sandbox.calls()["endpoints"].get(
            f"POST /bulk/v1/{entity}/export/create.json", 0
        )
        used = set()
        for st in rerun.states:
            job = (
                st["bookmarks"]["leads"].get("export_job")
                if entity == "leads"
                else st.get("marketo", {}).get("activity_export")
            )
            if job and job.get("exportId"):
                used.add(job["exportId"])
        assert kept <= used, (kept, used)
        assert creates == len(used - kept)
        before = [m for m in first.messages[:index] if m["type"] == "RECORD"]
        union: dict[str, list[dict[str, Any]]] = {}
        for message in before:
            union.setdefault(message["stream"], []).append(message["record"])
        for stream, records in rerun.records.items():
            union.setdefault(stream, []).extend(records)
        streams = {"leads"} if entity == "leads" else {"activities_*"}
        problems = ground_truth_problems(union, fast_sandbox, catalog, streams)
        assert not problems, problems
