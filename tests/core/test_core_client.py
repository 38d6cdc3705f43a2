"""MarketoClient: envelope checks, the action for each code, paging, long reads, budget."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from core_helpers import (
    BASE,
    IDENTITY,
    SECRET,
    TOKEN,
    FakeTime,
    api_requests,
    envelope,
    failure,
    logged_text,
)
from marketo_core import (
    ERROR_ACTIONS,
    Action,
    CallBudgetExhausted,
    DailyQuotaExceeded,
    ExportQuotaExceeded,
    MarketoAPIError,
    MarketoClient,
    MarketoHTTPError,
    QuotaExhausted,
)

LEADS = f"{BASE}/rest/v1/leads.json"
USAGE = f"{BASE}/rest/v1/stats/usage.json"


def exact_query(request: Any) -> dict[str, list[str]]:
    # requests_mock's .qs lowercases values; tokens and _method=GET are case-sensitive.
    return parse_qs(urlsplit(request.url).query)


@pytest.mark.parametrize(("code", "action"), sorted(ERROR_ACTIONS.items()))
def test_each_table_row_drives_the_client(
    requests_mock: Any,
    make_client: Callable[..., MarketoClient],
    fake_time: FakeTime,
    code: str,
    action: Action,
) -> None:
    identity = requests_mock.get(IDENTITY, json={"access_token": TOKEN, "expires_in": 3599})
    leads = requests_mock.get(
        LEADS, [{"json": failure(code, "nope")}, {"json": envelope([{"id": 7}])}]
    )
    client = make_client()
    if action is Action.FATAL:
        with pytest.raises(MarketoAPIError) as info:
            client.get("/rest/v1/leads.json")
        assert info.value.code == code
        assert leads.call_count == 1
        return
    if action is Action.STOP_QUOTA:
        with pytest.raises(QuotaExhausted) as quota:
            client.get("/rest/v1/leads.json")
        assert quota.value.code == code
        assert leads.call_count == 1
        return
    assert client.get("/rest/v1/leads.json")["result"] == [{"id": 7}]
    assert leads.call_count == 2
    if action is Action.REAUTH:
        assert identity.call_count == 2
        assert fake_time.sleeps == []
    elif action is Action.WAIT_WINDOW:
        assert identity.call_count == 1
        assert fake_time.sleeps == [pytest.approx(20.0)]
    else:
        assert action is Action.RETRY
        assert identity.call_count == 1
        assert len(fake_time.sleeps) == 1
        assert 0.5 <= fake_time.sleeps[0] <= 1.0  # first backoff step, jittered


@pytest.mark.parametrize("code", ["606", 606])
def test_606_waits_for_the_rate_window_then_retries(
    requests_mock: Any,
    make_client: Callable[..., MarketoClient],
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
    code: str | int,
) -> None:
    leads = requests_mock.get(
        LEADS,
        [
            {"json": failure(code, "Max rate limit '100' exceeded with in '20' secs")},
            {"json": envelope([])},
        ],
    )
    client = make_client()
    started = fake_time.monotonic()
    with caplog.at_level(logging.INFO, logger="marketo_core"):
        client.get("/rest/v1/leads.json")
    assert leads.call_count == 2
    assert fake_time.monotonic() - started == pytest.approx(20.0)
    assert "606" in caplog.text
    assert "rate window" in caplog.text


def test_607_stops_with_daily_quota_exceeded_and_reset_time(
    requests_mock: Any, client: MarketoClient
) -> None:
    requests_mock.get(LEADS, json=failure("607", "Daily quota reached"))
    with pytest.raises(DailyQuotaExceeded) as info:
        client.get("/rest/v1/leads.json")
    err = info.value
    assert err.code == "607"
    assert err.resets_at.tzinfo is not None
    assert err.resets_at.hour in (5, 6)  # 00:00 Chicago in UTC (CDT / CST)
    assert err.endpoint == "GET /rest/v1/leads.json"


def test_1029_daily_export_quota_stops_but_too_many_jobs_is_retried(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    create = f"{BASE}/bulk/v1/leads/export/create.json"
    requests_mock.post(create, json=failure("1029", "Export daily quota 500MB exceeded"))
    with pytest.raises(ExportQuotaExceeded):
        client.post("/bulk/v1/leads/export/create.json", json={})
    requests_mock.post(
        create,
        [
            {"json": failure("1029", "Too many jobs (10) in queue")},
            {"json": envelope([{"exportId": "x", "status": "Created"}])},
        ],
    )
    body = client.post("/bulk/v1/leads/export/create.json", json={})
    assert body["result"][0]["exportId"] == "x"
    assert len(fake_time.sleeps) == 1


def test_retryable_code_gives_up_after_max_retries(
    requests_mock: Any, make_client: Callable[..., MarketoClient], fake_time: FakeTime
) -> None:
    leads = requests_mock.get(LEADS, json=failure("615", "Concurrent access limit '10' reached"))
    client = make_client(max_retries=3)
    with pytest.raises(MarketoAPIError, match="gave up after 4 attempts") as info:
        client.get("/rest/v1/leads.json")
    assert info.value.code == "615"
    assert leads.call_count == 4
    assert len(fake_time.sleeps) == 3
    assert fake_time.sleeps[2] > fake_time.sleeps[0]  # exponential


def test_614_is_retried_only_a_few_times(
    requests_mock: Any, client: MarketoClient
) -> None:
    leads = requests_mock.get(LEADS, json=failure("614", "Invalid subscription"))
    with pytest.raises(MarketoAPIError):
        client.get("/rest/v1/leads.json")
    assert leads.call_count == 4  # 1 + 3 retries, although max_retries is 8


def test_retries_are_logged_with_code_endpoint_attempt_and_wait(
    requests_mock: Any, client: MarketoClient, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(
        LEADS, [{"json": failure("615", "Concurrent access limit")}, {"json": envelope([])}]
    )
    with caplog.at_level(logging.INFO, logger="marketo_core"):
        client.get("/rest/v1/leads.json", {"filterType": "email", "filterValues": "a@x.com"})
    (record,) = [r for r in caplog.records if "615" in r.getMessage()]
    text = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "GET /rest/v1/leads.json" in text
    assert "retry 1/8" in text
    assert "retrying in" in text
    assert "filterValues" not in text  # endpoint only, never the query string


@pytest.mark.parametrize(
    "failure_kind",
    [
        {"status_code": 502, "text": "<html>Bad gateway</html>"},
        {"status_code": 503, "text": "unavailable"},
        {"exc": requests.ConnectionError("reset by peer")},
        {"exc": requests.ConnectTimeout("connect timeout")},
        {"exc": requests.ReadTimeout("read timeout")},
    ],
)
def test_http_5xx_and_connection_errors_are_retried(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime, failure_kind: dict[str, Any]
) -> None:
    leads = requests_mock.get(LEADS, [failure_kind, {"json": envelope([{"id": 1}])}])
    assert client.get("/rest/v1/leads.json")["result"] == [{"id": 1}]
    assert leads.call_count == 2
    assert len(fake_time.sleeps) == 1


def test_persistent_5xx_ends_in_http_error(
    requests_mock: Any, make_client: Callable[..., MarketoClient]
) -> None:
    requests_mock.get(LEADS, status_code=500, text="oops")
    with pytest.raises(MarketoHTTPError) as info:
        make_client(max_retries=2).get("/rest/v1/leads.json")
    assert info.value.status == 500


@pytest.mark.parametrize(("status", "hint"), [(413, "1 MB"), (414, "8 KB"), (404, "not found")])
def test_413_414_404_are_http_errors_without_retry(
    requests_mock: Any, client: MarketoClient, status: int, hint: str
) -> None:
    leads = requests_mock.post(LEADS, status_code=status, text="Request Entity Too Large")
    with pytest.raises(MarketoHTTPError, match=hint) as info:
        client.post("/rest/v1/leads.json", json={"input": []})
    assert info.value.status == status
    assert leads.call_count == 1


def test_non_json_body_is_a_clear_api_error(requests_mock: Any, client: MarketoClient) -> None:
    requests_mock.get(
        LEADS, text="<html>maintenance</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(MarketoAPIError, match="expected a JSON object") as info:
        client.get("/rest/v1/leads.json")
    assert "text/html" in str(info.value)
    assert "maintenance" in str(info.value)


def test_success_envelope_is_returned_whole_and_skips_are_not_errors(
    requests_mock: Any, client: MarketoClient
) -> None:
    body = envelope(
        [{"seq": 0, "status": "skipped", "reasons": [{"code": "1004", "message": "not found"}]}],
        warnings=["careful"],
    )
    requests_mock.post(LEADS, json=body)
    assert client.post("/rest/v1/leads.json", json={"input": [{"id": 1}]}) == body


def test_marketo_messages_holding_the_token_are_redacted(
    requests_mock: Any, client: MarketoClient, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(
        LEADS,
        [
            {"json": failure("611", f"System error near {TOKEN} / {SECRET}")},
            {"json": failure("603", f"Access denied for token {TOKEN} secret {SECRET}")},
        ],
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(MarketoAPIError) as info:
        client.get("/rest/v1/leads.json")
    for text in (str(info.value), repr(info.value), info.value.message, logged_text(caplog)):
        assert TOKEN not in text
        assert SECRET not in text
    assert "Access denied" in str(info.value)


def test_budget_exhaustion_raises_before_sending(
    requests_mock: Any, make_client: Callable[..., MarketoClient]
) -> None:
    requests_mock.get(USAGE, json=envelope([{"date": "2026-11-22", "total": 4, "users": []}]))
    leads = requests_mock.get(LEADS, json=envelope([]))
    client = make_client(max_daily_calls=5)
    with pytest.raises(CallBudgetExhausted) as info:
        client.get("/rest/v1/leads.json")  # 4 reported + the usage call itself = 5 used
    assert leads.call_count == 0
    assert info.value.resets_at is not None
    assert client.calls_made == 1  # only the usage call went out


def test_budget_lets_calls_through_until_the_limit(
    requests_mock: Any, make_client: Callable[..., MarketoClient]
) -> None:
    usage = requests_mock.get(USAGE, json=envelope([{"date": "2026-11-22", "total": 2}]))
    leads = requests_mock.get(LEADS, json=envelope([]))
    client = make_client(max_daily_calls=6)
    for _ in range(3):
        client.get("/rest/v1/leads.json")
    with pytest.raises(CallBudgetExhausted):
        client.get("/rest/v1/leads.json")
    assert usage.call_count == 1
    assert leads.call_count == 3
    assert client.calls_made == 4


def test_usage_today_and_calls_made_exclude_identity(
    requests_mock: Any, client: MarketoClient
) -> None:
    requests_mock.get(USAGE, json=envelope([{"date": "2026-11-22", "total": 1120}]))
    assert client.usage_today() == 1120
    assert client.calls_made == 1
    assert len(api_requests(requests_mock)) == 1


@pytest.mark.parametrize(
    "endpoint", [BASE, BASE + "/", BASE + "/rest", BASE + "/rest/"]
)
def test_endpoint_spellings_are_normalised(
    requests_mock: Any, identity: Any, fake_time: FakeTime, endpoint: str
) -> None:
    leads = requests_mock.get(LEADS, json=envelope([]))
    with MarketoClient(endpoint, "id", SECRET, sleep=fake_time.sleep) as client:
        client.get("/rest/v1/leads.json")
    assert leads.call_count == 1
    assert identity.call_count == 1


def test_query_sends_get_when_short(requests_mock: Any, client: MarketoClient) -> None:
    leads = requests_mock.get(LEADS, json=envelope([]))
    client.query(
        "/rest/v1/leads.json",
        {"filterType": "email", "filterValues": ["a@x.com", "b@x.com"], "fields": None},
    )
    sent = leads.last_request
    assert sent.method == "GET"
    assert sent.qs["filtervalues"] == ["a@x.com,b@x.com"]
    assert "fields" not in sent.qs


def test_query_switches_to_post_method_get_beyond_8kb(
    requests_mock: Any, client: MarketoClient
) -> None:
    emails = [f"someone.with.a.long.address{i}@example.com" for i in range(300)]
    get = requests_mock.get(LEADS, json=envelope([]))
    post = requests_mock.post(LEADS, json=envelope([{"id": 1}]))
    body = client.query(
        "/rest/v1/leads.json",
        {"filterType": "email", "filterValues": emails, "fields": ["id", "email"]},
    )
    assert body["result"] == [{"id": 1}]
    assert get.call_count == 0
    sent = post.last_request
    assert sent.method == "POST"
    assert exact_query(sent) == {"_method": ["GET"]}
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(sent.text)
    assert form["filterValues"] == [",".join(emails)]
    assert form["filterType"] == ["email"]
    assert form["fields"] == ["id,email"]
    assert len(sent.url) < 200


def test_upload_files_are_rewound_for_a_retry(
    requests_mock: Any, client: MarketoClient
) -> None:
    upload = requests_mock.post(
        f"{BASE}/bulk/v1/leads.json",
        [{"json": failure("1016", "Too many imports")}, {"json": envelope([{"batchId": 1}])}],
    )
    payload = b"email,firstName\na@x.com,Ann\n"
    client.post(
        "/bulk/v1/leads.json",
        params={"format": "csv"},
        files={"file": ("leads.csv", io.BytesIO(payload), "text/csv")},
    )
    assert upload.call_count == 2
    for sent in upload.request_history:
        assert payload in sent.body


# --- paging ------------------------------------------------------------------------------

ACTIVITIES = f"{BASE}/rest/v1/activities.json"


def test_paginate_follows_moreresult_through_empty_pages(
    requests_mock: Any, client: MarketoClient
) -> None:
    pages = [
        envelope([{"id": 1}], nextPageToken="T1", moreResult=True),
        envelope(None, nextPageToken="T2", moreResult=True),  # empty page, keep going
        envelope([], nextPageToken="T3", moreResult=True),
        envelope([{"id": 2}, {"id": 3}], nextPageToken="T4", moreResult=False),
    ]
    activities = requests_mock.get(ACTIVITIES, [{"json": p} for p in pages])
    params = {"nextPageToken": "T0", "activityTypeIds": [1, 12]}
    got = list(client.paginate("/rest/v1/activities.json", params))
    assert [p["nextPageToken"] for p in got] == ["T1", "T2", "T3", "T4"]
    sent_tokens = [exact_query(r)["nextPageToken"][0] for r in activities.request_history]
    assert sent_tokens == ["T0", "T1", "T2", "T3"]
    assert all(r.qs["activitytypeids"] == ["1,12"] for r in activities.request_history)


def test_iter_results_yields_records_of_all_pages(
    requests_mock: Any, client: MarketoClient
) -> None:
    requests_mock.get(
        ACTIVITIES,
        [
            {"json": envelope([{"id": 1}], nextPageToken="A", moreResult=True)},
            {"json": envelope([], nextPageToken="B", moreResult=True)},
            {"json": envelope([{"id": 2}], nextPageToken="C", moreResult=False)},
        ],
    )
    assert [r["id"] for r in client.iter_results("/rest/v1/activities.json")] == [1, 2]


def test_paginate_without_moreresult_stops_on_missing_token_or_empty_result(
    requests_mock: Any, client: MarketoClient
) -> None:
    lists = requests_mock.get(
        f"{BASE}/rest/v1/lists.json",
        [
            {"json": envelope([{"id": 1}], nextPageToken="P1")},
            {"json": envelope([{"id": 2}], nextPageToken="P2")},
            {"json": envelope([], nextPageToken="P3")},
            {"json": envelope([{"id": 99}])},
        ],
    )
    assert [r["id"] for r in client.iter_results("/rest/v1/lists.json")] == [1, 2]
    assert lists.call_count == 3
    requests_mock.get(f"{BASE}/rest/v1/campaigns.json", json=envelope([{"id": 5}]))
    assert [r["id"] for r in client.iter_results("/rest/v1/campaigns.json")] == [5]


def test_compound_key_paging_puts_the_token_in_the_json_body(
    requests_mock: Any, client: MarketoClient
) -> None:
    roles = requests_mock.post(
        f"{BASE}/rest/v1/opportunities/roles.json",
        [
            {"json": envelope([{"seq": 0}], nextPageToken="R1", moreResult=True)},
            {"json": envelope([{"seq": 1}], moreResult=False)},
        ],
    )
    body = {
        "filterType": "dedupeFields",
        "fields": ["marketoGUID"],
        "input": [{"externalOpportunityId": "O1", "leadId": 5, "role": "Buyer"}],
    }
    got = list(
        client.iter_results("/rest/v1/opportunities/roles.json", method="POST", json=body)
    )
    assert [r["seq"] for r in got] == [0, 1]
    first, second = roles.request_history
    assert exact_query(first) == {"_method": ["GET"]}
    assert "nextPageToken" not in first.json()
    assert second.json()["nextPageToken"] == "R1"
    assert second.json()["input"] == body["input"]


def test_paginate_refuses_to_loop_on_a_repeated_token(
    requests_mock: Any, client: MarketoClient
) -> None:
    requests_mock.get(ACTIVITIES, json=envelope([], nextPageToken="SAME", moreResult=True))
    with pytest.raises(MarketoAPIError, match="same nextPageToken"):
        list(client.paginate("/rest/v1/activities.json", {"nextPageToken": "SAME"}))


PROGRAMS = f"{BASE}/rest/asset/v1/programs.json"
NO_ASSETS = {
    "success": True,
    "errors": [],
    "requestId": "r",
    "warnings": ["No assets found for the given search criteria."],
}


def test_browse_assets_pages_by_offset_until_no_assets_found(
    requests_mock: Any, client: MarketoClient
) -> None:
    programs = requests_mock.get(
        PROGRAMS,
        [
            {"json": envelope([{"id": 1}, {"id": 2}], errors=[], warnings=[])},
            {"json": envelope([{"id": 3}, {"id": 4}], errors=[], warnings=[])},
            {"json": NO_ASSETS},
        ],
    )
    got = list(
        client.browse_assets(
            "/rest/asset/v1/programs.json",
            {"earliestUpdatedAt": "2026-01-01T00:00:00Z"},
            max_return=2,
        )
    )
    assert [p["id"] for p in got] == [1, 2, 3, 4]
    offsets = [r.qs["offset"][0] for r in programs.request_history]
    assert offsets == ["0", "2", "4"]
    assert all(r.qs["maxreturn"] == ["2"] for r in programs.request_history)


def test_browse_assets_stops_after_a_short_page(
    requests_mock: Any, client: MarketoClient
) -> None:
    programs = requests_mock.get(
        PROGRAMS, json=envelope([{"id": i} for i in range(150)], errors=[], warnings=[])
    )
    assert len(list(client.browse_assets("/rest/asset/v1/programs.json"))) == 150
    assert programs.call_count == 1
    assert programs.last_request.qs["maxreturn"] == ["200"]


def test_browse_assets_rejects_pages_over_200(client: MarketoClient) -> None:
    with pytest.raises(ValueError, match="max_return"):
        list(client.browse_assets("/rest/asset/v1/programs.json", max_return=201))


# --- steps of the request loop without a test of their own --------------------------------


def test_a_code_the_caller_handles_raises_at_once_even_when_the_table_says_retry(
    requests_mock: Any, client: MarketoClient, fake_time: FakeTime
) -> None:
    leads = requests_mock.post(LEADS, json=failure("1029", "Too many jobs in queue"))
    with pytest.raises(MarketoAPIError) as info:
        client.request("POST", "/rest/v1/leads.json", json={"input": []}, raise_on={"1029"})
    assert info.value.code == "1029"
    assert leads.call_count == 1
    assert fake_time.sleeps == []  # no backoff before handing the code to the caller


def test_a_token_error_on_a_streamed_file_renews_the_token_and_returns_the_file(
    requests_mock: Any, make_client: Callable[..., MarketoClient]
) -> None:
    # file.json answers a stale token with a small JSON envelope instead of the file.
    requests_mock.get(IDENTITY, [
        {"json": {"access_token": TOKEN, "expires_in": 3599}},
        {"json": {"access_token": "TOKEN-fresh-9999:ab", "expires_in": 3599}},
    ])
    file_path = f"{BASE}/bulk/v1/leads/export/e1/file.json"
    payload = b"id,email\n1,a@x.com\n"
    stale = json_bytes(failure("602", "Access token expired"))
    requests_mock.get(file_path, [
        {"content": stale, "headers": {"Content-Length": str(len(stale))}},
        {"content": payload, "headers": {"Content-Length": str(len(payload))}},
    ])
    client = make_client()
    resp = client.open_stream("GET", "/bulk/v1/leads/export/e1/file.json")
    try:
        assert resp.content == payload
    finally:
        resp.close()
    sent = [r.headers["Authorization"] for r in api_requests(requests_mock)]
    assert sent == [f"Bearer {TOKEN}", "Bearer TOKEN-fresh-9999:ab"]


def test_a_large_streamed_file_is_handed_over_unread(
    requests_mock: Any, client: MarketoClient
) -> None:
    # An error envelope is tiny: a body announced at 64 KB or more is never sniffed.
    payload = b"{" + b"x" * 70_000
    requests_mock.get(f"{BASE}/bulk/v1/leads/export/e1/file.json",
                      content=payload, headers={"Content-Length": str(len(payload))})
    resp = client.open_stream("GET", "/bulk/v1/leads/export/e1/file.json")
    try:
        assert not resp._content_consumed  # type: ignore[attr-defined]
        assert resp.content == payload
    finally:
        resp.close()


def json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
