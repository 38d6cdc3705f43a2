"""The error table, classify(), the exceptions' text and redaction."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from core_helpers import SECRET, TOKEN
from marketo_core import (
    ERROR_ACTIONS,
    Action,
    CallBudgetExhausted,
    DailyQuotaExceeded,
    ExportQuotaExceeded,
    MarketoAPIError,
    MarketoError,
    MarketoHTTPError,
    QuotaExhausted,
    Redactor,
    classify,
    is_job_already_queued,
)
from marketo_core.errors import UNCOUNTED_CODES, RedactingFilter

EXPECTED = {
    "502": Action.RETRY, "604": Action.RETRY, "608": Action.RETRY, "611": Action.RETRY,
    "713": Action.RETRY, "719": Action.RETRY, "614": Action.RETRY, "615": Action.RETRY,
    "606": Action.WAIT_WINDOW,
    "601": Action.REAUTH, "602": Action.REAUTH,
    "607": Action.STOP_QUOTA,
    "603": Action.FATAL, "605": Action.FATAL, "609": Action.FATAL, "610": Action.FATAL,
    "612": Action.FATAL, "613": Action.FATAL, "709": Action.FATAL, "701": Action.FATAL,
    "1016": Action.RETRY, "1019": Action.RETRY, "1022": Action.RETRY,
}


@pytest.mark.parametrize(("code", "action"), sorted(EXPECTED.items()))
def test_marketo_codes_map_to_the_documented_action(code: str, action: Action) -> None:
    assert ERROR_ACTIONS[code] is action
    assert classify(code) is action


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_integer_codes_classify_like_their_string(code: str) -> None:
    assert classify(int(code)) is classify(code)


@pytest.mark.parametrize("code", ["705", "710", "711", "799", "1003", "999999", ""])
def test_unknown_and_other_7xx_codes_are_fatal(code: str) -> None:
    assert classify(code) is Action.FATAL


@pytest.mark.parametrize(
    ("message", "action"),
    [
        ("Export daily quota 500MB exceeded", Action.STOP_QUOTA),
        ("Export daily quota exceeded", Action.STOP_QUOTA),
        ("Too many jobs (10) in queue", Action.RETRY),
        ("Too many jobs in queue", Action.RETRY),
        ("Job already queued", Action.FATAL),
    ],
)
def test_1029_depends_on_its_message(message: str, action: Action) -> None:
    assert classify("1029", message) is action
    assert classify(1029, message) is action


def test_job_already_queued_is_recognised_for_callers() -> None:
    assert is_job_already_queued(MarketoAPIError("Job already queued", code="1029"))
    assert not is_job_already_queued(MarketoAPIError("Too many jobs in queue", code="1029"))
    assert not is_job_already_queued(ValueError("Job already queued"))


def test_calls_marketo_does_not_count_are_the_starred_codes() -> None:
    assert {"601", "602", "604", "605", "608", "611"} == UNCOUNTED_CODES


def test_error_str_carries_code_message_request_id_and_endpoint_without_query() -> None:
    err = MarketoAPIError(
        "Access denied",
        code=603,
        request_id="abc#1",
        endpoint=f"GET /identity/oauth/token?client_id=x&client_secret={SECRET}",
    )
    text = str(err)
    assert err.code == "603"
    assert "[603] Access denied" in text
    assert "requestId=abc#1" in text
    assert "GET /identity/oauth/token" in text
    assert SECRET not in text
    assert "client_secret" not in text
    assert err.endpoint == "GET /identity/oauth/token"


def test_error_messages_are_scrubbed_of_credential_patterns() -> None:
    err = MarketoError(
        f"failed url=/x?access_token={TOKEN}&client_secret={SECRET} "
        f'header Bearer {TOKEN} body {{"access_token": "{TOKEN}"}}'
    )
    assert TOKEN not in str(err)
    assert SECRET not in str(err)
    assert TOKEN not in repr(err)


def test_http_error_keeps_status() -> None:
    err = MarketoHTTPError("too long", status=414, endpoint="GET /rest/v1/leads.json")
    assert err.status == 414
    assert err.code == "414"
    assert "414" in str(err)


@pytest.mark.parametrize("cls", [DailyQuotaExceeded, CallBudgetExhausted, ExportQuotaExceeded])
def test_quota_errors_say_when_to_resume(cls: type[QuotaExhausted]) -> None:
    reset = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
    err = cls(resets_at=reset)
    assert isinstance(err, QuotaExhausted)
    assert isinstance(err, MarketoError)
    assert err.resets_at == reset
    assert err.reason
    assert "2026-03-02T06:00:00+00:00" in str(err)
    assert cls().resets_at > dt.datetime.now(dt.UTC)  # default: the next Central midnight


def test_redactor_replaces_known_secrets_and_patterns() -> None:
    redactor = Redactor([SECRET, None, "ab"])
    redactor.add(TOKEN)
    text = redactor(f"{SECRET} and {TOKEN} and access_token=zzz and ab")
    assert SECRET not in text
    assert TOKEN not in text
    assert "access_token=***" in text
    assert text.endswith("and ab")  # too short to be a secret: left alone


def test_redacting_filter_rewrites_log_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.core.redaction")
    log_filter = RedactingFilter(Redactor([SECRET]))
    logger.addFilter(log_filter)
    try:
        with caplog.at_level(logging.DEBUG, logger="test.core.redaction"):
            logger.debug('"GET /identity/oauth/token?client_secret=%s HTTP/1.1" 200', SECRET)
    finally:
        logger.removeFilter(log_filter)
    assert caplog.records
    assert SECRET not in caplog.text
