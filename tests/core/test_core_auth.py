"""Access tokens: caching, renewal before expiry, re-auth on 601/602, bad credentials."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from core_helpers import (
    BASE,
    IDENTITY,
    SECRET,
    TOKEN,
    TOKEN2,
    FakeTime,
    envelope,
    failure,
    logged_text,
)
from marketo_core import MarketoAPIError, MarketoAuthError, MarketoClient, TokenManager


def token_body(token: str, expires_in: int = 3599) -> dict[str, Any]:
    return {"json": {"access_token": token, "token_type": "bearer", "expires_in": expires_in}}


def make_manager(fake_time: FakeTime, **kw: Any) -> TokenManager:
    return TokenManager(
        requests.Session(), f"{BASE}/identity", "client-id-123", SECRET,
        clock=fake_time.monotonic, sleep=fake_time.sleep, **kw,
    )


def test_token_is_fetched_once_and_cached(requests_mock: Any, fake_time: FakeTime) -> None:
    identity = requests_mock.get(IDENTITY, **token_body(TOKEN))
    manager = make_manager(fake_time)
    assert manager.token() == TOKEN
    assert manager.token() == TOKEN
    assert identity.call_count == 1
    sent = identity.last_request.qs
    assert sent["grant_type"] == ["client_credentials"]
    assert sent["client_id"] == ["client-id-123"]


def test_token_is_renewed_inside_the_margin_not_before(
    requests_mock: Any, fake_time: FakeTime
) -> None:
    identity = requests_mock.get(IDENTITY, [token_body(TOKEN, 3600), token_body(TOKEN2, 3600)])
    manager = make_manager(fake_time, renew_margin=60.0)
    assert manager.token() == TOKEN
    fake_time.advance(3600 - 61)
    assert manager.token() == TOKEN
    assert identity.call_count == 1
    fake_time.advance(2)  # now 59 s before expiry
    assert manager.token() == TOKEN2
    assert identity.call_count == 2


def test_expires_in_is_the_remaining_life(requests_mock: Any, fake_time: FakeTime) -> None:
    # A token obtained with 100 s left must be renewed after 40 s, not after an hour.
    identity = requests_mock.get(IDENTITY, [token_body(TOKEN, 100), token_body(TOKEN2, 3600)])
    manager = make_manager(fake_time, renew_margin=60.0)
    assert manager.token() == TOKEN
    fake_time.advance(39)
    assert manager.token() == TOKEN
    fake_time.advance(2)
    assert manager.token() == TOKEN2
    assert identity.call_count == 2


def test_same_token_with_short_life_is_used_until_expiry_not_refetched_each_call(
    requests_mock: Any, fake_time: FakeTime
) -> None:
    # Marketo hands back the SAME token with its remaining life when asked before expiry.
    identity = requests_mock.get(
        IDENTITY, [token_body(TOKEN, 3600), token_body(TOKEN, 30), token_body(TOKEN2, 3600)]
    )
    manager = make_manager(fake_time, renew_margin=60.0)
    manager.token()
    fake_time.advance(3570)
    assert manager.token() == TOKEN  # renewal attempt: same token, 30 s left
    for _ in range(5):
        fake_time.advance(5)
        assert manager.token() == TOKEN
    assert identity.call_count == 2
    fake_time.advance(4)  # 1 s before expiry
    assert manager.token() == TOKEN2
    assert identity.call_count == 3


def test_invalidate_forces_a_fetch_but_only_for_the_rejected_token(
    requests_mock: Any, fake_time: FakeTime
) -> None:
    identity = requests_mock.get(IDENTITY, [token_body(TOKEN), token_body(TOKEN2)])
    manager = make_manager(fake_time)
    manager.token()
    manager.invalidate("some-older-token")  # another thread already renewed: no effect
    assert manager.token() == TOKEN
    manager.invalidate(TOKEN)
    assert manager.token() == TOKEN2
    assert identity.call_count == 2


def test_concurrent_callers_share_one_fetch(requests_mock: Any, fake_time: FakeTime) -> None:
    identity = requests_mock.get(IDENTITY, **token_body(TOKEN))
    manager = make_manager(fake_time)
    results: list[str] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        results.append(manager.token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [TOKEN] * 8
    assert identity.call_count == 1


def test_bad_credentials_raise_a_clear_auth_error_without_the_secret(
    requests_mock: Any, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(
        IDENTITY,
        status_code=401,
        json={"error": "invalid_client", "error_description": "Bad client credentials"},
    )
    manager = make_manager(fake_time)
    with caplog.at_level(logging.DEBUG), pytest.raises(MarketoAuthError) as info:
        manager.token()
    text = str(info.value)
    assert "Bad client credentials" in text
    assert info.value.code == "invalid_client"
    assert SECRET not in text
    assert SECRET not in repr(info.value)
    assert "client_secret" not in text
    assert SECRET not in logged_text(caplog)


def test_unauthorized_without_a_body_is_an_auth_error(
    requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(IDENTITY, status_code=401, text="Unauthorized")
    with pytest.raises(MarketoAuthError, match="HTTP 401"):
        make_manager(fake_time).token()


def test_identity_outages_are_retried_then_reported_without_the_secret(
    requests_mock: Any, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    leaky = requests.ConnectionError(f"Max retries exceeded with url: /x?client_secret={SECRET}")
    identity = requests_mock.get(IDENTITY, [{"exc": leaky}, {"status_code": 503}, {"exc": leaky}])
    manager = make_manager(fake_time, max_attempts=3)
    with caplog.at_level(logging.DEBUG), pytest.raises(MarketoAPIError) as info:
        manager.token()
    assert identity.call_count == 3
    assert len(fake_time.sleeps) == 2
    assert "ConnectionError" in str(info.value)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None
    assert SECRET not in logged_text(caplog)
    assert "retrying" in logged_text(caplog)


def test_identity_outage_then_recovery(requests_mock: Any, fake_time: FakeTime) -> None:
    requests_mock.get(IDENTITY, [{"status_code": 502}, token_body(TOKEN)])
    assert make_manager(fake_time).token() == TOKEN


@pytest.mark.parametrize("code", ["601", "602", 601])
def test_client_reauthenticates_on_601_602_and_retries(
    requests_mock: Any, make_client: Callable[..., MarketoClient], code: str | int
) -> None:
    identity = requests_mock.get(IDENTITY, [token_body(TOKEN), token_body(TOKEN2)])
    leads = requests_mock.get(
        f"{BASE}/rest/v1/leads.json",
        [{"json": failure(code, "Access token expired")}, {"json": envelope([{"id": 1}])}],
    )
    client = make_client()
    body = client.get("/rest/v1/leads.json", {"filterType": "id", "filterValues": "1"})
    assert body["result"] == [{"id": 1}]
    assert identity.call_count == 2
    auth_headers = [r.headers["Authorization"] for r in leads.request_history]
    assert auth_headers == [f"Bearer {TOKEN}", f"Bearer {TOKEN2}"]
    # A 601/602 is not counted by Marketo, so it is refunded from our budget.
    assert client.budget.charged == 1
    assert client.calls_made == 2


def test_endless_601_gives_up_with_an_auth_error(
    requests_mock: Any, make_client: Callable[..., MarketoClient]
) -> None:
    requests_mock.get(f"{BASE}/rest/v1/leads.json", json=failure("601", "Access token invalid"))
    client = make_client()
    with pytest.raises(MarketoAuthError, match="601"):
        client.get("/rest/v1/leads.json")
    assert client.calls_made == 4  # the first call and three re-authentications


def test_token_is_sent_as_bearer_header_never_as_query_parameter(
    requests_mock: Any, client: MarketoClient
) -> None:
    leads = requests_mock.get(f"{BASE}/rest/v1/leads.json", json=envelope([]))
    client.get("/rest/v1/leads.json", {"filterType": "email", "filterValues": "a@x.com"})
    sent = leads.last_request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in sent.qs
    assert TOKEN not in sent.url


def test_other_request_failures_do_not_leak_the_secret(
    requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(
        IDENTITY, exc=requests.exceptions.InvalidHeader(f"bad header for ?client_secret={SECRET}")
    )
    with pytest.raises(MarketoAPIError) as info:
        make_manager(fake_time).token()
    assert "InvalidHeader" in str(info.value)
    assert SECRET not in str(info.value)


def test_endpoint_without_scheme_is_rejected() -> None:
    with pytest.raises(ValueError, match="endpoint must be a URL"):
        MarketoClient("123-ABC-456.mktorest.com", "id", SECRET)
