"""Credentials never leak: every plugin command, healthy or failing, is run with the
suite's recognizable client secret; neither it nor any access token the sandbox issued
may appear in stdout (records, STATE), stderr (logs, tracebacks) or the reject file, and
tokens travel only in the Authorization header."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxControl
from reliability_support import (
    PluginRun,
    WireSpy,
    run_tap,
    run_target,
    secret_leaks,
    select,
    singer,
    tap_config,
    target_config,
    wire_spy,
)

LEADS_SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": ["string", "null"]},
        "firstName": {"type": ["string", "null"]},
        "notAField": {"type": ["string", "null"]},
    },
}
COMPANIES_SCHEMA = {
    "type": "object",
    "properties": {
        "externalCompanyId": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]},
    },
}


def _target_input() -> str:
    messages: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "companies", "schema": COMPANIES_SCHEMA,
         "key_properties": ["externalCompanyId"]},
        {"type": "RECORD", "stream": "companies",
         "record": {"externalCompanyId": "SEC-ACME", "company": "Secret-Free Inc"}},
        {"type": "SCHEMA", "stream": "leads", "schema": LEADS_SCHEMA, "key_properties": ["email"]},
    ]
    messages += [
        {"type": "RECORD", "stream": "leads",
         "record": {"email": f"secret-test-{i}@example.com", "firstName": f"S{i}"}}
        for i in range(5)
    ]
    # Rejected (1006), so the reject file has content to search.
    messages.append({"type": "RECORD", "stream": "leads",
                     "record": {"email": "rejected@example.com", "notAField": "x"}})
    messages.append({"type": "STATE", "value": {"bookmarks": {"crm": {"cursor": 1}}}})
    return singer(messages)


# name -> (setup on the sandbox, config overrides)
FailureSetup = Callable[[SandboxControl], None]
TAP_SCENARIOS: dict[str, tuple[FailureSetup | None, dict[str, Any]]] = {
    "sync": (None, {}),
    "601 tokens revoked mid-run": (
        lambda sb: sb.fault(path=r"^/bulk/v1/leads/export/", revoke_tokens=True, skip=3), {}),
    "602 token expired": (
        lambda sb: sb.fault(path=r"^/rest/v1/", code="602", count=2), {}),
    "HTTP 500": (lambda sb: sb.fault(path=r"^/bulk/v1/", http_status=500, count=2), {}),
    "connection reset": (lambda sb: sb.fault(path=r"^/rest/", reset=True, count=2), {}),
    "fatal 603": (lambda sb: sb.fault(path=r"^/bulk/v1/leads/export/create", code="603"), {}),
    "607 quota stop": (lambda sb: sb.fault(path=r"^/bulk/v1/leads/export/create", code="607",
                                           skip=1), {}),
}
TARGET_SCENARIOS: dict[str, tuple[FailureSetup | None, dict[str, Any]]] = {
    "write": (None, {}),
    "601 tokens revoked mid-run": (
        lambda sb: sb.fault(path=r"^/rest/v1/leads\.json", revoke_tokens=True), {}),
    "602 token expired": (lambda sb: sb.fault(path=r"^/rest/v1/", code="602", count=2), {}),
    "HTTP 500": (lambda sb: sb.fault(path=r"^/rest/v1/companies\.json", http_status=500,
                                     count=2), {}),
    "fatal 603": (lambda sb: sb.fault(path=r"^/rest/v1/leads\.json", code="603"), {}),
    "607 quota stop": (lambda sb: sb.fault(path=r"^/rest/v1/leads\.json", code="607"), {}),
    "bulk import": (None, {"bulk_import_threshold": 2}),
}


def _texts(run: PluginRun, *files: Path) -> dict[str, str]:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for path in files:
        if path.exists():
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def _assert_header_only(spy: WireSpy, secret: str) -> None:
    api = [r for r in spy.requests if not r.path.startswith(("/identity", "/_sandbox"))]
    assert api, "no API request reached the sandbox"
    for request in api:
        where = f"{request.method} {request.path}"
        assert "access_token" not in request.query, f"token in the query of {where}"
        assert b"access_token" not in request.body, f"token in the body of {where}"
        assert request.authorization, where
        assert request.authorization.startswith("Bearer "), where
        assert request.authorization[len("Bearer "):] in spy.tokens, where
        assert secret not in json.dumps(request.query), f"client secret sent to {where}"
        assert secret.encode() not in request.body, f"client secret sent to {where}"
    # The secret only ever goes to identity, which takes it in the query (Marketo's way).
    identity = [r for r in spy.requests if r.path.startswith("/identity")]
    assert all(secret not in (r.authorization or "") for r in identity)


@pytest.mark.parametrize("scenario", TAP_SCENARIOS, ids=list(TAP_SCENARIOS))
def test_no_tap_command_leaks_the_secret_or_a_token(
    scenario: str,
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    sandbox_info: dict[str, str],
    discovered: dict[str, Any],
    tmp_path: Path,
) -> None:
    setup, overrides = TAP_SCENARIOS[scenario]
    secret = sandbox_info["client_secret"]
    catalog = select(discovered, "leads", "activities_visit_webpage", "programs", "companies")
    with wire_spy(sandbox_server) as spy:
        if setup is not None:
            setup(fast_sandbox)
        run = run_tap(tmp_path, tap_config(sandbox_info, **overrides), catalog)
    assert spy.tokens, "the sandbox issued no token: nothing was tested"
    assert run.returncode in (0, 1, 75), run.tail()
    if scenario == "fatal 603":
        assert run.returncode != 0
        assert "603" in run.stderr
    assert not secret_leaks(_texts(run), [secret, *spy.tokens])
    _assert_header_only(spy, secret)


def test_tap_about_and_discover_leak_nothing(
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    sandbox_info: dict[str, str],
    tmp_path: Path,
) -> None:
    config = tap_config(sandbox_info)
    with wire_spy(sandbox_server) as spy:
        runs = [
            run_tap(tmp_path / "about", None, extra=["--about"]),
            run_tap(tmp_path / "about-json", config, extra=["--about", "--format=json"]),
            run_tap(tmp_path / "discover", config, extra=["--discover"]),
            run_tap(tmp_path / "test", config, extra=["--test=schema"]),
        ]
    assert spy.tokens
    for run in runs:
        assert run.returncode == 0, run.tail()
        assert not secret_leaks(_texts(run), [secret_of(sandbox_info), *spy.tokens])
    _assert_header_only(spy, secret_of(sandbox_info))


def secret_of(info: dict[str, str]) -> str:
    return info["client_secret"]


def test_bad_credentials_and_an_unreachable_identity_leak_nothing(
    fast_sandbox: SandboxControl, sandbox_info: dict[str, str], tmp_path: Path,
    discovered: dict[str, Any],
) -> None:
    wrong = sandbox_info["client_secret"] + "-WRONG"
    catalog = select(discovered, "leads")
    bad = run_tap(tmp_path / "bad", tap_config(sandbox_info, client_secret=wrong), catalog)
    assert bad.returncode != 0
    assert "credentials" in bad.stderr.lower()
    # Identity takes the secret in its query string: an unreachable identity makes every
    # HTTP library quote that URL in its error.
    unreachable = run_tap(
        tmp_path / "down", tap_config(sandbox_info, identity="http://127.0.0.1:9/identity"),
        catalog,
    )
    assert unreachable.returncode != 0
    target_bad = run_target(
        tmp_path / "tbad", target_config(sandbox_info, tmp_path / "r.jsonl", client_secret=wrong),
        _target_input(),
    )
    assert target_bad.returncode != 0
    target_down = run_target(
        tmp_path / "tdown",
        target_config(sandbox_info, tmp_path / "r.jsonl", identity="http://127.0.0.1:9/identity"),
        _target_input(),
    )
    assert target_down.returncode != 0
    for run in (bad, unreachable, target_bad, target_down):
        assert not secret_leaks(
            _texts(run, tmp_path / "r.jsonl"), [wrong, sandbox_info["client_secret"]]
        ), run.tail()


@pytest.mark.parametrize("scenario", TARGET_SCENARIOS, ids=list(TARGET_SCENARIOS))
def test_no_target_command_leaks_the_secret_or_a_token(
    scenario: str,
    fast_sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    sandbox_info: dict[str, str],
    tmp_path: Path,
) -> None:
    setup, overrides = TARGET_SCENARIOS[scenario]
    secret = sandbox_info["client_secret"]
    rejects = tmp_path / "rejects.jsonl"
    with wire_spy(sandbox_server) as spy:
        if setup is not None:
            setup(fast_sandbox)
        run = run_target(tmp_path, target_config(sandbox_info, rejects, **overrides),
                         _target_input())
        about = run_target(tmp_path / "about", None, "", extra=["--about"])
    assert spy.tokens
    assert rejects.exists(), run.tail()
    assert not secret_leaks(_texts(run, rejects), [secret, *spy.tokens])
    assert not secret_leaks(_texts(about), [secret, *spy.tokens])
    _assert_header_only(spy, secret)
