"""The ``two-users`` profile: a run resumed with another API user's credentials.

State holds the export jobs a run left in flight (their ``exportId``). Marketo shows a job
only to the API user that created it (docs/MARKETO.md section 9), so after the
credentials were rotated to another API user those jobs are unknown to the new one
(1003). The tap then says so once per job (stream, exportId, why) and exports the window
again: nothing is lost, nothing is duplicated beyond the re-export, and its own count of
today's export bytes holds only what it actually read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.auth import api_users
from marketo_sandbox.bulk import exports
from marketo_sandbox.testing import SandboxApi, SandboxControl
from tap_helpers import TapRun, ground_truth_problems, merge_records, run_tap_cli, select_only


def _credentials(server: SandboxServer, which: int) -> dict[str, str]:
    user = api_users(server.config)[which]
    return {"client_id": user.client_id, "client_secret": user.client_secret}


def _saved_jobs(state: dict[str, Any]) -> list[dict[str, Any]]:
    leads = state["bookmarks"]["leads"]
    return [j for j in [leads.get("export_job"), *(leads.get("next_export_jobs") or [])] if j]


@dataclass
class Interrupted:
    """User A's run whose lead jobs never left Marketo's queue, and what B resumes with."""

    first: TapRun
    state: dict[str, Any]
    catalog: dict[str, Any]
    config_b: dict[str, Any]


@pytest.fixture
def interrupted(
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    config: dict[str, Any],
    catalog: dict[str, Any],
    tmp_path: Path,
) -> Interrupted:
    """The stream is deferred with its jobs in state, as a run stopped mid-export leaves
    them; then the queue delay is lifted and the credentials rotate to user B."""
    fast_sandbox.use_profiles("two-users")
    leads_only = select_only(catalog, "leads")
    fast_sandbox.configure(export_queued_seconds=3600)
    first = run_tap_cli(
        tmp_path / "first",
        {
            **config,
            **_credentials(sandbox_server, 0),
            "bulk_job_timeout_seconds": 1,
            "bulk_poll_interval_seconds": 0.2,
        },
        leads_only,
    )
    # 75: the run is incomplete (a stream deferred), the documented exit status.
    assert first.returncode == 75, first.stderr[-2000:]
    assert _saved_jobs(first.state), "the first run should leave its lead jobs in state"
    fast_sandbox.configure(export_queued_seconds=0)
    return Interrupted(
        first, first.state, leads_only, {**config, **_credentials(sandbox_server, 1)}
    )


def test_resume_with_other_users_credentials_recreates_the_jobs(
    interrupted: Interrupted, fast_sandbox: SandboxControl, tmp_path: Path
) -> None:
    saved = _saved_jobs(interrupted.state)
    before = {j["exportId"] for j in fast_sandbox.objects("export_jobs")}

    second = run_tap_cli(
        tmp_path / "second", interrupted.config_b, interrupted.catalog, interrupted.state
    )
    assert second.returncode == 0, second.stderr[-2000:]

    # One clear line per job from state: the stream, the exportId, and why.
    for job in saved:
        lines = [line for line in second.stderr.splitlines() if job["exportId"] in line]
        hidden = [line for line in lines if "not visible to this API user" in line]
        assert len(hidden) == 1, lines
        assert "leads" in hidden[0]
        assert "exporting the window again" in hidden[0]
    # User A's jobs are still A's: B neither read nor cancelled them.
    jobs = {j["exportId"]: j for j in fast_sandbox.objects("export_jobs")}
    assert all(jobs[j["exportId"]]["status"] != "Cancelled" for j in saved)

    # Nothing lost, nothing extra: the union of both runs equals the ground truth, and
    # the re-exported windows bring each lead once.
    ids = [r["id"] for r in second.records["leads"]]
    assert len(ids) == len(set(ids))
    problems = ground_truth_problems(
        merge_records(interrupted.first, second), fast_sandbox, interrupted.catalog, {"leads"}
    )
    assert not problems, problems

    # The tap's count of today's export bytes is the files it read: B's new jobs only.
    created = [j for i, j in jobs.items() if i not in before]
    assert created, "the second run should have exported again"
    read_bytes = sum(int(j.get("fileSize") or 0) for j in created if j["status"] == "Completed")
    assert second.state["marketo"]["export_usage"]["bytes"] == read_bytes
    # Nothing of A's is left in B's state.
    assert not {j["exportId"] for j in _saved_jobs(second.state)} & {j["exportId"] for j in saved}


def test_resumed_completed_job_of_the_other_user_is_told_apart_from_an_expired_file(
    interrupted: Interrupted,
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    tmp_path: Path,
) -> None:
    """A run stopped right after its job completed keeps it Completed in state, with its
    size and checksum; the next run goes straight to the file. For another API user that
    file answers 404, as an expired one does: the log says which it is."""
    job = interrupted.state["bookmarks"]["leads"]["export_job"]
    user_a = SandboxApi(
        {"endpoint": sandbox_server.url, **_credentials(sandbox_server, 0)}
    )
    path = f"/bulk/v1/leads/export/{job['exportId']}/status.json"
    assert sandbox_server.app is not None
    exports.runner(sandbox_server.app).wake()  # the queue delay is gone: move on now
    for _ in range(300):
        status = user_a.get(path)["result"][0]
        if status["status"] == "Completed":
            break
        time.sleep(0.05)
    assert status["status"] == "Completed", status
    job.update(
        status="Completed",
        numberOfRecords=status["numberOfRecords"],
        fileSize=status["fileSize"],
        fileChecksum=status["fileChecksum"],
    )

    second = run_tap_cli(
        tmp_path / "second", interrupted.config_b, interrupted.catalog, interrupted.state
    )
    assert second.returncode == 0, second.stderr[-2000:]
    lines = [line for line in second.stderr.splitlines() if job["exportId"] in line]
    assert any("not visible to this API user" in line for line in lines), lines
    assert not any(re.search(r"expired or never written", line) for line in lines), lines
    problems = ground_truth_problems(
        merge_records(interrupted.first, second), fast_sandbox, interrupted.catalog, {"leads"}
    )
    assert not problems, problems
