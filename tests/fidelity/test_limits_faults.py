"""Marketo's limits and failure modes, as a client meets them.

Raw requests where a client would hide the behaviour (606, 615, 602 on the wire), and the
project's real client, ``marketo_core.MarketoClient``, where the point is how a client copes
(re-authentication, bulk queue and quota errors, Range resume, staying under the limits).
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fidelity_openapi import OpenApi
from fidelity_support import RawApi, ago, error_code, marketo_time
from marketo_core import (
    Action,
    DailyQuotaExceeded,
    ExportFileGone,
    ExportJob,
    ExportJobFailed,
    ExportQuotaExceeded,
    MarketoAPIError,
    MarketoClient,
    classify,
)
from marketo_sandbox.testing import SandboxControl

CHEAP = "/rest/v1/activities/types.json"  # a read whose cost is the call itself


@pytest.fixture
def core(sandbox_info: dict[str, str]) -> Iterator[MarketoClient]:
    client = MarketoClient(
        sandbox_info["endpoint"],
        sandbox_info["client_id"],
        sandbox_info["client_secret"],
        identity=sandbox_info["identity"],
        max_retries=3,
        retry_backoff_factor=0.05,
        retry_backoff_max=0.2,
    )
    yield client
    client.close()


def _window(days: float, end_days_ago: float = 1.0) -> dict[str, str]:
    return {
        "startAt": marketo_time(ago(days=end_days_ago + days)),
        "endAt": marketo_time(ago(days=end_days_ago)),
    }


def _lead_export_body(days: float = 30, fields: list[str] | None = None) -> dict[str, Any]:
    return {
        "fields": fields or ["id", "email"],
        "format": "CSV",
        "filter": {"createdAt": _window(days)},
    }


# -- request limits --------------------------------------------------------------------


def test_the_101st_call_inside_20_seconds_is_rejected_with_606(
    raw: RawApi, sandbox: SandboxControl, openapi: OpenApi
) -> None:
    started = time.monotonic()
    answers = [raw.call("GET", CHEAP).json() for _ in range(100)]
    assert all(a["success"] for a in answers)
    rejected = raw.call("GET", CHEAP).json()
    assert time.monotonic() - started < 20, "the burst must fit one rate window to mean anything"
    assert rejected["success"] is False
    assert rejected["errors"] == [
        {"code": "606", "message": "Max rate limit '100' exceeded with in '20' secs"}
    ]
    op = openapi.operation("GET", CHEAP)
    assert op is not None
    assert openapi.errors(op, rejected) == []
    assert sandbox.calls()["rejected"] == {"606": 1}


def test_the_11th_concurrent_call_is_rejected_with_615(
    raw: RawApi, sandbox: SandboxControl
) -> None:
    sandbox.configure(latency_ms=800)  # every admitted call holds its slot 0.8 s
    token = raw.token
    start = threading.Barrier(11)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one_call() -> None:
        start.wait()
        body = requests.get(
            f"{raw.endpoint}{CHEAP}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        with lock:
            results.append(body)

    threads = [threading.Thread(target=one_call) for _ in range(11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = Counter(error_code(r) or "ok" for r in results)
    assert outcomes == {"ok": 10, "615": 1}
    rejected = next(r for r in results if not r["success"])
    assert rejected["errors"][0]["message"] == "Concurrent access limit '10' reached"
    assert sandbox.calls()["peak_in_flight"] == 10


def test_an_expired_token_gets_602_and_the_client_renews_it(
    raw: RawApi, core: MarketoClient, sandbox: SandboxControl
) -> None:
    token = raw.token
    assert raw.call("GET", CHEAP, token=token).json()["success"] is True
    core.get(CHEAP)
    sandbox.expire_tokens()
    before = sandbox.calls()["total"]
    expired = raw.call("GET", CHEAP, token=token).json()
    assert expired["success"] is False
    assert expired["errors"][0] == {"code": "602", "message": "Access token expired"}
    assert sandbox.calls()["total"] == before, "602 answers are not counted against quota"
    # The real client meets the same 602, fetches a new token and retries transparently.
    assert core.get(CHEAP)["success"] is True
    assert sandbox.calls()["rejected"].get("602") == 2
    fresh = raw.identity().json()["access_token"]
    assert fresh != token


def test_a_revoked_token_gets_601(raw: RawApi, sandbox: SandboxControl) -> None:
    token = raw.token
    sandbox.revoke_tokens()
    body = raw.call("GET", CHEAP, token=token).json()
    assert error_code(body) == "601"


def test_daily_call_quota_answers_607_and_the_client_stops(
    raw: RawApi, core: MarketoClient, sandbox: SandboxControl
) -> None:
    sandbox.configure(daily_call_quota=5)
    assert all(raw.call("GET", CHEAP).json()["success"] for _ in range(5))
    body = raw.call("GET", CHEAP).json()
    assert error_code(body) == "607"
    with pytest.raises(DailyQuotaExceeded):
        core.get(CHEAP)


def test_an_8kb_uri_is_414_and_a_1mb_body_is_413(raw: RawApi) -> None:
    emails = ",".join(f"someone-{i}@example.com" for i in range(300))
    assert (
        raw.call(
            "GET", "/rest/v1/leads.json", params={"filterType": "email", "filterValues": emails}
        ).status_code
        == 414
    )
    # The documented way around it: POST with _method=GET and the query as a form body.
    assert (
        raw.call(
            "POST",
            "/rest/v1/leads.json",
            params={"_method": "GET"},
            data={"filterType": "email", "filterValues": emails},
        ).json()["success"]
        is True
    )
    big = {"input": [{"email": f"x{i}@example.com", "lastName": "y" * 4000} for i in range(280)]}
    assert raw.call("POST", "/rest/v1/leads.json", json=big).status_code == 413


def test_more_than_300_records_in_one_call_is_1003(raw: RawApi) -> None:
    rows = [{"email": f"many-{i}@example.com"} for i in range(301)]
    assert (
        error_code(raw.call("POST", "/rest/v1/leads.json", json={"input": rows}).json()) == "1003"
    )
    assert raw.ok("POST", "/rest/v1/leads.json", json={"input": rows[:300]})["result"][299][
        "status"
    ] == ("created")


# -- bulk export limits ----------------------------------------------------------------


def test_the_11th_queued_export_is_rejected_with_1029(
    core: MarketoClient, sandbox: SandboxControl
) -> None:
    sandbox.configure(export_processing_seconds=3600)  # nothing finishes during the test
    ids = []
    for _ in range(11):
        created = core.post("/bulk/v1/leads/export/create.json", json=_lead_export_body())
        ids.append(created["result"][0]["exportId"])
    for export_id in ids[:10]:
        core.request("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json", raise_on={"1029"})
    with pytest.raises(MarketoAPIError) as excinfo:
        core.request("POST", f"/bulk/v1/leads/export/{ids[10]}/enqueue.json", raise_on={"1029"})
    assert excinfo.value.code == "1029"
    assert "Too many jobs in queue" in excinfo.value.message
    assert classify("1029", excinfo.value.message) is Action.RETRY  # a full queue clears
    jobs = {j["exportId"]: j["status"] for j in sandbox.objects("export_jobs")}
    assert Counter(jobs[i] for i in ids[:10]) == {"Processing": 2, "Queued": 8}
    assert jobs[ids[10]] == "Created"


def test_enqueue_twice_is_1029_job_already_queued_and_unfinished_files_are_plain_404(
    raw: RawApi, sandbox: SandboxControl
) -> None:
    sandbox.configure(export_queued_seconds=3600)
    export_id = raw.ok("POST", "/bulk/v1/leads/export/create.json", json=_lead_export_body())[
        "result"
    ][0]["exportId"]
    path = f"/bulk/v1/leads/export/{export_id}"
    not_yet = raw.call("GET", f"{path}/file.json")
    assert not_yet.status_code == 404
    assert not_yet.headers["Content-Type"].startswith("text/plain")
    assert raw.ok("POST", f"{path}/enqueue.json")["result"][0]["status"] == "Queued"
    again = raw.call("POST", f"{path}/enqueue.json").json()
    assert again["errors"] == [{"code": "1029", "message": "Job already queued"}]
    assert raw.call("GET", "/bulk/v1/leads/export/no-such-job/file.json").status_code == 404


def test_exhausted_daily_export_bytes_answer_1029_with_the_quota_message(
    core: MarketoClient, sandbox: SandboxControl
) -> None:
    first = ExportJob(core, "leads", poll_interval=0.05, timeout=30)
    second = ExportJob(core, "leads", poll_interval=0.05, timeout=30)
    first.create(_lead_export_body(fields=["id", "email", "firstName", "lastName", "title"]))
    second.create(_lead_export_body())
    first.enqueue()
    done = first.wait()
    sandbox.configure(export_daily_quota_bytes=int(done["fileSize"]))  # today's bytes now fill it
    with pytest.raises(ExportQuotaExceeded) as excinfo:
        second.enqueue()
    assert excinfo.value.code == "1029"
    assert "Export daily quota" in excinfo.value.message
    assert "exceeded" in excinfo.value.message
    assert second.to_state()["status"] == "Created"


@pytest.mark.parametrize(
    ("entity", "body"),
    [
        ("leads", {"fields": ["id"], "format": "CSV", "filter": {"createdAt": _window(32)}}),
        ("leads", {"fields": ["id"], "format": "CSV", "filter": {"updatedAt": _window(45)}}),
        (
            "activities",
            {"format": "CSV", "filter": {"createdAt": _window(32), "activityTypeIds": [1]}},
        ),
        (
            "customobjects/car_c",
            {"fields": ["vin"], "format": "CSV", "filter": {"updatedAt": _window(40)}},
        ),
    ],
)
def test_an_export_window_over_31_days_is_rejected(
    core: MarketoClient, entity: str, body: dict[str, Any]
) -> None:
    with pytest.raises(MarketoAPIError) as excinfo:
        core.post(f"/bulk/v1/{entity}/export/create.json", json=body)
    assert excinfo.value.code == "1003"
    narrower = {**body, "filter": {**body["filter"]}}
    for key in ("createdAt", "updatedAt"):
        if key in narrower["filter"]:
            narrower["filter"][key] = _window(30)
    assert (
        core.post(f"/bulk/v1/{entity}/export/create.json", json=narrower)["result"][0]["status"]
        == "Created"
    )


# -- downloads -------------------------------------------------------------------------


def _completed_lead_export(core: MarketoClient, fields: list[str], days: float = 1) -> ExportJob:
    job = ExportJob(core, "leads", poll_interval=0.05, timeout=30)
    job.create(
        {
            "fields": fields,
            "format": "CSV",
            "filter": {"createdAt": _window(days, end_days_ago=-0.01)},
        }
    )
    job.enqueue()
    job.wait()
    return job


def _drop_and_download(
    core: MarketoClient, sandbox: SandboxControl, job: ExportJob
) -> tuple[bytes, str]:
    size = int(job.info["fileSize"])
    path = f"/bulk/v1/leads/export/{job.export_id}/file.json"
    sandbox.fault(path=path.replace(".", r"\."), drop_after_bytes=size // 3)
    sandbox.reset_calls()
    sink = io.BytesIO()
    written = job.download(sink)  # verifies fileSize and fileChecksum itself
    assert written == size == len(sink.getvalue())
    return sink.getvalue(), path


def test_a_dropped_download_resumes_with_range(
    core: MarketoClient, raw: RawApi, sandbox: SandboxControl
) -> None:
    # 300 fresh leads x every field: a file well past the client's 64 KB "could this be an
    # error envelope?" sniffing, so the body is streamed as real bulk files are.
    core.post(
        "/rest/v1/leads.json",
        json={
            "action": "createOnly",
            "input": [
                {"email": f"range-{i}@example.com", "firstName": "Ränge", "lastName": f"Resume {i}"}
                for i in range(300)
            ],
        },
    )
    fields = [
        f["rest"]["name"] for f in core.get("/rest/v1/leads/describe.json")["result"] if "rest" in f
    ]
    job = _completed_lead_export(core, fields)
    size = int(job.info["fileSize"])
    assert size > 65536
    data, path = _drop_and_download(core, sandbox, job)
    assert "sha256:" + hashlib.sha256(data).hexdigest() == job.info["fileChecksum"]
    assert sandbox.calls()["paths"][path] == 2, "one dropped attempt, one resumed with Range"
    assert sandbox.faults() == []
    # The resumed request is a Range request the sandbox answers like Marketo: 206 + Content-Range.
    tail = raw.call("GET", path, headers={"Range": f"bytes={size // 3}-"})
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes {size // 3}-{size - 1}/{size}"
    assert tail.content == data[size // 3 :]


def test_a_dropped_small_download_resumes_with_range(
    core: MarketoClient, sandbox: SandboxControl
) -> None:
    job = _completed_lead_export(core, ["id", "email", "firstName", "lastName"], days=31)
    assert int(job.info["fileSize"]) < 65536
    _, path = _drop_and_download(core, sandbox, job)
    assert sandbox.calls()["paths"][path] == 2


def test_an_export_that_fails_or_loses_its_file_is_reported_as_marketo_does(
    core: MarketoClient, sandbox: SandboxControl
) -> None:
    failing = ExportJob(core, "leads", poll_interval=0.05, timeout=30)
    failing.create(_lead_export_body())
    sandbox.fault(
        path=f"/bulk/v1/leads/export/{failing.export_id}/status",
        export_fail=True,
        message="Export failed: internal error",
    )
    failing.enqueue()
    with pytest.raises(ExportJobFailed, match="internal error"):
        failing.wait()
    assert failing.info["status"] == "Failed"
    assert failing.info["errorMsg"] == "Export failed: internal error"

    gone = ExportJob(core, "leads", poll_interval=0.05, timeout=30)
    gone.create(_lead_export_body())
    sandbox.fault(path=f"/bulk/v1/leads/export/{gone.export_id}/status", export_file_gone=True)
    gone.enqueue()
    assert gone.wait()["status"] == "Completed"
    with pytest.raises(ExportFileGone):
        gone.download(io.BytesIO())


# -- the client's limiter --------------------------------------------------------------


@pytest.mark.parametrize(
    "threads_count",
    [
        10,  # as many threads as calls allowed in flight
        # More threads than slots: calls wait at the concurrency gate, and the rate window
        # must still count them when they reach Marketo, not when they began to wait.
        16,
    ],
)
def test_the_clients_limiter_keeps_a_500_call_burst_free_of_606_and_615(
    sandbox_info: dict[str, str], sandbox: SandboxControl, threads_count: int
) -> None:
    # Marketo's 100 calls / 20 s scaled down to 100 / 2 s on both sides, so the burst takes
    # ~11 s instead of ~110 s; 10 calls in flight at most, each held 20 ms by the sandbox.
    sandbox.configure(rate_limit_calls=100, rate_limit_window_seconds=2.0, latency_ms=20)
    client = MarketoClient(
        sandbox_info["endpoint"],
        sandbox_info["client_id"],
        sandbox_info["client_secret"],
        identity=sandbox_info["identity"],
        max_concurrency=10,
        rate_limit_window=2.0,
    )
    failures: list[Exception] = []

    def worker(calls: int) -> None:
        try:
            for _ in range(calls):
                assert client.get(CHEAP)["success"] is True
        except Exception as exc:
            failures.append(exc)

    share, extra = divmod(500, threads_count)
    threads = [
        threading.Thread(target=worker, args=(share + (i < extra),))
        for i in range(threads_count)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    client.close()
    calls = sandbox.calls()
    assert not failures, failures
    assert calls["rejected"] == {}, calls["rejected"]
    assert calls["total"] == 500 == client.calls_made
    assert calls["peak_in_flight"] <= 10
    assert elapsed >= 8.0, "90 calls per 2 s window: the limiter must spread 500 calls over ~10 s"
