"""Marketo's request limits, enforced the way Marketo enforces them.

- 606: more than ``rate_limit_calls`` calls in any rolling ``rate_limit_window_seconds``.
- 615: more than ``max_concurrent_calls`` calls in flight at once.
- 607: the daily call quota, which resets at 00:00 US Central.
Identity calls and calls rejected for a bad token count against none of them.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.envelope import ApiError

CENTRAL = ZoneInfo("America/Chicago")


def quota_day(epoch: float) -> str:
    """The Marketo quota day (US Central date) an instant falls in."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(CENTRAL).date().isoformat()


class Limits:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._window: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self.peak_in_flight = 0
        # quota day -> {"total": n, "by_user": {user: n}, "errors": {code: n}}
        self._usage: dict[str, dict[str, int]] = {}
        self._errors: dict[str, dict[str, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
            self._in_flight = 0
            self.peak_in_flight = 0
            self._usage.clear()
            self._errors.clear()

    # -- daily quota --------------------------------------------------------------------

    def _count_call(self, now: float, user: str | None = None) -> int:
        # The quota is the instance's; the usage report counts each API user's calls.
        day = quota_day(now)
        usage = self._usage.setdefault(day, {})
        who = user or self.config.api_user
        usage[who] = usage.get(who, 0) + 1
        return sum(usage.values())

    def used_today(self) -> int:
        with self._lock:
            return sum(self._usage.get(quota_day(self.clock()), {}).values())

    def usage(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {day: dict(users) for day, users in self._usage.items()}

    def errors(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {day: dict(codes) for day, codes in self._errors.items()}

    def record_error(self, code: str) -> None:
        with self._lock:
            day = self._errors.setdefault(quota_day(self.clock()), {})
            day[code] = day.get(code, 0) + 1

    # -- admission ---------------------------------------------------------------------

    def admit(self, user: str | None = None) -> None:
        """Admit one authenticated call (of API ``user``) or raise the code Marketo would
        answer with.

        Every call that reaches this point counts toward the daily quota (606, 607 and
        615 responses included, as Marketo counts them); only admitted calls occupy the
        rate window and a concurrency slot.
        """
        cfg = self.config
        with self._lock:
            now = self.clock()
            day = quota_day(now)
            used_before = sum(self._usage.get(day, {}).values())
            self._count_call(now, user)
            if used_before >= cfg.daily_call_quota:
                raise ApiError("607", "Daily quota reached")
            if self._in_flight >= cfg.max_concurrent_calls:
                raise ApiError("615", limit=cfg.max_concurrent_calls)
            horizon = now - cfg.rate_limit_window_seconds
            while self._window and self._window[0] <= horizon:
                self._window.popleft()
            if len(self._window) >= cfg.rate_limit_calls:
                raise ApiError(
                    "606",
                    limit=cfg.rate_limit_calls,
                    window=f"{cfg.rate_limit_window_seconds:g}",
                )
            self._window.append(now)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def release(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight
