"""Both of Marketo's export processing slots kept busy across streams, within the tap's
share of the queue (``max_queued_export_jobs``), and progress a person can read."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from tap_helpers import run_tap_cli, select_only
from tap_marketo_crm.pipeline import ExportPipeline, ExportSettings, ExportUnit, ExportUsage
from tap_marketo_crm.scheduling import ExportScheduler, Step

# Marketo's jobs take minutes and grow with their rows; here a fixed minimum plus so much
# per thousand rows, short enough for a test.
JOB_CLOCK = {"export_processing_seconds": 0.4, "export_processing_seconds_per_1k_rows": 2.0}


class FakeUpcoming:
    """A later stream with ``windows`` jobs to queue ahead."""

    def __init__(self, key: str, windows: int, queued: list[str], scheduler: ExportScheduler):
        self.export_key = key
        self.windows = windows
        self.queued = queued
        self.scheduler = scheduler

    def export_lookahead(self) -> FakeUpcoming:
        return self

    def queue_next(self) -> Step:
        done = sum(1 for q in self.queued if q.startswith(self.export_key))
        if done == self.windows:
            return Step.DONE
        export_id = f"{self.export_key}-{done}"
        self.queued.append(export_id)
        self.scheduler.queued(export_id, self.export_key)
        return Step.QUEUED


def test_the_scheduler_queues_the_reading_stream_first_then_the_next_ones_within_the_share() -> (
    None
):
    queued: list[str] = []
    upcoming: list[FakeUpcoming] = []
    scheduler = ExportScheduler(4, upcoming=lambda: upcoming)
    upcoming += [
        FakeUpcoming("activities", 3, queued, scheduler),
        FakeUpcoming("custom_a", 2, queued, scheduler),
    ]
    own_left = [2]

    def own() -> Step:
        if not own_left[0]:
            return Step.DONE
        own_left[0] -= 1
        export_id = f"leads-{own_left[0]}"
        queued.append(export_id)
        scheduler.queued(export_id, "leads")
        return Step.QUEUED

    scheduler.queued("leads-current", "leads")
    scheduler.fill(own)
    # The job being read, its stream's 2 remaining windows, then the next stream's first.
    assert queued == ["leads-1", "leads-0", "activities-0"]
    assert len(scheduler.active) == 4
    assert scheduler.room() == 0
    scheduler.fill(own)  # no room: nothing more
    assert len(queued) == 3
    # A job seen Completed frees its place; the next stream goes on where it stopped.
    scheduler.ended("leads-current")
    scheduler.fill(own)
    assert queued[-1] == "activities-1"
    assert scheduler.peak == 4
    # A stream whose turn began is not queued ahead any more.
    scheduler.begin("activities", 3)
    for export_id in list(scheduler.active):
        scheduler.ended(export_id)
    scheduler.fill(None)
    assert queued[-2:] == ["custom_a-0", "custom_a-1"]
    assert not any(q == "activities-2" for q in queued)


def test_a_refused_queue_stops_queuing_ahead_for_now() -> None:
    upcoming: list[Any] = []
    scheduler = ExportScheduler(4, upcoming=lambda: upcoming)
    calls = []

    def own() -> Step:
        calls.append(1)
        return Step.BLOCKED  # e.g. 1029: Marketo's queue is full of other integrations' jobs

    upcoming.append(FakeUpcoming("activities", 3, [], scheduler))
    scheduler.fill(own)
    assert calls == [1]
    assert scheduler.active == {}  # nothing of the next stream was queued around it


def test_the_progress_line_says_windows_rows_megabytes_and_time_left() -> None:
    now = [1000.0]
    scheduler = ExportScheduler(
        4, usage=lambda: (123.4, 450.0), progress_every=None, clock=lambda: now[0]
    )
    scheduler.begin("leads", 10)
    scheduler.queued("job-1", "leads")
    scheduler.queued("job-2", "leads")
    for rows in (1000, 2500, 500):
        now[0] += 20
        scheduler.window_done("leads", rows)
    scheduler.planned_ahead("activities", 12)
    scheduler.queued("job-3", "activities")
    lines = scheduler.progress_lines()
    assert lines[0] == (
        "'leads' export progress: 3/10 windows, 4,000 rows, 2 job(s) queued or processing; "
        "export 123.4 MB used today of max_export_mb_per_day 450 MB (Marketo's quota: 500 MB "
        "for every integration); about 2 min left"
    )
    assert lines[1].startswith(
        "'activities' export progress: waiting for its turn, 1 of its 12 windows' jobs"
    )
    scheduler.end("leads")
    assert all("'leads'" not in line for line in scheduler.progress_lines())


def _processing_gaps(jobs: list[dict[str, Any]]) -> tuple[float, float]:
    """(seconds with fewer than 2 jobs processing, seconds from the first start to the
    last finish), from the sandbox's job records."""
    events = []
    for job in jobs:
        if job["started"] is not None and job["finished"] is not None:
            events += [(job["started"], 1), (job["finished"], -1)]
    events.sort()
    idle = 0.0
    processing = 0
    for (at, change), (after, _) in itertools.pairwise(events):
        processing += change
        if processing < 2:
            idle += after - at
    return idle, events[-1][0] - events[0][0]


