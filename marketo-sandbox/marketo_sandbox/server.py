"""Run the sandbox as a real HTTP server on localhost, in-process or from the CLI."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from marketo_sandbox.app import SandboxApp
from marketo_sandbox.auth import api_users
from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.seed import SeedSpec, build, spec_for
from marketo_sandbox.store import Store

log = logging.getLogger("marketo_sandbox")


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log; a dropped connection (an injected fault) is not an error."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            super().handle()


class SandboxServer:
    """A seeded sandbox serving on ``host:port`` (port 0 picks a free one).

    Usable as a context manager; ``info()`` is the JSON line the CLI prints.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        seed: str | SeedSpec = "small",
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.spec = spec_for(seed) if isinstance(seed, str) else seed
        self.host = host
        self.port = port
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="marketo-sandbox-"))
        )
        self.store: Store | None = None
        self.app: SandboxApp | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        self.store = Store(self.data_dir)
        self.app = SandboxApp(self.config, self.store)
        build(self.store, self.spec)
        self.store.save_snapshot()
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="marketo-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for hook in self.app.services.get("shutdown_hooks", []) if self.app else []:
            hook()
        if self.store is not None:
            self.store.close()
            if self._own_dir:
                self.store.destroy()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "endpoint": self.url,
            "identity": f"{self.url}/identity",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        users = api_users(self.config)
        if len(users) > 1:
            # The two-users profile: every API user's pair, the first one's also above.
            out["api_users"] = [
                {"api_user": u.name, "client_id": u.client_id, "client_secret": u.client_secret}
                for u in users
            ]
        return out

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
