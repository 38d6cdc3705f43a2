"""Identity: OAuth client credentials, tokens with Marketo's lifetime rules, API users.

A new token lives ``token_ttl_seconds``; asking again before it expires returns the SAME
token with its remaining life in ``expires_in``. An expired token answers 602, an unknown
or revoked one 601, a missing one 600.

Every token belongs to the API user whose credentials asked for it. A default instance
has one API user; with the ``two-users`` profile it has a second one (its own client id
and secret, see :func:`api_users`), and what an API user creates that Marketo keeps per
user (bulk export jobs, bulk import batches: docs/MARKETO.md section 9) is visible to
that user only. Each user has its own current token.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.profiles import TWO_USERS


@dataclass(frozen=True)
class ApiUser:
    name: str  # what Marketo shows as the API user (the token's ``scope``)
    client_id: str
    client_secret: str


def second_secret(config: SandboxConfig) -> str:
    """The second API user's secret: the configured one, else derived from the first
    user's secret (stable for a given server, never equal to it)."""
    if config.second_client_secret:
        return config.second_client_secret
    digest = hashlib.sha256(f"two-users:{config.client_secret}".encode()).hexdigest()
    return digest[:32]


def api_users(config: SandboxConfig) -> list[ApiUser]:
    """The API users the instance has now: one, or two with the ``two-users`` profile."""
    users = [ApiUser(config.api_user, config.client_id, config.client_secret)]
    if config.has_profile(TWO_USERS):
        users.append(
            ApiUser(config.second_api_user, config.second_client_id, second_secret(config))
        )
    return users


def owns(config: SandboxConfig, owner: str | None, user: str | None) -> bool:
    """Whether ``user`` may see a bulk job ``owner`` created. On a one-user instance every
    job is the caller's; with two users a job is visible to its creator only."""
    if not config.has_profile(TWO_USERS) or owner is None or user is None:
        return True
    return owner == user


class TokenIssuer:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._owner: dict[str, str] = {}
        self._current: dict[str, str] = {}
        self.issued = 0

    def reset(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._owner.clear()
            self._current.clear()
            self.issued = 0

    def authenticate(self, client_id: str | None, client_secret: str | None) -> str | None:
        """The API user these credentials belong to, or None."""
        found = None
        for user in api_users(self.config):
            # Compare against every user so the time taken does not tell which id exists.
            id_ok = secrets.compare_digest(client_id or "", user.client_id)
            secret_ok = secrets.compare_digest(client_secret or "", user.client_secret)
            if id_ok and secret_ok and found is None:
                found = user.name
        return found

    def credentials_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        return self.authenticate(client_id, client_secret) is not None

    def issue(self, user: str | None = None) -> tuple[str, int]:
        """``user``'s current token and its remaining life in whole seconds."""
        user = user or self.config.api_user
        with self._lock:
            now = self.clock()
            current = self._current.get(user)
            if current is not None and self._expiry.get(current, 0) > now + 0.5:
                return current, int(self._expiry[current] - now)
            token = (
                f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
                f"{secrets.token_hex(2)}-{secrets.token_hex(6)}:ab"
            )
            self._expiry[token] = now + self.config.token_ttl_seconds
            self._owner[token] = user
            self._current[user] = token
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

    def user_of(self, token: str | None) -> str:
        """The API user a (checked) token belongs to."""
        with self._lock:
            return self._owner.get(token or "", self.config.api_user)

    def revoke_all(self) -> None:
        """Invalidate every token (an admin reset the API user's secret, say)."""
        with self._lock:
            self._expiry.clear()
            self._owner.clear()
            self._current.clear()

    def expire_all(self) -> None:
        """Make every token expired now (602 on next use)."""
        with self._lock:
            now = self.clock()
            for token in self._expiry:
                self._expiry[token] = now - 1
            self._current.clear()
