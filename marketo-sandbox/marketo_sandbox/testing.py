"""A small client for the sandbox's ``/_sandbox`` control API, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.session.request(method, f"{self.url}/_sandbox/{path}", timeout=300, **kw)
        response.raise_for_status()
        return response.json()

    def calls(self) -> dict[str, Any]:
        return self._call("GET", "calls")

    def reset_calls(self) -> None:
        self._call("POST", "calls/reset")

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return self._call("GET", f"objects/{kind}")

    def fault(self, **spec: Any) -> None:
        self._call("POST", "faults", json=spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "config", json=changes)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def reset(self) -> None:
        self._call("POST", "reset")

    def expire_tokens(self) -> None:
        self._call("POST", "tokens/expire")

    def revoke_tokens(self) -> None:
        self._call("POST", "tokens/revoke")
