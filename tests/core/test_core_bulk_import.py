"""Bulk lead import jobs: upload, poll with backoff, failure and warning rows."""

from __future__ import annotations

from typing import Any

import pytest
from core_helpers import BASE, FakeTime, envelope
from marketo_core import ImportJob, ImportJobFailed, ImportJobTimeout, MarketoClient
from marketo_core.bulk_import import reason_of

UPLOAD = f"{BASE}/bulk/v1/leads.json"
BATCH = f"{BASE}/bulk/v1/leads/batch/3404"
FILE = b"email,lastName\na@x.com,Ames\nb@x.com,Bo\n"


def status(name: str, **extra: Any) -> dict[str, Any]:
    return {"json": envelope([{"batchId": 3404, "status": name, **extra}])}


def make_job(client: MarketoClient, fake_time: FakeTime, **kw: Any) -> ImportJob:
    kw.setdefault("poll_interval", 5.0)
    return ImportJob(client, sleep=fake_time.sleep, clock=fake_time.monotonic, **kw)


def test_an_import_uploads_polls_until_complete_and_reads_its_failed_rows(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    upload = requests_mock.post(UPLOAD, **status("Queued"))
    requests_mock.get(f"{BATCH}.json", [
        status("Queued"), status("Importing"), status("Importing"), status("Importing"),
        status("Complete", numOfLeadsProcessed=2, numOfRowsFailed=1, numOfRowsWithWarning=0),
    ])
    requests_mock.get(f"{BATCH}/failures.json",
                      content=b"email,lastName,Import Failure Reason\nb@x.com,Bo,Bad email\n")
    job = make_job(client, fake_time)

    assert job.create(FILE, lookup_field="crmContactId", partition_name="EU") == "3404"
    sent = upload.last_request
    assert sent.qs["format"] == ["csv"]
    assert sent.qs["lookupfield"] == ["crmcontactid"]  # requests_mock lowercases
    assert sent.qs["partitionname"] == ["eu"]
    assert FILE in sent.body

    final = job.wait()
    assert final["status"] == "Complete"
    # The first poll comes soon, later ones back off to the poll interval.
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert (job.leads_processed, job.rows_failed, job.rows_with_warning) == (2, 1, 0)

    rows = job.failures()
    assert rows == [{"email": "b@x.com", "lastName": "Bo", "Import Failure Reason": "Bad email"}]
    assert reason_of(rows[0]) == "Bad email"
    assert job.calls == 1 + 5 + 1  # upload, polls, failures file


def test_warning_rows_carry_their_reason(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{BATCH}/warnings.json", content=(
        b"email,seats,Import Warning Reason\na@x.com,lots,Invalid value for seats\n"))
    job = make_job(client, fake_time, batch_id="3404")
    (row,) = job.warnings()
    assert reason_of(row) == "Invalid value for seats"
    assert reason_of({"email": "a@x.com"}) is None


def test_a_failed_import_raises_with_marketos_message(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{BATCH}.json", **status("Failed", message="Header row is missing"))
    job = make_job(client, fake_time, batch_id="3404")
    with pytest.raises(ImportJobFailed, match="3404 failed: Header row is missing"):
        job.wait()


def test_an_import_still_running_after_the_timeout_raises(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{BATCH}.json", **status("Importing"))
    job = make_job(client, fake_time, batch_id="3404", timeout=30.0)
    with pytest.raises(ImportJobTimeout, match="still importing after 30 s"):
        job.wait()
    assert sum(fake_time.sleeps) > 30.0


def test_an_upload_answered_without_a_batch_id_is_an_error(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    requests_mock.post(UPLOAD, json=envelope([{}]))
    job = make_job(client, fake_time)
    with pytest.raises(ImportJobFailed, match="without a batchId"):
        job.create(FILE, lookup_field="email")
    with pytest.raises(ImportJobFailed, match="call create"):
        job.status()
