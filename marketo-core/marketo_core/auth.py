"""OAuth client-credentials tokens from Marketo's identity service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from marketo_core.errors import MarketoAPIError, MarketoAuthError, MarketoHTTPError, Redactor
from marketo_core.limits import retry_delays

_LOG = logging.getLogger("marketo_core.auth")

# Identity is outside the envelope: a healthy answer is a bare OAuth token document.
_OAUTH_PATH = "/oauth/token"


def identity_token_url(identity_url: str) -> str:
    base = identity_url.rstrip("/")
    if base.endswith(_OAUTH_PATH):
        return base
    return base + _OAUTH_PATH


class TokenManager:
    """Caches the access token and renews it ``renew_margin`` seconds before it expires.

    Marketo answers a token request made before expiry with the SAME token and its
    remaining life (``expires_in``), so a token cannot be renewed early once inside the
    margin: it is then used until just before it expires, and 601/602 re-auth covers races.
    """

    _LAST_SECOND_MARGIN = 1.0

    def __init__(  # noqa: PLR0917 - positional order is the documented public signature
        self,
        session: requests.Session,
        identity_url: str,
        client_id: str,
        client_secret: str,
        renew_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Redactor | None = None,
        logger: logging.Logger | None = None,
        user_agent: str | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise MarketoAuthError("client_id and client_secret are required")
        self._session = session
        self._url = identity_token_url(identity_url)
        self._client_id = client_id
        self._client_secret = client_secret
        self.renew_margin = float(renew_margin)
        self._clock = clock
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self.redactor = redactor or Redactor()
        self.redactor.add(client_secret)
        self._log = logger or _LOG
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0

    @property
    def endpoint(self) -> str:
        # Only the path: the query string of a token request carries the client secret.
        return "GET " + urlsplit(self._url).path

    def token(self) -> str:
        """A valid access token, fetched when missing or inside the renewal margin."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token; pass the rejected one so that concurrent callers that
        hit 601/602 together trigger one fetch, not one each."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._renew_at = 0.0

    @property
    def expires_in(self) -> float:
        """Seconds of life left on the cached token (0 when there is none)."""
        with self._lock:
            if self._token is None:
                return 0.0
            return max(0.0, self._expires_at - self._clock())

    def _fetch(self) -> None:
        previous = self._token
        started = self._clock()
        body = self._request_token()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MarketoAuthError(
                "identity response carried no access_token", endpoint=self.endpoint
            )
        self.redactor.add(token)
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        self._token = token
        # expires_in is the REMAINING life, counted from when the request was sent.
        self._expires_at = started + expires_in
        self._renew_at = self._expires_at - self.renew_margin
        if token == previous and self._renew_at <= self._clock():
            self._renew_at = self._expires_at - self._LAST_SECOND_MARGIN
            self._log.debug(
                "Marketo returned the same token with %.0f s left; using it until expiry",
                expires_in,
            )
        else:
            self._log.debug("Fetched a Marketo access token valid for %.0f s", expires_in)

    def _request_token(self) -> dict[str, Any]:
        params = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        headers = {"Accept": "application/json"}
        if self._user_agent:
            headers["User-Agent"] = self._user_agent
        delays = retry_delays(max_value=30.0)
        for attempt in range(1, self._max_attempts + 1):
            last_attempt = attempt == self._max_attempts
            try:
                resp = self._session.get(
                    self._url, params=params, headers=headers, timeout=self._timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}: {self.redactor(exc)}"
                if last_attempt:
                    raise MarketoAPIError(
                        f"could not reach Marketo identity: {problem}", endpoint=self.endpoint
                    ) from None
                self._pause(delays, attempt, problem)
                continue
            except requests.RequestException as exc:
                # Anything else requests raises may quote the URL, client_secret included.
                raise MarketoAPIError(
                    f"Marketo identity request failed: {type(exc).__name__}: "
                    f"{self.redactor(exc)}",
                    endpoint=self.endpoint,
                ) from None
            if resp.status_code >= 500:
                if last_attempt:
                    raise MarketoHTTPError(
                        f"Marketo identity answered HTTP {resp.status_code}",
                        status=resp.status_code,
                        endpoint=self.endpoint,
                    )
                self._pause(delays, attempt, f"HTTP {resp.status_code}")
                continue
            return self._parse(resp)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, delays: Iterator[float], attempt: int, problem: str) -> None:
        wait = next(delays)
        self._log.warning(
            "Marketo identity failed (%s) on attempt %d/%d; retrying in %.1f s",
            problem, attempt, self._max_attempts, wait,
        )
        self._sleep(wait)

    def _parse(self, resp: requests.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            description = body.get("error_description") or body["error"]
            raise MarketoAuthError(
                f"Marketo identity refused the credentials: {self.redactor(description)}",
                code=str(body["error"]),
                endpoint=self.endpoint,
            )
        if resp.status_code in (401, 403):
            raise MarketoAuthError(
                f"Marketo identity refused the credentials (HTTP {resp.status_code})",
                code=str(resp.status_code),
                endpoint=self.endpoint,
            )
        if resp.status_code != 200 or not isinstance(body, dict):
            raise MarketoAuthError(
                f"unexpected answer from Marketo identity: HTTP {resp.status_code}, "
                f"content type {resp.headers.get('Content-Type', 'unknown')!r}",
                code=str(resp.status_code),
                endpoint=self.endpoint,
            )
        return body

