"""Identity: OAuth client credentials, tokens with Marketo's lifetime rules.

A new token lives ``token_ttl_seconds``; asking again before it expires returns the SAME
token with its remaining life in ``expires_in``. An expired token answers 602, an unknown
or revoked one 601, a missing one 600.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from marketo_sandbox.config import SandboxConfig


class TokenIssuer:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._current: str | None = None
        self.issued = 0

    def reset(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._current = None
            self.issued = 0

    def credentials_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        return secrets.compare_digest(
            client_id or "", self.config.client_id
        ) and secrets.compare_digest(client_secret or "", self.config.client_secret)

    def issue(self) -> tuple[str, int]:
        """The current token and its remaining life in whole seconds."""
        with self._lock:
            now = self.clock()
            if self._current is not None and self._expiry.get(self._current, 0) > now + 0.5:
                return self._current, int(self._expiry[self._current] - now)
            token = (
                f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
                f"{secrets.token_hex(2)}-{secrets.token_hex(6)}:ab"
            )
            self._expiry[token] = now + self.config.token_ttl_seconds
            self._current = token
            self.issued += 1
            # As recorded, a token just minted reports 3599 of its 3600 s (its life is
            # counted down in whole seconds from the moment it is made).
            return token, max(1, int(self.config.token_ttl_seconds) - 1)

    def check(self, token: str | None) -> str | None:
        """None when the token is good, else the Marketo code to answer with."""
        if not token:
            return "600"
        with self._lock:
            expiry = self._expiry.get(token)
            if expiry is None:
                return "601"
            if expiry <= self.clock():
                return "602"
        return None

    def revoke_all(self) -> None:
        """Invalidate every token (an admin reset the API user's secret, say)."""
        with self._lock:
            self._expiry.clear()
            self._current = None

    def expire_all(self) -> None:
        """Make every token expired now (602 on next use)."""
        with self._lock:
            now = self.clock()
            for token in self._expiry:
                self._expiry[token] = now - 1
            self._current = None
