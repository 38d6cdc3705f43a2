"""The sandbox enforces Marketo's limits and identity rules, reports usage the way the
stats endpoints do, and injects the faults clients must survive."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from marketo_sandbox.testing import SandboxApi, SandboxControl

LEADS = "/rest/v1/leads/describe.json"


class Api(SandboxApi):
    """The lead database and identity endpoints as any client calls them."""


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Api:
    return Api(sandbox_info)


def code_of(body: dict[str, Any]) -> str | None:
    if body.get("success"):
        return None
    code = body["errors"][0]["code"]
    assert isinstance(code, str), "Marketo error codes are strings"
    return code


# -- identity --------------------------------------------------------------------------


def test_bad_credentials_get_401_and_a_token_is_reused_until_it_expires(api: Api) -> None:
    bad = api.identity(client_secret="wrong")
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    first = api.identity().json()
    second = api.identity().json()
    assert first["access_token"] == second["access_token"]
    assert 0 < second["expires_in"] <= 3600
    assert first["token_type"] == "bearer"
    assert "requestId" not in first


def test_expired_token_is_602_and_revoked_is_601(api: Api, sandbox: SandboxControl) -> None:
    assert code_of(api.get(LEADS)) is None
    sandbox.expire_tokens()
    assert code_of(api.get(LEADS)) == "602"
    api.renew()
    assert code_of(api.get(LEADS)) is None
    sandbox.revoke_tokens()
    assert code_of(api.get(LEADS)) == "601"
    api.session.headers.pop("Authorization")
    assert code_of(api.get(LEADS)) == "600"


def test_a_short_token_life_expires_on_its_own(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(token_ttl_seconds=1)
    sandbox.expire_tokens()  # else identity hands back the current, longer-lived token
    api.renew()
    assert code_of(api.get(LEADS)) is None
    time.sleep(1.2)
    assert code_of(api.get(LEADS)) == "602"


def test_access_token_query_parameter_is_still_accepted(api: Api) -> None:
    token = api.session.headers.pop("Authorization").split()[1]
    assert code_of(api.get(LEADS, access_token=token)) is None


# -- limits ----------------------------------------------------------------------------


def test_the_call_over_the_rate_limit_is_606(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(rate_limit_calls=10, rate_limit_window_seconds=20)
    codes = [code_of(api.get(LEADS)) for _ in range(11)]
    assert codes[:10] == [None] * 10
    assert codes[10] == "606"
    body = api.get(LEADS)
    assert body["errors"][0]["message"] == "Max rate limit '10' exceeded with in '20' secs"


def test_the_rate_window_rolls(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(rate_limit_calls=3, rate_limit_window_seconds=2)
    assert [code_of(api.get(LEADS)) for _ in range(4)] == [None, None, None, "606"]
    time.sleep(2.1)
    assert code_of(api.get(LEADS)) is None


def test_the_call_over_the_concurrency_limit_is_615(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(max_concurrent_calls=3, latency_ms=1000)
    codes: list[str | None] = []
    lock = threading.Lock()

    def call() -> None:
        session = requests.Session()
        session.headers.update(api.session.headers)
        body = session.get(api.base + LEADS, timeout=30).json()
        with lock:
            codes.append(code_of(body))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # All eight start together; three fit, the others are turned away while those run.
    assert set(codes) <= {None, "615"}
    assert codes.count(None) >= 3
    assert codes.count("615") >= 1
    assert sandbox.calls()["peak_in_flight"] == 3


def test_the_daily_quota_is_607_and_counts_every_call(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(daily_call_quota=5)
    codes = [code_of(api.get(LEADS)) for _ in range(7)]
    assert codes == [None] * 5 + ["607", "607"]


def test_uri_over_8kb_is_414_and_body_over_1mb_is_413(api: Api) -> None:
    response = api.session.get(api.base + LEADS, params={"x": "y" * 9000}, timeout=30)
    assert response.status_code == 414
    big = {"input": [{"email": "a@example.com", "address": "z" * 1_100_000}]}
    response = api.session.post(api.base + "/rest/v1/leads.json", json=big, timeout=30)
    assert response.status_code == 413


def test_an_unsupported_method_is_605(api: Api) -> None:
    body = api.session.put(api.base + "/rest/v1/leads.json", json={}, timeout=30).json()
    assert code_of(body) == "605"


# -- usage statistics ------------------------------------------------------------------


def test_usage_stats_count_calls_and_errors(api: Api, sandbox: SandboxControl) -> None:
    sandbox.reset_calls()
    for _ in range(4):
        assert code_of(api.get(LEADS)) is None
    assert (
        code_of(api.get("/rest/v1/leads.json", filterType="shoeSize", filterValues="1")) == "1003"
    )
    api.identity()  # identity calls are free
    (today,) = api.get("/rest/v1/stats/usage.json")["result"]
    # Four reads, the refused read and this stats call itself.
    assert today["total"] == 6
    assert today["users"] == [{"userId": "api-user@sandbox.local", "count": 6}]
    week = api.get("/rest/v1/stats/usage/last7days.json")["result"]
    assert len(week) == 7
    assert week[0]["date"] == today["date"]
    assert sum(day["total"] for day in week) == 7
    (errors,) = api.get("/rest/v1/stats/errors.json")["result"]
    assert {"errorCode": "1003", "count": 1} in errors["errors"]
    assert errors["total"] == 1
    assert len(api.get("/rest/v1/stats/errors/last7days.json")["result"]) == 7


def test_rate_limit_refusals_show_in_error_stats(api: Api, sandbox: SandboxControl) -> None:
    sandbox.configure(rate_limit_calls=3, rate_limit_window_seconds=2)
    for _ in range(5):
        api.get(LEADS)
    time.sleep(2.1)
    (errors,) = api.get("/rest/v1/stats/errors.json")["result"]
    assert {"errorCode": "606", "count": 2} in errors["errors"]


# -- faults ----------------------------------------------------------------------------


def test_an_injected_code_answers_once_then_the_call_works(
    api: Api, sandbox: SandboxControl
) -> None:
    sandbox.fault(path=r"/rest/v1/leads/describe\.json", code="608", count=2)
    assert [code_of(api.get(LEADS)) for _ in range(3)] == ["608", "608", None]
    assert sandbox.faults() == []


def test_an_injected_http_status(api: Api, sandbox: SandboxControl) -> None:
    sandbox.fault(path="describe", http_status=503, body="Service Unavailable")
    response = api.session.get(api.base + LEADS, timeout=30)
    assert response.status_code == 503
    assert response.text == "Service Unavailable"
    assert code_of(api.get(LEADS)) is None


def test_an_injected_connection_reset(api: Api, sandbox: SandboxControl) -> None:
    sandbox.fault(path="describe", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.session.get(api.base + LEADS, timeout=30)
    assert code_of(api.get(LEADS)) is None


def test_injected_latency(api: Api, sandbox: SandboxControl) -> None:
    sandbox.fault(path="describe", latency_ms=400, skip=1)
    started = time.perf_counter()
    api.get(LEADS)
    fast = time.perf_counter() - started
    started = time.perf_counter()
    assert code_of(api.get(LEADS)) is None
    slow = time.perf_counter() - started
    assert fast < 0.35
    assert slow >= 0.4


def test_faults_only_hit_the_matching_method(api: Api, sandbox: SandboxControl) -> None:
    sandbox.fault(path=r"/rest/v1/leads\.json", method="POST", code="611")
    read = api.get("/rest/v1/leads.json", filterType="id", filterValues="1")
    assert code_of(read) is None
    write = api.session.post(
        api.base + "/rest/v1/leads.json", json={"input": [{"email": "f@example.com"}]}, timeout=30
    ).json()
    assert code_of(write) == "611"
