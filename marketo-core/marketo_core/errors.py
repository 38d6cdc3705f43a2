"""Marketo error codes, what to do about each, the exceptions we raise, and redaction.

Marketo answers almost everything with HTTP 200; failures arrive in the body as
``{"success": false, "errors": [{"code": "606", "message": "..."}]}``. The action for each
code lives in ONE table, :data:`ERROR_ACTIONS`, read through :func:`classify`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import threading
from collections.abc import Iterable

from marketo_core.timeutil import next_quota_reset


class Action(enum.Enum):
    """What a client does after a request-level Marketo error."""

    RETRY = "retry"  # exponential backoff, then the same request again
    WAIT_WINDOW = "wait_window"  # the 20 s rate window is full: wait it out, then retry
    REAUTH = "reauth"  # token invalid or expired: fetch a new one, then retry
    STOP_QUOTA = "stop_quota"  # a daily quota is spent: stop cleanly, resume after reset
    FATAL = "fatal"  # retrying cannot help: raise


ERROR_ACTIONS: dict[str, Action] = {
    "502": Action.RETRY,  # bad gateway, usually an upstream timeout
    "601": Action.REAUTH,  # access token invalid
    "602": Action.REAUTH,  # access token expired
    "603": Action.FATAL,  # access denied: API user permissions or IP allow-list
    "604": Action.RETRY,  # request timed out inside Marketo
    "605": Action.FATAL,  # HTTP method not supported: a bug on our side
    "606": Action.WAIT_WINDOW,  # 100 calls / 20 s, shared by every integration on the instance
    "607": Action.STOP_QUOTA,  # daily call quota, resets 00:00 US Central
    "608": Action.RETRY,  # API temporarily unavailable
    "609": Action.FATAL,  # invalid JSON
    "610": Action.FATAL,  # resource not found
    "611": Action.RETRY,  # system error
    "612": Action.FATAL,  # invalid content type
    "613": Action.FATAL,  # invalid multipart request
    "614": Action.RETRY,  # invalid subscription: usually transient, so retried a few times only
    "615": Action.RETRY,  # 10 calls in flight per instance
    "701": Action.FATAL,
    "702": Action.FATAL,  # no data: callers that expect it pass raise_on and catch
    "703": Action.FATAL,  # feature not enabled on the subscription
    "704": Action.FATAL,  # bad date
    "709": Action.FATAL,  # business rule violation
    "713": Action.RETRY,  # transient error
    "719": Action.RETRY,  # lock wait timeout
    "1016": Action.RETRY,  # too many bulk imports (2 running, 10 queued)
    "1019": Action.RETRY,  # import in progress
    "1022": Action.RETRY,  # object in use
    # Bulk export: "Too many jobs in queue" is retried; "Export daily quota exceeded" stops;
    # "Job already queued" is success in disguise. classify() reads the message to decide.
    "1029": Action.RETRY,
}

# Retry caps tighter than the client's max_retries, for codes that rarely clear up.
RETRY_LIMITS: dict[str, int] = {"614": 3}

# Failures Marketo does not count against the daily quota (the starred rows of its table).
UNCOUNTED_CODES: frozenset[str] = frozenset({"601", "602", "604", "605", "608", "611"})


def classify(code: str | int, message: str = "") -> Action:
    """The action for a request-level error code (string or int) and its message."""
    key = str(code).strip()
    if key == "1029":
        text = message.lower()
        if "quota" in text:
            return Action.STOP_QUOTA
        if "already queued" in text:
            # Retrying would only repeat the answer; the caller treats the job as enqueued.
            return Action.FATAL
        return Action.RETRY
    action = ERROR_ACTIONS.get(key)
    if action is not None:
        return action
    return Action.FATAL


def is_job_already_queued(error: BaseException) -> bool:
    """True for the 1029 a bulk enqueue gets when the job is queued or running already."""
    return (
        isinstance(error, MarketoError)
        and error.code == "1029"
        and "already queued" in error.message.lower()
    )


# --- redaction ---------------------------------------------------------------------------

_REDACTED = "***"
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"((?:access_token|client_secret)=)[^&\s'\"]+", re.I), r"\1" + _REDACTED),
    (
        re.compile(r"(['\"](?:access_token|client_secret)['\"]\s*:\s*['\"])[^'\"]*", re.I),
        r"\1" + _REDACTED,
    ),
    (re.compile(r"(Bearer\s+)[^\s'\",]+", re.I), r"\1" + _REDACTED),
)


def scrub(text: str) -> str:
    """Remove anything shaped like a credential (``access_token=..``, ``Bearer ..``)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redactor:
    """Scrubs the client secret and every access token seen from text bound for logs.

    Marketo identity takes the client secret in the query string, so URLs, exception
    messages from requests/urllib3 and debug logs can all carry it.
    """

    _MIN_SECRET_LENGTH = 4  # shorter values would mangle ordinary text

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < self._MIN_SECRET_LENGTH:
            return
        with self._lock:
            if secret not in self._secrets:
                # Longest first, so a secret containing another is replaced whole.
                self._secrets = tuple(
                    sorted((*self._secrets, secret), key=len, reverse=True)
                )

    def __call__(self, text: object) -> str:
        return self.redact(text)

    def redact(self, text: object) -> str:
        result = text if isinstance(text, str) else str(text)
        for secret in self._secrets:
            result = result.replace(secret, _REDACTED)
        return scrub(result)

    def logging_filter(self) -> RedactingFilter:
        return RedactingFilter(self)


