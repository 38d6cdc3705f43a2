"""MarketoClient: the one place that sends HTTP to Marketo's REST, asset and bulk APIs."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, NoReturn

import requests
import urllib3

from marketo_core.auth import TokenManager
from marketo_core.errors import (
    QUOTA_ERRORS,
    RETRY_LIMITS,
    UNCOUNTED_CODES,
    Action,
    DownloadIntegrityError,
    MarketoAPIError,
    MarketoAuthError,
    MarketoHTTPError,
    QuotaExhausted,
    Redactor,
    classify,
)
from marketo_core.limits import ConcurrencyGate, DailyBudget, RateLimiter, retry_delays
from marketo_core.timeutil import format_marketo_datetime, next_quota_reset

_LOG = logging.getLogger("marketo_core.client")

# Marketo rejects request URIs over 8 KB with HTTP 414; stay a little under it.
MAX_URL_LENGTH = 8000
# Asset API browse calls take at most 200 records per page.
MAX_ASSET_PAGE = 200
# urllib3 logs each request line, including identity's client_secret query parameter.
_SCRUBBED_LOGGERS = ("urllib3.connectionpool",)
# A 601/602 right after a fresh token means the credentials themselves are the problem.
_MAX_REAUTHS = 3

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# A download that drops midway surfaces as any of these while its body is read.
_DROP_ERRORS: tuple[type[BaseException], ...] = (
    *_TRANSPORT_ERRORS,
    http.client.IncompleteRead,
    ConnectionError,  # the builtin: resets and aborts raised straight from the socket
)
# Streamed answers shorter than this are read to check for an error envelope.
_SNIFF_LIMIT = 65536
_SNIFF_CHUNK = 8192


class MarketoClient:
    """Authentication, envelope checks, retries and Marketo's limits around every call.

    ``endpoint`` is the REST base, ``https://<munchkin-id>.mktorest.com`` (a trailing
    ``/`` or ``/rest`` is tolerated); paths passed to the methods start with ``/rest``,
    ``/bulk`` or ``/identity``.
    """

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        client_secret: str,
        *,
        identity: str | None = None,
        max_concurrency: int = 5,
        rate_limit_calls: int = 100,
        rate_limit_window: float = 20.0,
        rate_limit_headroom: int = 10,
        max_daily_calls: int | None = None,
        token_renew_margin: float = 60.0,
        max_retries: int = 8,
        timeout: tuple[float, float] = (10.0, 300.0),
        session: requests.Session | None = None,
        user_agent: str = "marketo-crm",
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry_backoff_factor: float = 1.0,
        retry_backoff_max: float = 60.0,
    ) -> None:
        base = (endpoint or "").strip().rstrip("/")
        if not base:
            raise ValueError("endpoint is required, e.g. https://123-ABC-456.mktorest.com")
        if not base.startswith(("https://", "http://")):
            raise ValueError(
                f"endpoint must be a URL such as https://123-ABC-456.mktorest.com, got {base!r}"
            )
        if base.endswith("/rest"):
            base = base[: -len("/rest")]
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.base_url = base
        self.identity_url = (identity or f"{base}/identity").strip().rstrip("/")
        self.max_retries = max_retries
        self.timeout = timeout
        self.user_agent = user_agent
        self.retry_backoff_factor = retry_backoff_factor
        self.retry_backoff_max = retry_backoff_max
        self.log = logger or _LOG
        self._sleep = sleep
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        self.redactor = Redactor([client_secret])
        self.gate = ConcurrencyGate(max_concurrency)
        self.limiter = RateLimiter(
            rate_limit_calls, rate_limit_window, rate_limit_headroom,
            clock=clock, sleep=sleep, logger=self.log,
        )
        self.auth = TokenManager(
            self.session, self.identity_url, client_id, client_secret,
            renew_margin=token_renew_margin, clock=clock, timeout=timeout, sleep=sleep,
            redactor=self.redactor, logger=self.log, user_agent=user_agent,
        )
        self.budget = DailyBudget(max_daily_calls, self.usage_today, logger=self.log)
        self._count_lock = threading.Lock()
        self._calls_made = 0
        self._log_filter = self.redactor.logging_filter()
        for name in _SCRUBBED_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for name in _SCRUBBED_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)
        if self._own_session:
            self.session.close()

    def __enter__(self) -> MarketoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def calls_made(self) -> int:
        """API calls sent by this client (identity calls excluded, retries included)."""
        with self._count_lock:
            return self._calls_made

    # --- JSON calls ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        raise_on: frozenset[str] | set[str] | tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Send one call and return its envelope once ``success`` is true.

        ``raise_on`` lists error codes the caller handles itself: they raise
        MarketoAPIError at once instead of following the ERROR_ACTIONS table.
        """
        result = self._call(
            method, path, params=params, json=json, data=data, files=files,
            headers=headers, stream=False, raise_on=frozenset(str(c) for c in raise_on),
        )
        assert isinstance(result, dict)
        return result

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
    ) -> dict[str, Any]:
        return self.request("POST", path, json=json, params=params, data=data, files=files)

    def query(self, path: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """A read; sent as POST ``?_method=GET`` with a form body when the URL would pass
        Marketo's 8 KB URI limit (long ``filterValues``/``fields`` lists)."""
        encoded = encode_params(params)
        prepared = requests.PreparedRequest()
        prepared.prepare_url(self._url(path), encoded)
        if len(prepared.url or "") <= MAX_URL_LENGTH:
            return self.request("GET", path, params=encoded)
        self.log.debug(
            "URL for %s would be %d chars; sending POST with _method=GET",
            path, len(prepared.url or ""),
        )
        return self.request("POST", path, params={"_method": "GET"}, data=encoded)

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        json: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield each page's envelope, following ``nextPageToken``.

        Endpoints with ``moreResult`` go on while it is true, EMPTY pages included (the
        activity endpoints return those). Endpoints without it go on while a token comes
        back with records. Compound-key reads (``method="POST"`` with a JSON body) are
        sent with ``?_method=GET`` and carry the token inside the body.
        """
        method = method.upper()
        base_params = dict(params or {})
        if json is not None:
            if method != "POST":
                raise ValueError("a JSON-body read must use method='POST'")
            base_params.setdefault("_method", "GET")
        elif method != "GET":
            raise ValueError("paginate reads with GET, or POST with a JSON body")
        token: str | None = None
        while True:
            if json is not None:
                body = dict(json)
                if token is not None:
                    body["nextPageToken"] = token
                page = self.request("POST", path, params=base_params, json=body)
            else:
                page_params = dict(base_params)
                if token is not None:
                    page_params["nextPageToken"] = token
                page = self.query(path, page_params)
            yield page
            records = page.get("result") or []
            next_token = page.get("nextPageToken") or None
            if "moreResult" in page:
                if not page["moreResult"]:
                    return
                if next_token is None:
                    self.log.warning(
                        "%s said moreResult=true without a nextPageToken; stopping", path
                    )
                    return
            elif next_token is None or not records:
                return
            if next_token == token and not records:
                raise MarketoAPIError(
                    "Marketo returned the same nextPageToken with no records; "
                    "refusing to loop forever",
                    endpoint=f"{method} {path}",
                    request_id=page.get("requestId"),
                )
            token = next_token

    def iter_results(
        self, path: str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> Iterator[dict[str, Any]]:
        """The records of every page of :meth:`paginate`."""
        for page in self.paginate(path, params, **kw):
            yield from page.get("result") or []

    def browse_assets(
        self, path: str, params: Mapping[str, Any] | None = None, *, max_return: int = 200
    ) -> Iterator[dict[str, Any]]:
        """Asset API offset paging. The end is a success without ``result`` and the warning
        "No assets found for the given search criteria.", or a short page."""
        if not 1 <= max_return <= MAX_ASSET_PAGE:
            raise ValueError(f"max_return must be 1..{MAX_ASSET_PAGE}, got {max_return}")
        base_params = dict(params or {})
        offset = int(base_params.pop("offset", 0) or 0)
        while True:
            page = self.query(path, {**base_params, "offset": offset, "maxReturn": max_return})
            records = page.get("result") or []
            if not records:
                if not _has_no_assets_warning(page):
                    self.log.debug("%s returned an empty page at offset %d", path, offset)
                return
            yield from records
            if len(records) < max_return:
                return
            offset += len(records)

    def usage_today(self) -> int:
        """Calls counted today against the instance's daily quota (all integrations)."""
        body = self.get("/rest/v1/stats/usage.json")
        total = 0
        for day in body.get("result") or []:
            try:
                total += int(day.get("total") or 0)
            except (TypeError, ValueError, AttributeError):
                continue
        return total

    # --- raw responses and files ---------------------------------------------------------

    def open_stream(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """A streamed response (bulk ``file.json``); the caller reads and closes it.

        The concurrency slot is released once the headers arrive: bulk files are served
        from storage, and holding a slot for a long download would starve REST calls.
        """
        result = self._call(
            method, path, params=None, json=None, data=None, files=None,
            headers=headers, stream=True, raise_on=frozenset(),
        )
        assert isinstance(result, requests.Response)
        return result

    def download(
        self,
        path: str,
        fileobj: BinaryIO,
        *,
        expected_size: int | None = None,
        expected_checksum: str | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 1 << 20,
    ) -> int:
        """Stream ``GET path`` into ``fileobj``; resume drops with ``Range``; verify.

        Returns the bytes written. ``expected_checksum`` is Marketo's ``"sha256:<hex>"``.
        """
        hasher, expected_digest = _checksum_hasher(expected_checksum)
        endpoint = f"GET {path.split('?', 1)[0]}"
        delays = retry_delays(self.retry_backoff_factor, self.retry_backoff_max)
        written = 0
        drops = 0
        while True:
            # Content-Encoding would make Range offsets refer to compressed bytes.
            headers = {"Accept-Encoding": "identity"}
            if written:
                headers["Range"] = f"bytes={written}-"
            try:
                resp = self.open_stream("GET", path, headers=headers)
            except MarketoHTTPError as exc:
                if exc.status == 416 and written and written == expected_size:
                    break  # everything arrived; only the end of the connection was lost
                raise
            problem: str | None = None
            try:
                skip = 0
                if written and resp.status_code != 206:
                    # The server ignored Range: read from the start, drop what we hold.
                    self.log.info("%s ignored Range; re-reading %d bytes", endpoint, written)
                    skip = written
                elif written:
                    start = _content_range_start(resp.headers.get("Content-Range"))
                    if start is not None and start != written:
                        raise MarketoHTTPError(
                            f"asked for bytes from {written}, got "
                            f"Content-Range {resp.headers.get('Content-Range')!r}",
                            status=resp.status_code, endpoint=endpoint,
                        )
                announced = _int_or_none(resp.headers.get("Content-Length"))
                received = 0
                for chunk in resp.iter_content(chunk_size):
                    if not chunk:
                        continue
                    received += len(chunk)
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]  # noqa: PLW2901
                        skip = 0
                    fileobj.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written)
                if announced is not None and received < announced:
                    problem = f"body ended at {received} of {announced} bytes"
                elif expected_size is not None and written < expected_size:
                    problem = f"body ended at {written} of {expected_size} bytes"
            except _DROP_ERRORS as exc:
                problem = f"{type(exc).__name__}: {self.redactor(exc)}"
            finally:
                resp.close()
            if problem is None:
                break
            drops += 1
            if drops > self.max_retries:
                raise MarketoAPIError(
                    f"download kept dropping ({problem}); gave up after {drops} attempts "
                    f"with {written} bytes written",
                    endpoint=endpoint,
                )
            wait = next(delays)
            self.log.warning(
                "Download %s dropped after %d bytes (%s); resuming with Range in %.1f s "
                "(retry %d/%d)",
                endpoint, written, problem, wait, drops, self.max_retries,
            )
            self._sleep(wait)
        if expected_size is not None and written != expected_size:
            raise DownloadIntegrityError(
                f"downloaded {written} bytes, Marketo announced {expected_size}",
                endpoint=endpoint,
            )
        if hasher is not None and hasher.hexdigest().lower() != expected_digest:
            raise DownloadIntegrityError(
                f"checksum mismatch: got {hasher.name}:{hasher.hexdigest()}, "
                f"expected {expected_checksum}",
                endpoint=endpoint,
            )
        return written

    # --- the one request loop -------------------------------------------------------------
    #
    # Every call takes the same steps, each a method below: charge the daily budget and
    # take a token; send inside a concurrency slot and the rate window; check the HTTP
    # status; open the envelope; act on a failure by the error table (retry, wait for
    # the window, renew the token, stop for the quota, or raise). A step that decides to
    # try again waits (or gives up) in _RetryState.again and raises the _TryAgain it returns.

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _count_call(self) -> None:
        with self._count_lock:
            self._calls_made += 1

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        files: Any,
        headers: Mapping[str, str] | None,
        stream: bool,
        raise_on: frozenset[str],
    ) -> dict[str, Any] | requests.Response:
        method = method.upper()
        call = _Call(
            method=method, endpoint=f"{method} {path.split('?', 1)[0]}", url=self._url(path),
            query=encode_params(params), json=json, data=data, files=files,
            headers=dict(headers or {}), stream=stream, raise_on=raise_on,
            positions=_file_positions(files),
        )
        retry = _RetryState(self, call.endpoint)
        while True:
            try:
                return self._attempt(call, retry)
            except _TryAgain:
                continue

    def _attempt(self, call: _Call, retry: _RetryState) -> dict[str, Any] | requests.Response:
        """One try of a call: its result, or an error, or _TryAgain after the wait."""
        token = self._authorize()
        resp = self._send(call, token, retry)
        self._check_http_status(call, resp, retry)
        result = self._read_streamed(resp, retry) if call.stream else self._read_json(call, resp)
        if isinstance(result, _EnvelopeError):
            self._act_on_error(call, result, token, retry)
        return result

    def _authorize(self) -> str:
        """Charge the daily budget, then the access token to send (renewed near expiry)."""
        # The budget may itself call Marketo (stats/usage): never charge inside the gate.
        self.budget.charge()
        return self.auth.token()

    def _send(self, call: _Call, token: str, retry: _RetryState) -> requests.Response:
        """Send inside a concurrency slot and the rate window; a transport failure is
        retried (the backoff happens outside the gate)."""
        send_headers = {"User-Agent": self.user_agent, "Authorization": f"Bearer {token}"}
        if not call.stream:
            send_headers["Accept"] = "application/json"
        send_headers.update(call.headers)
        _rewind(call.positions)
        problem = ""
        with self.gate:
            # The rate slot is taken once the call holds a concurrency slot and is
            # recorded right before it is sent: Marketo counts a call when it arrives,
            # so a start recorded before waiting at the gate would sit in our window
            # earlier than in Marketo's and let later calls crowd the same 20 s.
            # Waiting for the window while holding a slot cannot deadlock: the limiter
            # waits only for time to pass.
            self.limiter.acquire()
            self._count_call()
            try:
                return self.session.request(
                    call.method, call.url, params=call.query, json=call.json,
                    data=call.data, files=call.files, headers=send_headers,
                    timeout=self.timeout, stream=call.stream,
                )
            except _TRANSPORT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {self.redactor(exc)}"
        raise retry.again(None, problem, transport=True)

    def _check_http_status(
        self, call: _Call, resp: requests.Response, retry: _RetryState
    ) -> None:
        """5xx is retried; any other 4xx raises MarketoHTTPError (Marketo's own errors
        come with HTTP 200 and are read from the envelope)."""
        status = resp.status_code
        if status >= 500:
            snippet = _snippet(resp, self.redactor) if not call.stream else ""
            resp.close()
            raise retry.again(str(status), f"HTTP {status} {snippet}".strip(), http_status=status)
        if status >= 400:
            snippet = _snippet(resp, self.redactor)
            resp.close()
            raise MarketoHTTPError(
                _http_error_text(status, snippet), status=status, endpoint=call.endpoint
            )

    def _read_json(self, call: _Call, resp: requests.Response) -> dict[str, Any] | _EnvelopeError:
        """The envelope of a JSON call, or its error."""
        body = _json_or_none(resp)
        if not isinstance(body, dict):
            raise MarketoAPIError(
                f"expected a JSON object from Marketo, got HTTP {resp.status_code} with "
                f"Content-Type {resp.headers.get('Content-Type', 'unknown')!r}: "
                f"{_snippet(resp, self.redactor)!r}",
                endpoint=call.endpoint,
            )
        if not _is_failure(body):
            return body
        return _EnvelopeError.of(body, self.redactor)

    def _read_streamed(
        self, resp: requests.Response, retry: _RetryState
    ) -> requests.Response | _EnvelopeError:
        """A streamed answer for the caller to read, or the error envelope it turned out
        to be (file.json answers a token problem with JSON, not always labelled so)."""
        if not _may_be_envelope(resp):
            return resp
        data, dropped = _read_small_body(resp)
        if dropped is not None:
            if data.lstrip()[:1] not in (b"", b"{"):
                # Part of a file, cut short: the caller meets the drop where it reads,
                # after the bytes that did arrive (download() resumes from there with Range).
                return resp
            # Nothing usable, or part of what may be an error envelope: ask again.
            resp.close()
            raise retry.again(
                None, f"{type(dropped).__name__}: {self.redactor(dropped)}", transport=True
            )
        if data.lstrip()[:1] != b"{":
            return resp
        body = _json_or_none(resp)
        if not _is_failure(body):
            return resp  # the body read is replayed, so the caller can still read it
        resp.close()
        return _EnvelopeError.of(body, self.redactor)

    def _act_on_error(
        self, call: _Call, error: _EnvelopeError, token: str, retry: _RetryState
    ) -> NoReturn:
        """Follow the error table (errors.ERROR_ACTIONS) for a success:false envelope."""
        code, message = error.code, error.message
        if code in call.raise_on:
            raise error.api_error(call.endpoint)
        if code in UNCOUNTED_CODES:
            self.budget.refund()
        action = classify(code, message)
        if action is Action.REAUTH:
            self._renew_token(call, error, token, retry)
        if action is Action.STOP_QUOTA:
            error_type = QUOTA_ERRORS.get(code, QuotaExhausted)
            raise error_type(
                message, code=code, request_id=error.request_id, endpoint=call.endpoint,
                resets_at=next_quota_reset(),
            )
        if action is Action.FATAL:
            raise error.api_error(call.endpoint)
        raise retry.again(
            code, message, request_id=error.request_id,
            wait_window=action is Action.WAIT_WINDOW,
        )

    def _renew_token(
        self, call: _Call, error: _EnvelopeError, token: str, retry: _RetryState
    ) -> NoReturn:
        """601/602: drop the token and try again with a fresh one, a few times at most."""
        retry.reauths += 1
        if retry.reauths > _MAX_REAUTHS:
            raise MarketoAuthError(
                f"Marketo kept rejecting fresh access tokens: {error.message}",
                code=error.code, request_id=error.request_id, endpoint=call.endpoint,
            )
        self.log.info(
            "Marketo %s on %s (%s); renewing the access token and retrying",
            error.code, call.endpoint, error.message,
        )
        self.auth.invalidate(token)
        raise _TryAgain


