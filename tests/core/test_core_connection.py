"""The connection settings the tap and the target share, and the client built from them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from core_helpers import BASE, SECRET
from marketo_core.connection import (
    DEFAULTS,
    REQUIRED,
    client_from_config,
    connection_errors,
    connection_properties,
    with_connection_settings,
)

CONFIG = {"endpoint": BASE, "client_id": "client-id-4711", "client_secret": SECRET}


def test_a_config_with_only_the_credentials_gets_marketos_limits() -> None:
    with client_from_config(CONFIG, user_agent="tap-x/1") as client:
        assert client.base_url == BASE
        assert client.identity_url == f"{BASE}/identity"
        assert client.gate.max_in_flight == DEFAULTS["max_concurrency"] == 5
        assert client.limiter.max_calls == DEFAULTS["rate_limit_calls"] == 100
        assert client.limiter.window == DEFAULTS["rate_limit_window_seconds"] == 20
        assert client.limiter.headroom == DEFAULTS["rate_limit_headroom"] == 10
        assert client.budget.max_daily_calls is None  # no max_daily_calls: no budget
        assert client.user_agent == "tap-x/1"


def test_every_connection_setting_reaches_the_client() -> None:
    config = {**CONFIG, "identity": "https://sj.example.com/identity/", "max_concurrency": 2,
              "rate_limit_calls": 50, "rate_limit_window_seconds": 10,
              "rate_limit_headroom": 0, "max_daily_calls": 1234}
    with client_from_config(config, user_agent="t") as client:
        assert client.identity_url == "https://sj.example.com/identity"
        assert client.gate.max_in_flight == 2
        assert (client.limiter.max_calls, client.limiter.window, client.limiter.headroom) == (
            50, 10.0, 0)
        assert client.budget.max_daily_calls == 1234


def test_the_client_id_is_redacted_like_the_secret() -> None:
    with client_from_config(CONFIG, user_agent="t") as client:
        text = client.redactor(f"id={CONFIG['client_id']} secret={SECRET}")
    assert CONFIG["client_id"] not in text
    assert SECRET not in text


def test_the_schema_differs_only_where_a_plugin_says_so() -> None:
    tap = connection_properties(max_daily_calls=40_000, headroom_setting=False)
    target = connection_properties()
    assert tap["max_daily_calls"]["default"] == 40_000
    assert "default" not in target["max_daily_calls"]
    # The tap's headroom is fixed, so its rate limit must leave calls above it.
    assert "rate_limit_headroom" not in tap
    assert tap["rate_limit_calls"]["minimum"] == 11
    assert target["rate_limit_headroom"]["default"] == 10
    assert target["rate_limit_calls"]["minimum"] == 1
    for name in REQUIRED:
        assert tap[name] == target[name]
    assert target["client_id"]["secret"]
    assert target["client_secret"]["secret"]


def test_connection_settings_come_first_and_are_required() -> None:
    schema = with_connection_settings(
        {"type": "object", "properties": {"start_date": {"type": ["string"]}},
         "required": ["start_date"]},
    )
    assert list(schema["properties"])[:4] == ["endpoint", "identity", "client_id",
                                              "client_secret"]
    assert list(schema["properties"])[-1] == "start_date"
    assert schema["required"] == [*REQUIRED, "start_date"]


@pytest.mark.parametrize(
    ("change", "bad"),
    [({"rate_limit_calls": 10, "rate_limit_headroom": 10}, True),
     ({"rate_limit_calls": 5}, True),  # the default headroom is 10
     ({"rate_limit_calls": 11}, False),
     ({"rate_limit_calls": 1, "rate_limit_headroom": 0}, False)],
)
def test_a_headroom_leaving_no_calls_is_an_error_naming_it(
    change: dict[str, Any], bad: bool
) -> None:
    errors = connection_errors({**CONFIG, **change})
    assert bool(errors) is bad
    if bad:
        assert "rate_limit_headroom" in errors[0]


def test_the_client_logs_through_the_plugins_logger() -> None:
    logger = logging.getLogger("plugin-under-test")
    with client_from_config(CONFIG, user_agent="t", logger=logger) as client:
        assert client.log is logger
