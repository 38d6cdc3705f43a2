"""Helpers of the reliability suite: run the tap and the target as the subprocesses a
scheduler runs, watch the sandbox's side of the wire, and compare outputs with the
sandbox's ground truth (``/_sandbox/objects/...``).

Everything here is the suite's own (the tap's and target's test helpers evolve with their
code; this suite judges the plugins from the outside).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketo_sandbox import SandboxServer
from werkzeug.wrappers import Request

START_DATE = "2025-09-01T00:00:00Z"  # before every record of the `small` seed
# Limits relaxed for tests that are not about limits: the sandbox's and the plugins' own.
FAST = {"rate_limit_calls": 1_000_000, "max_concurrent_calls": 10}

TAP_CMD = [sys.executable, "-m", "tap_marketo_crm"]
TARGET_CMD = [
    sys.executable, "-c",
    "from target_marketo_crm.target import TargetMarketoCRM; TargetMarketoCRM.cli()",
]
# Exit status of a tap run that stopped at a daily limit with resumable state.
EXIT_RESUMABLE = 75


def plugin_env(**extra: str) -> dict[str, str]:
    # Meltano-style TAP_MARKETO_CRM_* variables in the caller's environment must not leak in.
    prefixes = ("TAP_MARKETO", "TARGET_MARKETO")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra)
    return env


# --- configs ------------------------------------------------------------------------------


def tap_config(info: dict[str, str], **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        **info,  # the connection settings: endpoint, identity, client id and secret
        "start_date": START_DATE,
        "bulk_poll_interval_seconds": 0.01,
        "rate_limit_calls": 1_000_000,
        "rate_limit_window_seconds": 1,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def target_config(
    info: dict[str, str], reject_file: Path | None, **overrides: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        **info,  # the connection settings: endpoint, identity, client id and secret
        "rate_limit_calls": 1_000_000,
        "rate_limit_window_seconds": 1,
        "bulk_import_poll_seconds": 0.05,
    }
    if reject_file is not None:
        config["reject_file"] = str(reject_file)
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


# --- running the plugins ----------------------------------------------------------------


@dataclass
class PluginRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for line in self.stdout.splitlines():
            if not line.strip():
                continue
            try:
                self.messages.append(json.loads(line))
            except ValueError:
                self.bad_lines.append(line)

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in self.messages:
            if m.get("type") == "RECORD":
                out[m["stream"]].append(m["record"])
        return out

    @property
    def states(self) -> list[dict[str, Any]]:
        """Tap STATE values, or the target's emitted state lines."""
        found = []
        for m in self.messages:
            if m.get("type") == "STATE":
                found.append(m["value"])
            elif "type" not in m:
                found.append(m)
        return found

    @property
    def state(self) -> dict[str, Any] | None:
        return self.states[-1] if self.states else None

    def tail(self, n: int = 3000) -> str:
        return self.stderr[-n:]


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def tap_args(
    folder: Path,
    config: dict[str, Any] | None,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> list[str]:
    args: list[str] = []
    if config is not None:
        args += ["--config", str(write_json(folder / "config.json", config))]
    if catalog is not None:
        args += ["--catalog", str(write_json(folder / "catalog.json", catalog))]
    if state is not None:
        args += ["--state", str(write_json(folder / "state.json", state))]
    return args


def run_cmd(
    cmd: list[str], args: list[str], *, stdin: str = "", timeout: float = 120,
    env: dict[str, str] | None = None,
) -> PluginRun:
    proc = subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
        check=False, env=env or plugin_env(),
    )
    return PluginRun(proc.returncode, proc.stdout, proc.stderr)


def run_tap(
    folder: Path,
    config: dict[str, Any] | None,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    *,
    extra: Iterable[str] = (),
    timeout: float = 120,
) -> PluginRun:
    return run_cmd(TAP_CMD, [*tap_args(folder, config, catalog, state), *extra], timeout=timeout)


def run_target(
    folder: Path, config: dict[str, Any] | None, lines: str, *, extra: Iterable[str] = (),
    timeout: float = 120,
) -> PluginRun:
    args = ["--config", str(write_json(folder / "target_config.json", config))] if config else []
    return run_cmd(TARGET_CMD, [*args, *extra], stdin=lines, timeout=timeout)