class RedactingFilter(logging.Filter):
    """Rewrites log records through a :class:`Redactor` (urllib3 logs full request lines)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging
            return True
        cleaned = self.redactor.redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


# --- exceptions --------------------------------------------------------------------------


def _endpoint_without_query(endpoint: str | None) -> str | None:
    # Query strings can hold client_secret (identity) or a legacy access_token.
    if endpoint is None:
        return None
    return endpoint.split("?", 1)[0]


class MarketoError(Exception):
    """Base of every error raised by marketo_core. ``str()`` never carries a credential."""

    def __init__(
        self,
        message: str = "",
        *,
        code: str | int | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.code: str | None = None if code is None else str(code)
        self.message: str = scrub(str(message))
        self.request_id: str | None = request_id
        self.endpoint: str | None = _endpoint_without_query(endpoint)
        super().__init__(self.message)

    def _details(self) -> list[str]:
        details = []
        if self.endpoint:
            details.append(self.endpoint)
        if self.request_id:
            details.append(f"requestId={self.request_id}")
        return details

    def __str__(self) -> str:
        head = f"[{self.code}] {self.message}" if self.code else self.message
        details = self._details()
        return f"{head} ({', '.join(details)})" if details else head

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class MarketoAPIError(MarketoError):
    """A request-level failure: a fatal code, or a retryable one after retries ran out."""


class MarketoAuthError(MarketoError):
    """Identity refused the credentials (HTTP 401 / OAuth ``error`` body) or kept failing."""


class MarketoHTTPError(MarketoError):
    """An HTTP-level failure: 413 body too large, 414 URI too long, 404 from file.json..."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int,
        code: str | int | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.status = status
        super().__init__(
            message, code=code if code is not None else str(status),
            request_id=request_id, endpoint=endpoint,
        )


class DownloadIntegrityError(MarketoError):
    """A downloaded file does not match the size or checksum Marketo reported."""


class QuotaExhausted(MarketoError):  # noqa: N818 - public name callers use
    """A daily limit is spent: stop cleanly and resume after ``resets_at`` (00:00 Central)."""

    default_reason = "a Marketo daily limit is exhausted"

    def __init__(
        self,
        message: str = "",
        *,
        reason: str | None = None,
        resets_at: dt.datetime | None = None,
        code: str | int | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.reason: str = reason or self.default_reason
        self.resets_at: dt.datetime = resets_at or next_quota_reset()
        super().__init__(
            message or self.reason, code=code, request_id=request_id, endpoint=endpoint
        )

    def _details(self) -> list[str]:
        return [*super()._details(), f"resets at {self.resets_at.isoformat()}"]


class DailyQuotaExceeded(QuotaExhausted):
    """607: the instance's daily REST call quota is spent (shared by all integrations)."""

    default_reason = "Marketo daily API call quota reached (607)"


class CallBudgetExhausted(QuotaExhausted):
    """Our own ``max_daily_calls`` would be exceeded by the next call."""

    default_reason = "max_daily_calls budget reached"


class ExportQuotaExceeded(QuotaExhausted):
    """1029: the daily bulk export quota (500 MB of file bytes by default) is spent."""

    default_reason = "Marketo daily bulk export quota reached (1029)"


class ExportJobFailed(MarketoError):  # noqa: N818 - public name callers use
    """A bulk export ended Failed or Cancelled."""


class ExportJobNotFound(ExportJobFailed):
    """Marketo does not know the ``exportId`` (1003 or 610 on its status or enqueue). An
    export job is visible only to the API user that created it (docs/MARKETO.md section
    9): a job resumed from state after the credentials changed to another API user is
    such a job. Nothing can be read from it: export again."""


# What Marketo answers a status or enqueue call for an exportId it does not show the caller.
EXPORT_JOB_NOT_FOUND_CODES: frozenset[str] = frozenset({"1003", "610"})


class ExportJobTimeout(MarketoError):  # noqa: N818 - public name callers use
    """A bulk export did not reach the wanted state within the job's timeout."""


class ExportFileGone(MarketoError):  # noqa: N818 - public name callers use
    """The job says Completed but file.json answers 404: the file expired; export again."""


class ImportJobFailed(MarketoError):  # noqa: N818 - public name callers use
    """A bulk import ended Failed (a bad file, not bad rows: those come back as rows)."""


class ImportJobTimeout(ImportJobFailed):
    """A bulk import did not finish within the job's timeout."""


QUOTA_ERRORS: dict[str, type[QuotaExhausted]] = {
    "607": DailyQuotaExceeded,
    "1029": ExportQuotaExceeded,
}
