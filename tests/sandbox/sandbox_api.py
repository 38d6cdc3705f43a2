"""Plain HTTP against the sandbox, as any Marketo client would call it (shared by the
sandbox tests)."""

from __future__ import annotations

from typing import Any

import requests


class BaseApi:
    """A token from the identity endpoint, then calls with the Bearer header."""

    def __init__(self, info: dict[str, str]) -> None:
        self.base = info["endpoint"]
        token = requests.get(
            f"{info['identity']}/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
            timeout=30,
        ).json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.session.get(self.base + path, params=params, timeout=30).json()

    def post(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        return self.session.post(self.base + path, json=body, params=params, timeout=30).json()
