"""Bulk export jobs: create, enqueue through a full queue, poll, download, resume."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from typing import Any

import pytest
from core_helpers import BASE, FakeTime, envelope, failure
from marketo_core import (
    ExportFileGone,
    ExportJob,
    ExportJobFailed,
    ExportJobNotFound,
    ExportJobTimeout,
    ExportQuotaExceeded,
    MarketoClient,
)

JOB = f"{BASE}/bulk/v1/leads/export/ce45"
CSV = b"id,email,updatedAt\n1,a@x.com,2026-01-01T00:00:00Z\n2,null,2026-01-02T00:00:00Z\n"


def status(name: str, **extra: Any) -> dict[str, Any]:
    return {"json": envelope([{"exportId": "ce45", "format": "CSV", "status": name, **extra}])}


def make_job(client: MarketoClient, fake_time: FakeTime, **kw: Any) -> ExportJob:
    kw.setdefault("poll_interval", 60.0)
    return ExportJob(
        client, "leads", sleep=fake_time.sleep, clock=fake_time.monotonic, **kw
    )


def test_create_enqueue_wait_download_round_trip(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    create = requests_mock.post(
        f"{BASE}/bulk/v1/leads/export/create.json",
        json=envelope([{"exportId": "ce45", "format": "CSV", "status": "Created"}]),
    )
    requests_mock.post(f"{JOB}/enqueue.json", **status("Queued"))
    requests_mock.get(
        f"{JOB}/status.json",
        [
            status("Queued"),
            status("Processing"),
            status(
                "Completed", numberOfRecords=2, fileSize=len(CSV),
                fileChecksum="sha256:" + hashlib.sha256(CSV).hexdigest(),
            ),
        ],
    )
    requests_mock.get(f"{JOB}/file.json", content=CSV, headers={"Content-Type": "text/csv"})
    job = make_job(client, fake_time)
    body = {"fields": ["id", "email"], "format": "CSV", "filter": {"createdAt": {}}}
    assert job.create(body) == "ce45"
    assert json.loads(create.last_request.text) == body
    assert job.to_state() == {"entity": "leads", "exportId": "ce45", "status": "Created"}
    job.enqueue()
    assert job.status_name == "Queued"
    final = job.wait()
    assert final["status"] == "Completed"
    out = io.BytesIO()
    assert job.download(out) == len(CSV)
    assert out.getvalue() == CSV
    assert job.to_state()["fileSize"] == len(CSV)


def test_a_run_killed_during_an_export_resumes_the_same_export_id(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    create = requests_mock.post(f"{BASE}/bulk/v1/leads/export/create.json", json=envelope([]))
    polled = requests_mock.get(
        f"{JOB}/status.json", [status("Processing"), status("Completed", fileSize=3)]
    )
    saved = json.loads(json.dumps({"entity": "leads", "exportId": "ce45", "status": "Queued"}))
    job = ExportJob.from_state(
        client, saved, sleep=fake_time.sleep, clock=fake_time.monotonic, poll_interval=30
    )
    assert job.wait()["status"] == "Completed"
    assert create.call_count == 0
    assert polled.call_count == 2
    assert job.to_state()["exportId"] == "ce45"
    assert job.to_state()["status"] == "Completed"


def test_a_job_left_in_created_is_enqueued_by_wait(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    enqueue = requests_mock.post(f"{JOB}/enqueue.json", **status("Queued"))
    requests_mock.get(f"{JOB}/status.json", [status("Created"), status("Completed")])
    job = ExportJob.from_state(
        client, {"entity": "leads", "exportId": "ce45", "status": "Created"},
        sleep=fake_time.sleep, clock=fake_time.monotonic,
    )
    job.wait()
    assert enqueue.call_count == 1


def test_enqueue_waits_while_the_export_queue_is_full(
    requests_mock: Any,
    client: MarketoClient,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    enqueue = requests_mock.post(
        f"{JOB}/enqueue.json",
        [
            {"json": failure("1029", "Too many jobs (10) in queue")},
            {"json": failure(1029, "Too many jobs (10) in queue")},
            status("Queued"),
        ],
    )
    job = make_job(client, fake_time, export_id="ce45", poll_interval=120.0)
    with caplog.at_level(logging.INFO, logger="marketo_core"):
        job.enqueue()
    assert enqueue.call_count == 3
    assert fake_time.sleeps == [120.0, 120.0]
    assert job.status_name == "Queued"
    assert caplog.text.count("Export queue full") == 2


def test_enqueue_gives_up_at_the_timeout(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.post(f"{JOB}/enqueue.json", json=failure("1029", "Too many jobs in queue"))
    job = make_job(client, fake_time, export_id="ce45", poll_interval=60.0, timeout=300.0)
    with pytest.raises(ExportJobTimeout):
        job.enqueue()
    assert fake_time.sleeps == [60.0] * 5  # tries at 0, 60, ..., 300 s


def test_enqueue_of_an_already_queued_job_is_fine(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    enqueue = requests_mock.post(f"{JOB}/enqueue.json", json=failure("1029", "Job already queued"))
    job = make_job(client, fake_time, export_id="ce45")
    job.enqueue()
    assert enqueue.call_count == 1
    assert fake_time.sleeps == []
    assert job.status_name == "Queued"


def test_enqueue_stops_on_the_daily_export_quota(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.post(
        f"{JOB}/enqueue.json", json=failure("1029", "Export daily quota 500MB exceeded")
    )
    job = make_job(client, fake_time, export_id="ce45")
    with pytest.raises(ExportQuotaExceeded) as info:
        job.enqueue()
    assert info.value.resets_at is not None
    assert fake_time.sleeps == []


@pytest.mark.parametrize(("code", "step"), [("1003", "status"), ("610", "enqueue")])
def test_a_job_this_api_user_cannot_see_raises_not_found(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime, code: str, step: str
) -> None:
    """Marketo shows a job only to the API user that created it: after the credentials
    changed, a job resumed from state answers as an unknown one."""
    answer = failure(code, "Export job 'ce45' not found")
    requests_mock.get(f"{JOB}/status.json", json=answer)
    requests_mock.post(f"{JOB}/enqueue.json", json=answer)
    job = make_job(client, fake_time, export_id="ce45")
    with pytest.raises(ExportJobNotFound, match="not visible to this API user") as info:
        job.status() if step == "status" else job.enqueue()
    assert info.value.code == code
    assert isinstance(info.value, ExportJobFailed)  # callers export the window again
    assert fake_time.sleeps == []


@pytest.mark.parametrize("final", ["Failed", "Cancelled", "Canceled"])
def test_failed_or_cancelled_jobs_raise_with_the_error_message(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime, final: str
) -> None:
    requests_mock.get(
        f"{JOB}/status.json",
        [status("Processing"), status(final, errorMsg="Export failed: internal")],
    )
    job = make_job(client, fake_time, export_id="ce45")
    with pytest.raises(ExportJobFailed, match=final):
        job.wait()
    assert job.to_state()["status"] == final


def test_wait_polls_on_a_steady_cadence_and_logs_elapsed(
    requests_mock: Any,
    client: MarketoClient,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests_mock.get(
        f"{JOB}/status.json",
        [status("Queued"), status("Processing"), status("Processing"), status("Completed")],
    )
    job = make_job(client, fake_time, export_id="ce45", poll_interval=60.0)
    with caplog.at_level(logging.INFO, logger="marketo_core"):
        job.wait()
    assert fake_time.sleeps == [60.0, 60.0, 60.0]
    lines = [r.getMessage() for r in caplog.records if "export ce45" in r.getMessage()]
    assert lines == [
        "leads export ce45: Queued after 0 s",
        "leads export ce45: Processing after 60 s",
        "leads export ce45: Processing after 120 s",
        "leads export ce45: Completed after 180 s",
    ]


def test_wait_times_out(requests_mock: Any, client: MarketoClient, fake_time: FakeTime) -> None:
    requests_mock.get(f"{JOB}/status.json", **status("Processing"))
    job = make_job(client, fake_time, export_id="ce45", poll_interval=60.0, timeout=600.0)
    with pytest.raises(ExportJobTimeout, match="still Processing"):
        job.wait()
    assert sum(fake_time.sleeps) <= 600.0


def test_completed_job_whose_file_is_gone_asks_for_a_new_export(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{JOB}/status.json", **status("Completed", fileSize=10))
    requests_mock.get(f"{JOB}/file.json", status_code=404, text="Not Found")
    job = make_job(client, fake_time, export_id="ce45")
    with pytest.raises(ExportFileGone):
        job.download(io.BytesIO())


def test_download_checks_the_checksum_from_status(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.get(
        f"{JOB}/status.json",
        **status("Completed", fileSize=len(CSV), fileChecksum="sha256:" + "ab" * 32),
    )
    requests_mock.get(f"{JOB}/file.json", content=CSV, headers={"Content-Type": "text/csv"})
    job = make_job(client, fake_time, export_id="ce45")
    with pytest.raises(Exception, match="checksum"):
        job.download(io.BytesIO())


def test_file_json_answering_an_error_envelope_is_handled(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    # A token that expires mid-run comes back as a JSON 602 even from file.json.
    requests_mock.get(
        f"{JOB}/file.json",
        [
            {
                "json": failure("602", "Access token expired"),
                "headers": {"Content-Type": "application/json;charset=UTF-8"},
            },
            {"content": CSV, "headers": {"Content-Type": "text/csv"}},
        ],
    )
    job = make_job(client, fake_time, export_id="ce45")
    job.status_name = "Completed"
    job.info = {"fileSize": len(CSV)}
    out = io.BytesIO()
    job.download(out)
    assert out.getvalue() == CSV


def test_cancel(requests_mock: Any, client: MarketoClient, fake_time: FakeTime) -> None:
    cancel = requests_mock.post(f"{JOB}/cancel.json", **status("Cancelled"))
    job = make_job(client, fake_time, export_id="ce45")
    job.cancel()
    assert cancel.call_count == 1
    assert job.status_name == "Cancelled"


@pytest.mark.parametrize(
    "entity", ["leads", "activities", "program/members", "customobjects/car_c"]
)
def test_known_entities_build_bulk_paths(
    requests_mock: Any, client: MarketoClient, entity: str
) -> None:
    create = requests_mock.post(
        f"{BASE}/bulk/v1/{entity}/export/create.json",
        json=envelope([{"exportId": "e1", "status": "Created"}]),
    )
    ExportJob(client, entity).create({"format": "CSV"})
    assert create.call_count == 1


@pytest.mark.parametrize("entity", ["companies", "customobjects/", "leads/../x"])
def test_unknown_entities_are_rejected(client: MarketoClient, entity: str) -> None:
    with pytest.raises(ValueError, match="entity"):
        ExportJob(client, entity)