def singer(messages: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)


def select(catalog: dict[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``catalog`` with only these streams selected."""
    copy = json.loads(json.dumps(catalog))
    for entry in copy["streams"]:
        chosen = entry["tap_stream_id"] in names
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return copy


# --- the sandbox's side of the wire ---------------------------------------------------


@dataclass
class SeenRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: bytes


class WireSpy:
    """Records every request the sandbox receives and every token it issues.

    Wraps the running server's WSGI app and token issuer in place (no sandbox code is
    changed); :meth:`close` puts both back.
    """

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.requests: list[SeenRequest] = []
        self.tokens: list[str] = []
        self._lock = threading.Lock()
        self._wsgi = server._server
        self._app = self._wsgi.app
        self._issue = server.app.tokens.issue
        self._wsgi.app = self._record
        server.app.tokens.issue = self._record_issue  # type: ignore[method-assign]

    def _record(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # The body is read here and handed on as a fresh stream, so the app reads it whole.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()
        else:
            body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request(environ)
        seen = SeenRequest(
            request.method, request.path, request.args.to_dict(flat=False),
            request.headers.get("Authorization"), body,
        )
        with self._lock:
            self.requests.append(seen)
        return self._app(environ, start_response)

    def _record_issue(self, *args: Any) -> tuple[str, int]:
        token, life = self._issue(*args)
        with self._lock:
            if token not in self.tokens:
                self.tokens.append(token)
        return token, life

    def close(self) -> None:
        self._wsgi.app = self._app
        self.server.app.tokens.issue = self._issue  # type: ignore[method-assign]


@contextmanager
def wire_spy(server: SandboxServer) -> Iterator[WireSpy]:
    spy = WireSpy(server)
    try:
        yield spy
    finally:
        spy.close()


# --- ground truth -----------------------------------------------------------------------


def _norm(value: Any) -> Any:
    """One spelling for values the tap types and the sandbox stores differently."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.endswith("Z+0000"):  # asset API timestamps
            return value[: -len("+0000")]
        # Reference fields (ids) are typed as strings by the tap's schemas, ints in Marketo.
        if value.lstrip("-").isdigit() and not value.startswith("0"):
            return float(value)
        return value
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        return {v["name"]: _norm(v.get("value")) for v in value}
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def last_by_key(
    records: Iterable[dict[str, Any]], keys: list[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r.get(k) for k in keys): r for r in records}


def truth_problems(
    emitted: list[dict[str, Any]],
    truth: list[dict[str, Any]],
    keys: list[str],
    *,
    renames: dict[str, str] | None = None,
    limit: int = 8,
) -> list[str]:
    """Where the emitted records (last per key, deletes dropped) differ from ground truth:
    missing or unexpected keys, and any field the record carries whose value differs.

    ``renames`` maps an emitted column to the ground truth's name for it.
    """
    renames = renames or {}
    got = last_by_key((r for r in emitted if not r.get("_sdc_deleted_at")), keys)
    want = last_by_key(truth, keys)
    problems = [f"missing {k}" for k in sorted(set(want) - set(got), key=str)]
    problems += [f"unexpected {k}" for k in sorted(set(got) - set(want), key=str)]
    for key in sorted(set(got) & set(want), key=str):
        record, expected = got[key], want[key]
        for column, value in record.items():
            name = renames.get(column, column)
            if column.startswith("_sdc_") or name not in expected:
                continue
            if _norm(value) != _norm(expected[name]):
                problems.append(f"{key}.{column}: emitted {value!r}, truth {expected[name]!r}")
                break
    return problems[:limit]


def duplicates(records: list[dict[str, Any]], keys: list[str]) -> int:
    seen: set[tuple[Any, ...]] = set()
    dupes = 0
    for record in records:
        key = tuple(record.get(k) for k in keys)
        dupes += key in seen
        seen.add(key)
    return dupes


def secret_leaks(texts: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """Which (source, secret) pairs leak: each secret and, for Marketo tokens
    (``<uuid>:<pod>``), the uuid part alone."""
    needles: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        needles.add(secret)
        if ":" in secret:
            needles.add(secret.split(":", 1)[0])
    return [
        f"{source} contains {needle[:6]}..."
        for source, text in texts.items()
        for needle in sorted(needles)
        if needle in text
    ]