def test_a_first_sync_keeps_two_jobs_processing_within_the_share_and_logs_progress(
    fast_sandbox: SandboxControl,
    config: dict[str, Any],
    catalog: dict[str, Any],
    sandbox_info: dict[str, str],
    tmp_path: Path,
) -> None:
    fast_sandbox.configure(**JOB_CLOCK)
    chosen = select_only(catalog, "leads", "activities_*", "custom_*")
    config = {
        **config,
        "max_queued_export_jobs": 3,
        "progress_interval_seconds": 1,
        "bulk_poll_interval_seconds": 0.05,
    }
    run = run_tap_cli(tmp_path, config, chosen, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    timeline = fast_sandbox.export_jobs()
    jobs = timeline["jobs"]
    # Never more than the tap's share of Marketo's queue, never a 1029.
    assert timeline["peak_active"] <= 3
    assert timeline["queue_full_refusals"] == 0
    assert timeline["peak_processing"] == 2
    # Jobs of the next streams were processing while an earlier stream was read: some
    # activity (or custom object) job started before the last lead job finished.
    last_lead = max(j["finished"] for j in jobs if j["entity"] == "leads")
    assert any(j["started"] < last_lead for j in jobs if j["entity"] != "leads")
    # Both slots busy while work remains: one slot idle only briefly (the tap learns a
    # job ended at its next status check) and at the very end.
    idle, span = _processing_gaps(jobs)
    longest = max(j["finished"] - j["started"] for j in jobs)
    assert idle <= 0.25 * span + longest, (idle, span)

    # Progress a person can read: per active stream, windows done of planned, rows,
    # export MB against the quotas, time left; never a secret.
    lines = [line for line in run.stderr.splitlines() if "export progress:" in line]
    assert lines, run.stderr[-3000:]
    pattern = re.compile(r"'leads' export progress: (\d+)/(\d+) windows, ([\d,]+) rows")
    found = [m for m in map(pattern.search, lines) if m]
    assert found
    lead_jobs = [j for j in jobs if j["entity"] == "leads"]
    for match in found:
        done, total, rows = int(match[1]), int(match[2]), int(match[3].replace(",", ""))
        assert done <= total == len(lead_jobs)
        assert rows <= sum(j["numberOfRecords"] or 0 for j in lead_jobs)
    assert all(
        "MB used today of max_export_mb_per_day" in line for line in lines if "windows," in line
    )
    assert sandbox_info["client_secret"] not in run.stderr


def test_the_share_is_range_checked(tmp_path: Path, config: dict[str, Any]) -> None:
    run = run_tap_cli(tmp_path, {**config, "max_queued_export_jobs": 11}, timeout=60)
    assert run.returncode == 1
    assert (
        "Setting 'max_queued_export_jobs' must be between 1 and 10 (Marketo queues at most "
        "10 export jobs per instance" in run.stderr
    )


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


def test_jobs_are_not_queued_ahead_past_the_daily_export_allowance() -> None:
    mb = 1024 * 1024
    scheduler = ExportScheduler(4)
    usage = ExportUsage({}, max_mb=10)
    usage.add(2 * mb)
    scheduler.file_seen(3 * mb)  # files of this run average 3 MB
    pipeline = ExportPipeline(
        None,  # no call may be made: the job ahead must not even be created
        "leads",
        settings=ExportSettings(),
        usage=usage,
        logger=logging.getLogger("test"),
        scheduler=scheduler,
    )
    unit = ExportUnit(body={}, meta={}, label="leads window")
    pipeline.plan([unit, unit, unit])
    scheduler.queued("reading", "leads")
    scheduler.queued("ahead-1", "leads")
    # 2 MB used + 3 jobs (two in the queue, one more) x 3 MB > 10 MB: not queued ahead.
    assert pipeline.queue_next() is Step.BLOCKED
    scheduler.ended("ahead-1")
    assert pipeline._fits_allowance()  # 2 + 2 x 3 = 8 MB < 10 MB