class _TryAgain(Exception):  # noqa: N818 - control flow inside the request loop, never seen
    """Raised by a step of the request loop once the wait before the next try is over;
    the loop in ``_call`` catches it and tries again."""


@dataclass(frozen=True)
class _Call:
    """One call as every try of it sends it."""

    method: str
    endpoint: str  # "METHOD /path" for messages, never the query (it may hold a secret)
    url: str
    query: dict[str, Any] | None
    json: Any
    data: Any
    files: Any
    headers: dict[str, str]
    stream: bool
    raise_on: frozenset[str]
    positions: list[tuple[Any, int]]  # where upload files start: each try sends them whole


@dataclass(frozen=True)
class _EnvelopeError:
    """The first error of a ``success: false`` envelope."""

    code: str
    message: str
    request_id: str | None

    @classmethod
    def of(cls, body: Mapping[str, Any], redactor: Redactor) -> _EnvelopeError:
        code, message = _first_error(body)
        return cls(code, redactor(message), body.get("requestId"))

    def api_error(self, endpoint: str) -> MarketoAPIError:
        return MarketoAPIError(
            self.message, code=self.code, request_id=self.request_id, endpoint=endpoint
        )


class _RetryState:
    """Counts the retries and token renewals of one call and does the waiting (or gives
    up)."""

    def __init__(self, client: MarketoClient, endpoint: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.retries = 0
        self.reauths = 0
        self.by_code: collections.Counter[str] = collections.Counter()
        self.delays = retry_delays(client.retry_backoff_factor, client.retry_backoff_max)

    def again(
        self,
        code: str | None,
        problem: str,
        *,
        request_id: str | None = None,
        wait_window: bool = False,
        transport: bool = False,
        http_status: int | None = None,
    ) -> _TryAgain:
        """Wait before the next try and return _TryAgain for the caller to raise, or raise
        the error that ends the call once its retries (or the code's own cap in
        RETRY_LIMITS) are spent."""
        client = self.client
        limit = client.max_retries
        if code is not None:
            self.by_code[code] += 1
            limit = min(limit, RETRY_LIMITS.get(code, limit))
            over = self.by_code[code] > limit or self.retries >= client.max_retries
        else:
            over = self.retries >= client.max_retries
        if over:
            attempts = self.retries + 1
            text = f"{problem} (gave up after {attempts} attempts)"
            if http_status is not None:
                raise MarketoHTTPError(text, status=http_status, endpoint=self.endpoint)
            if transport:
                text = f"could not reach Marketo: {text}"
            raise MarketoAPIError(text, code=code, request_id=request_id, endpoint=self.endpoint)
        self.retries += 1
        label = code or "connection failure"
        if wait_window:
            window = client.limiter.window
            client.log.warning(
                "Marketo %s on %s (%s); waiting %.0f s for the rate window (retry %d/%d)",
                label, self.endpoint, problem, window, self.retries, client.max_retries,
            )
            client.limiter.penalize(window)
            return _TryAgain()
        wait = next(self.delays)
        client.log.warning(
            "Marketo %s on %s (%s); retrying in %.1f s (retry %d/%d)",
            label, self.endpoint, problem, wait, self.retries, limit,
        )
        client._sleep(wait)
        return _TryAgain()


# --- helpers -----------------------------------------------------------------------------


def encode_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Marketo's spelling of query values: comma lists, lowercase booleans, ``...Z`` times;
    ``None`` values are left out."""
    if params is None:
        return None
    encoded: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            encoded[key] = ",".join(_scalar(v) for v in value)
        elif isinstance(value, dt.datetime):
            encoded[key] = format_marketo_datetime(value)
        else:
            encoded[key] = value
    return encoded


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_marketo_datetime(value)
    return str(value)


def _is_failure(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("success") is False:
        return True
    return "success" not in body and bool(body.get("errors"))


def _first_error(body: Mapping[str, Any]) -> tuple[str, str]:
    errors = body.get("errors") or []
    if not errors:
        return "", "Marketo answered success:false without any errors"
    first = errors[0]
    if not isinstance(first, Mapping):
        return "", str(first)
    code = first.get("code")
    # Marketo sends codes as strings; some emulators and old responses use integers.
    return ("" if code is None else str(code).strip()), str(first.get("message") or "")


def _may_be_envelope(resp: requests.Response) -> bool:
    """Whether a streamed answer could be an error envelope (file.json answers a token
    problem with JSON, not always labelled as such), judged from its headers. Error
    envelopes are tiny; a large body is never pulled into memory to check."""
    length = _int_or_none(resp.headers.get("Content-Length"))
    if length is None:
        return "json" in resp.headers.get("Content-Type", "").lower()
    return length < _SNIFF_LIMIT


def _read_small_body(resp: requests.Response) -> tuple[bytes, BaseException | None]:
    """Read a streamed body that may be an envelope, WITHOUT taking it from the caller.

    Returns the bytes that arrived and the drop that cut the body short (None when it
    arrived whole). ``resp.raw`` is replaced by a replay of those bytes and then of that
    failure, so whoever reads the response next (``iter_content``, ``content``, ``json()``)
    sees what a first read of the wire would have shown, drop included: download() writes
    the bytes that did arrive and resumes after them with Range.
    """
    raw = resp.raw
    read_some = _reader(raw)
    chunks: list[bytes] = []
    failure: BaseException | None = None
    try:
        while chunk := read_some():
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        failure = exc  # replayed below, where requests names it as it always would
    data = b"".join(chunks)
    resp.raw = _ReplayedBody(raw, data, failure)
    try:
        _ = resp.content
    except _DROP_ERRORS as exc:
        return data, exc
    return data, None


def _reader(raw: Any) -> Callable[[], bytes]:
    if isinstance(raw, urllib3.response.HTTPResponse):
        if hasattr(raw, "read1"):  # urllib3 >= 2.3: returns what arrived, so a drop loses none
            return lambda: raw.read1(_SNIFF_CHUNK, decode_content=True)
        return lambda: raw.read(_SNIFF_CHUNK, decode_content=True)
    return lambda: raw.read(_SNIFF_CHUNK)


class _ReplayedBody:
    """Stands in for ``Response.raw`` once the body has been read: every ``stream()``
    gives the same bytes again, then raises the same failure (if the connection dropped).
    ``Response.iter_content`` turns that failure into the requests exception it always
    raises for it."""

    def __init__(self, raw: Any, data: bytes, failure: BaseException | None) -> None:
        self._raw = raw
        self._data = data
        self._failure = failure

    def stream(
        self, amt: int | None = 65536, decode_content: bool | None = None
    ) -> Iterator[bytes]:
        step = amt if amt and amt > 0 else max(1, len(self._data))
        for offset in range(0, len(self._data), step):
            yield self._data[offset : offset + step]
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        self._raw.close()

    def release_conn(self) -> None:
        release = getattr(self._raw, "release_conn", None)
        if release is not None:
            release()

    def __getattr__(self, name: str) -> Any:  # headers, status, version, ...
        return getattr(self._raw, name)


def _json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(resp: requests.Response, redactor: Redactor, limit: int = 200) -> str:
    try:
        text = resp.text
    except (requests.RequestException, http.client.HTTPException, OSError, ValueError):
        return ""
    text = " ".join(text.split())
    return redactor(text[:limit] + ("..." if len(text) > limit else ""))


def _http_error_text(status: int, snippet: str) -> str:
    reasons = {
        413: "request body too large (Marketo allows 1 MB, 10 MB for bulk import files)",
        414: "request URI too long (Marketo allows 8 KB; send reads as POST _method=GET)",
        404: "not found",
    }
    text = f"HTTP {status}: {reasons.get(status, http.client.responses.get(status, 'error'))}"
    return f"{text}: {snippet}" if snippet else text


def _has_no_assets_warning(page: Mapping[str, Any]) -> bool:
    for warning in page.get("warnings") or []:
        text = warning.get("message", "") if isinstance(warning, Mapping) else str(warning)
        if "no assets found" in text.lower():
            return True
    return False


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _content_range_start(value: str | None) -> int | None:
    # "bytes 1000-1999/2000"
    if not value:
        return None
    try:
        unit_range = value.strip().split(" ", 1)[1]
        return int(unit_range.split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _checksum_hasher(checksum: str | None) -> tuple[Any, str]:
    if not checksum:
        return None, ""
    algorithm, _, digest = checksum.strip().partition(":")
    if not digest:  # a bare hex digest: Marketo's algorithm is sha256
        algorithm, digest = "sha256", algorithm
    try:
        return hashlib.new(algorithm.lower()), digest.lower()
    except ValueError:
        raise ValueError(f"unsupported checksum algorithm in {checksum!r}") from None


def _file_positions(files: Any) -> list[tuple[Any, int]]:
    """Remember where upload file objects start, so a retry sends them whole again."""
    if not files:
        return []
    values = files.values() if isinstance(files, Mapping) else [f[1] for f in files]
    positions = []
    for value in values:
        fileobj = value[1] if isinstance(value, tuple | list) and len(value) > 1 else value
        if hasattr(fileobj, "seek") and hasattr(fileobj, "tell"):
            try:
                positions.append((fileobj, fileobj.tell()))
            except OSError:
                continue
    return positions


def _rewind(positions: list[tuple[Any, int]]) -> None:
    for fileobj, position in positions:
        fileobj.seek(position)
