"""The sandbox's WSGI application: routing, authentication, limits, faults, envelopes.

Handler modules under ``marketo_sandbox.routes`` and ``control.api`` register on the module-level
``router``; a handler takes a :class:`Ctx` plus the path variables and returns a JSON-able
dict (the envelope, normally built with :func:`envelope.ok`) or a werkzeug Response.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from marketo_sandbox import envelope
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.control.faults import FaultInjector
from marketo_sandbox.domain import retention
from marketo_sandbox.envelope import ApiError, HttpError
from marketo_sandbox.limits import Limits
from marketo_sandbox.store import Store

if TYPE_CHECKING:
    from marketo_sandbox.auth import TokenIssuer

log = logging.getLogger("marketo_sandbox")

Handler = Callable[..., Any]

# Where an authenticated call carries its API user from the token check to the handler.
API_USER_KEY = "marketo_sandbox.api_user"


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    handler: Handler
    # "api": authenticated, counted, limited. "identity" and "control": none of that.
    kind: str = "api"
    max_body: str = "max_body_bytes"
    # Marketo has it, but neither the tap, the target nor marketo-core calls it: it exists
    # so tests/fidelity can drive the sandbox like any client (marketorestpython, Adobe's
    # swagger). tests/fidelity checks that each such route is exercised there.
    fidelity_only: bool = False


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        rule: str,
        methods: Iterable[str] = ("GET",),
        *,
        kind: str = "api",
        max_body: str = "max_body_bytes",
        fidelity_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            methods_ = tuple(m.upper() for m in methods)
            self.routes.append(Route(rule, methods_, handler, kind, max_body, fidelity_only))
            return handler

        return register

    def build_map(self) -> tuple[Map, dict[str, Route]]:
        rules = []
        endpoints: dict[str, Route] = {}
        for i, route in enumerate(self.routes):
            name = f"r{i}"
            endpoints[name] = route
            rules.append(Rule(route.rule, methods=list(route.methods), endpoint=name))
        return Map(rules, strict_slashes=False, merge_slashes=False), endpoints


router = Router()


class Ctx:
    """What a handler sees of one request."""

    def __init__(self, app: SandboxApp, request: Request, method: str) -> None:
        self.app = app
        self.request = request
        self.method = method
        self.config = app.config
        self.store = app.store
        self._json: Any = None
        self._json_loaded = False
        # Reads may arrive as POST ?_method=GET with a form body: its fields are parameters.
        params = MultiDict(request.args)
        if (
            method == "GET"
            and request.method == "POST"
            and request.mimetype == "application/x-www-form-urlencoded"
        ):
            for key, value in request.form.items(multi=True):
                params.add(key, value)
        params.pop("_method", None)
        params.pop("access_token", None)
        self.params = params
        # The API user whose token authenticated the call (see marketo_sandbox.auth).
        self.api_user: str = request.environ.get(API_USER_KEY) or app.config.api_user

    # -- parameters --------------------------------------------------------------------

    def arg(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value in (None, "") else value

    def require(self, name: str) -> str:
        value = self.arg(name)
        if value is None:
            raise ApiError("1003", f"{name} cannot be blank")
        return value

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        value = self.arg(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError("1003", f"Invalid value '{value}' for {name}") from None

    def list_arg(self, name: str) -> list[str]:
        """A list parameter, sent as a comma list OR as repeated parameters."""
        out: list[str] = []
        for raw in self.params.getlist(name):
            out.extend(part.strip() for part in raw.split(",") if part.strip() != "")
        return out

    def json(self, required: bool = True) -> Any:
        if not self._json_loaded:
            self._json_loaded = True
            raw = self.request.get_data(cache=True)
            if not raw.strip():
                if required:
                    raise ApiError("609", "Invalid JSON")
                self._json = None
            else:
                try:
                    self._json = json.loads(raw)
                except ValueError:
                    raise ApiError("609", "Invalid JSON") from None
        return self._json

    def body(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ApiError("609", "Invalid JSON")
        return data

    def batch_size(self, default: int = 300) -> int:
        size = self.int_arg("batchSize", default) or default
        if size < 1 or size > self.config.max_batch_size:
            size = self.config.max_batch_size
        return size

    def check_input_size(self, items: list[Any]) -> None:
        if len(items) > self.config.max_batch_size:
            raise ApiError("1003", f"Batch size exceeds {self.config.max_batch_size}")


class SandboxApp:
    def __init__(self, config: SandboxConfig, store: Store) -> None:
        # Imported here: the handler modules import this one to register on `router`.
        from marketo_sandbox import routes  # noqa: F401, PLC0415
        from marketo_sandbox.auth import TokenIssuer  # noqa: PLC0415

        self.config = config
        self._initial_config = copy.deepcopy(config)
        self.store = store
        self.clock: Callable[[], float] = lambda: time.time() + self.config.clock_offset_seconds
        store.clock = self.clock
        store.activities_kept = lambda: retention.kept_condition(self.config, self.clock())
        self.limits = Limits(config, self.clock)
        self.faults = FaultInjector()
        self.tokens: TokenIssuer = TokenIssuer(config, self.clock)
        self.url_map, self.endpoints = router.build_map()
        self._calls_lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.calls_by_path: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        # Per-process extension points for domain modules (e.g. the export job runner).
        self.services: dict[str, Any] = {}
        self.reset_hooks: list[Callable[[], None]] = []

    # -- accounting --------------------------------------------------------------------

    def count_call(self, key: str, path: str) -> None:
        with self._calls_lock:
            self.calls[key] += 1
            self.calls_by_path[path] += 1

    def calls_snapshot(self) -> dict[str, Any]:
        with self._calls_lock:
            return {
                "total": sum(self.calls.values()),
                "endpoints": dict(sorted(self.calls.items())),
                "paths": dict(sorted(self.calls_by_path.items())),
                "rejected": dict(sorted(self.rejected.items())),
                "peak_in_flight": self.limits.peak_in_flight,
            }

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()
            self.calls_by_path.clear()
            self.rejected.clear()
        self.limits.reset()

    def reset(self) -> None:
        """Back to the seeded state: data, counters, faults, tokens, jobs."""
        for hook in self.reset_hooks:
            hook()
        for name, value in vars(copy.deepcopy(self._initial_config)).items():
            setattr(self.config, name, value)
        self.store.restore_snapshot()
        self.faults.clear()
        self.tokens.reset()
        self.reset_calls()

    # -- WSGI --------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request, environ)
        finally:
            # A multipart upload (bulk import) is spooled to a temporary file that only
            # close() releases; handlers keep what they need before they return.
            request.close()
        return response(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        method = request.method.upper()
        override = request.args.get("_method")
        if (
            override is None
            and method == "POST"
            and request.mimetype == "application/x-www-form-urlencoded"
        ):
            override = request.form.get("_method")
        if method == "POST" and override:
            method = override.upper()

        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match(request.path, method=method)
        except NotFound:
            return json_response({"error": "not found", "path": request.path}, status=404)
        except MethodNotAllowed:
            return json_response(envelope.failure("605", envelope.message("605")))
        except HTTPException as exc:
            return exc.get_response(environ)
        route = self.endpoints[endpoint]

        if route.kind == "control":
            return self._run(route, request, method, values, environ)
        if route.kind == "identity":
            return self._run(route, request, method, values, environ)
        return self._api_call(route, request, method, values, environ)

    def _api_call(
        self,
        route: Route,
        request: Request,
        method: str,
        values: Mapping[str, Any],
        environ: dict[str, Any],
    ) -> Response:
        cfg = self.config
        key = f"{method} {route.rule}"
        faults = self.faults.take(
            method,
            request.path,
            ("code", "http_status", "reset", "drop_after_bytes", "latency_ms", "revoke_tokens"),
        )
        effects = {f.effect: f for f in faults}
        if "revoke_tokens" in effects:
            self.tokens.revoke_all()
        if "latency_ms" in effects:
            time.sleep(float(effects["latency_ms"].value) / 1000.0)
        if "reset" in effects:
            self.count_call(key, request.path)
            return drop_connection(environ)

        # HTTP-level limits come before anything Marketo parses.
        uri_len = len(request.full_path.rstrip("?").encode()) + len(request.host.encode()) + 8
        if uri_len > cfg.max_uri_bytes:
            return Response("Request-URI Too Long", status=414, mimetype="text/html")
        length = request.content_length or 0
        if length > getattr(cfg, route.max_body):
            return Response("Request Entity Too Large", status=413, mimetype="text/html")

        # Token problems are answered before the call counts (601/602 are free).
        token = self._bearer(request)
        auth_error = self.tokens.check(token)
        if auth_error is not None:
            self.rejected[auth_error] += 1
            self.limits.record_error(auth_error)
            return json_response(envelope.failure(auth_error, envelope.message(auth_error)))

        environ[API_USER_KEY] = self.tokens.user_of(token)
        self.count_call(key, request.path)
        try:
            self.limits.admit(environ[API_USER_KEY])
        except ApiError as exc:
            self.rejected[exc.code] += 1
            self.limits.record_error(exc.code)
            return json_response(envelope.failure(exc.code, exc.msg))
        try:
            if cfg.latency_ms > 0:
                time.sleep(cfg.latency_ms / 1000.0)
            if "code" in effects:
                fault = effects["code"]
                self.rejected[fault.value] += 1
                return json_response(
                    envelope.failure(fault.value, fault.message or envelope.message(fault.value))
                )
            if "http_status" in effects:
                fault = effects["http_status"]
                body = fault.body if fault.body is not None else f"HTTP {fault.value}"
                if isinstance(body, dict | list):
                    return json_response(body, status=int(fault.value))
                return Response(str(body), status=int(fault.value), mimetype="text/plain")
            response = self._run(route, request, method, values, environ)
        finally:
            self.limits.release()
        if "drop_after_bytes" in effects:
            return truncate_response(response, int(effects["drop_after_bytes"].value), environ)
        return response

    def _bearer(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        # Deprecated by Adobe, still accepted by Marketo until its removal date.
        return request.args.get("access_token") or None

    def _run(
        self,
        route: Route,
        request: Request,
        method: str,
        values: Mapping[str, Any],
        environ: dict[str, Any],
    ) -> Response:
        ctx = Ctx(self, request, method)
        try:
            result = route.handler(ctx, **values)
        except ApiError as exc:
            if route.kind == "api":
                self.limits.record_error(exc.code)
            return json_response(envelope.failure(exc.code, exc.msg))
        except HttpError as exc:
            if isinstance(exc.body, dict | list):
                return json_response(exc.body, status=exc.status)
            return Response(exc.body, status=exc.status, mimetype=exc.content_type or "text/plain")
        except Exception:
            log.exception("sandbox handler failed: %s %s", method, request.path)
            return json_response(envelope.failure("611", "System error"))
        if isinstance(result, Response):
            return result
        return json_response(result)


# Every JSON answer recorded from real instances (REST, asset, identity; 2020 and 2021)
# carries exactly this Content-Type (docs/MARKETO.md section 9).
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type=JSON_CONTENT_TYPE,
    )


def _abort_socket(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Dropped(Response):
    pass


def drop_connection(environ: dict[str, Any]) -> Response:
    _abort_socket(environ)
    return _Dropped(b"", status=500)


def truncate_response(response: Response, limit: int, environ: dict[str, Any]) -> Response:
    """Send the headers and the first ``limit`` bytes of the body, then drop the connection."""
    original = response.response
    response.direct_passthrough = True

    def body() -> Iterator[bytes]:
        sent = 0
        iterable = original if not isinstance(original, bytes | str) else [original]
        try:
            for item in iterable:
                chunk = item.encode() if isinstance(item, str) else item
                if sent + len(chunk) >= limit:
                    yield chunk[: max(0, limit - sent)]
                    _abort_socket(environ)
                    return
                sent += len(chunk)
                yield chunk
        finally:
            # The body is a bulk file opened by send_file; cutting the stream short must
            # still close it.
            close = getattr(original, "close", None)
            if close is not None:
                close()

    response.response = body()
    return response
