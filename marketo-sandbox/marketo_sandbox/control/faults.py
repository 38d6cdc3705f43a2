"""Fault injection: make the next N matching calls misbehave.

A fault is a JSON object posted to ``/_sandbox/faults``:

``path``       regular expression searched in the request path (default: every path)
``method``     only this HTTP method (after ``_method`` override), optional
``count``      how many matching calls it hits (default 1)
``skip``       let this many matching calls through first (default 0)
and exactly one effect:
``code``       answer ``success:false`` with this Marketo code (``message`` optional)
``http_status`` answer this HTTP status (``body`` optional)
``reset``      true: drop the connection without an answer
``drop_after_bytes`` send only this many bytes of the body, then drop the connection
``latency_ms`` delay the call, then answer normally
``export_fail`` true: the next matching bulk export job ends Failed
``export_file_gone`` true: the next matching Completed job's file answers 404
``revoke_tokens`` true: invalidate every access token before the call (601)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

EFFECTS = (
    "code",
    "http_status",
    "reset",
    "drop_after_bytes",
    "latency_ms",
    "export_fail",
    "export_file_gone",
    "revoke_tokens",
)


@dataclass
class Fault:
    effect: str
    value: Any
    path: re.Pattern[str]
    method: str | None = None
    count: int = 1
    skip: int = 0
    message: str | None = None
    body: Any = None
    hits: int = 0
    spec: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return bool(self.path.search(path))


class FaultError(ValueError):
    pass


def parse_fault(spec: dict[str, Any]) -> Fault:
    effects = [e for e in EFFECTS if spec.get(e) not in (None, False)]
    if len(effects) != 1:
        raise FaultError(
            f"a fault needs exactly one of {', '.join(EFFECTS)}; got {effects or 'none'}"
        )
    try:
        pattern = re.compile(spec.get("path") or ".*")
    except re.error as exc:
        raise FaultError(f"fault path is not a regular expression: {exc}") from exc
    count = int(spec.get("count", 1))
    skip = int(spec.get("skip", 0))
    if count < 1 or skip < 0:
        raise FaultError("fault count must be >= 1 and skip >= 0")
    effect = effects[0]
    value = spec[effect]
    if effect == "code":
        value = str(value)
    return Fault(
        effect=effect,
        value=value,
        path=pattern,
        method=spec.get("method"),
        count=count,
        skip=skip,
        message=spec.get("message"),
        body=spec.get("body"),
        spec=dict(spec),
    )


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = parse_fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**f.spec, "remaining": f.count - max(0, f.hits - f.skip)} for f in self._faults
            ]

    def take(self, method: str, path: str, effects: tuple[str, ...] | None = None) -> list[Fault]:
        """Consume the faults that hit this call (one per effect, first registered first)."""
        hit: list[Fault] = []
        seen: set[str] = set()
        with self._lock:
            for fault in list(self._faults):
                if effects is not None and fault.effect not in effects:
                    continue
                if fault.effect in seen or not fault.matches(method, path):
                    continue
                fault.hits += 1
                if fault.hits <= fault.skip:
                    continue
                seen.add(fault.effect)
                hit.append(fault)
                if fault.hits - fault.skip >= fault.count:
                    self._faults.remove(fault)
        return hit
