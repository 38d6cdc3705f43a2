"""Bad input to the target: every problem gets a clear error or a reject line naming the
stream and the record, and nothing the target acknowledged is lost.

Each input starts with good records and a STATE, then the bad part, then more good
records and a second STATE. Whatever the verdict, the checkpoint rule must hold: every
STATE the target emits covers only records that are in the sandbox (ground truth).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from reliability_support import PluginRun, run_target, target_config

LEADS = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["email"],
    "schema": {"type": "object", "properties": {
        "email": {"type": ["string", "null"]},
        "firstName": {"type": ["string", "null"]},
        "leadScore": {"type": ["integer", "null"]},
        "productInterestNotes": {"type": ["string", "null"]},
    }},
}
COMPANIES = {
    "type": "SCHEMA", "stream": "companies", "key_properties": ["externalCompanyId"],
    "schema": {"type": "object", "properties": {
        "externalCompanyId": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]},
        "numberOfEmployees": {"type": ["string", "integer", "null"]},
    }},
}


def lead(email: str, **fields: Any) -> str:
    return json.dumps({"type": "RECORD", "stream": "leads", "record": {"email": email, **fields}},
                      ensure_ascii=False)


def record(stream: str, rec: dict[str, Any]) -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": rec}, ensure_ascii=False)


def state(n: int) -> str:
    return json.dumps({"type": "STATE", "value": {"bookmarks": {"crm": {"n": n}}}})


@dataclass
class Case:
    bad: list[str]  # the bad part (lines)
    verdict: str  # "reject": reject lines, run goes on; "error": the run stops with a message
    stream: str  # the stream the message / reject must name
    record_hint: str | None = None  # text naming the bad record (its key)
    before: list[str] | None = None  # lines before the first good record (e.g. no SCHEMA)
    written: tuple[str, ...] = ()  # lead emails the bad part itself must leave written


CASES: dict[str, Any] = {
    "malformed JSON line": Case(
        ['{"type": "RECORD", "stream": "leads", "record": {"email": '], "error", "leads",
        record_hint="record",
    ),
    "RECORD before SCHEMA": Case(
        [], "error", "leads", before=[lead("bi-early@example.com")],
    ),
    "record violating its schema": Case(
        [lead("bi-violation@example.com", leadScore="high")], "reject-or-error", "leads",
        record_hint="bi-violation@example.com",
    ),
    "missing dedupe key (declared key_properties)": Case(
        [json.dumps(COMPANIES), record("companies", {"company": "No key Inc"})],
        "reject-or-error", "companies", record_hint="No key Inc",
    ),
    "missing dedupe key (no key_properties)": Case(
        [json.dumps({**COMPANIES, "key_properties": []}),
         record("companies", {"company": "No key Inc"})], "reject", "companies",
        record_hint="No key Inc",
    ),
    "unknown object stream": Case(
        [json.dumps({"type": "SCHEMA", "stream": "widgets", "key_properties": ["a"],
                     "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}),
         record("widgets", {"a": "x"})], "error", "widgets",
    ),
    "oversized record (> 1 MB)": Case(
        [lead("bi-huge@example.com", productInterestNotes="x" * 1_200_000)], "reject", "leads",
        record_hint="bi-huge@example.com",
    ),
    "wrong type for the Marketo field": Case(
        [json.dumps(COMPANIES),
         record("companies", {"externalCompanyId": "BI-WRONG", "numberOfEmployees": "many"})],
        "reject", "companies", record_hint="BI-WRONG",
    ),
    "non-ASCII emails": Case(
        [lead("josé.núñez@exämple.com", firstName="José"), lead("名前@例え.jp")], "reject", "leads",
        written=("josé.núñez@exämple.com", "名前@例え.jp"),
    ),
}

GOOD_BEFORE = ("bi-before-1@example.com", "bi-before-2@example.com")
GOOD_AFTER = ("bi-after-1@example.com",)


def _input(case: Case) -> tuple[str, list[tuple[int, set[str]]]]:
    """The Singer text, and for each STATE (by its n) the emails that precede it."""
    lines = list(case.before or [])
    lines.append(json.dumps(LEADS))
    lines += [lead(e, firstName="Good") for e in GOOD_BEFORE]
    lines.append(state(1))
    lines += case.bad
    lines.append(json.dumps(LEADS))
    lines += [lead(e, firstName="Good") for e in GOOD_AFTER]
    lines.append(state(2))
    covered = [(1, set(GOOD_BEFORE)), (2, set(GOOD_BEFORE + GOOD_AFTER + case.written))]
    return "\n".join(lines) + "\n", covered


def _emitted_states(run: PluginRun) -> list[int]:
    return [s["bookmarks"]["crm"]["n"] for s in run.states if "bookmarks" in s]


def _rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


Check = Callable[[Case, PluginRun, list[dict[str, Any]]], None]


def _check_error(case: Case, run: PluginRun, _: list[dict[str, Any]]) -> None:
    assert run.returncode != 0, "bad input accepted with exit 0"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    final = "\n".join(lines[-3:])
    assert case.stream in final, f"stream {case.stream!r} not named:\n{final}"
    if case.record_hint:
        assert case.record_hint in final, f"record not named:\n{final}"


def _check_reject(case: Case, run: PluginRun, rejects: list[dict[str, Any]]) -> None:
    if not case.record_hint:
        return
    ours = [r for r in rejects if r["stream"] == case.stream
            and case.record_hint in json.dumps(r["record"], ensure_ascii=False)]
    assert ours, f"no reject line for the bad {case.stream} record; rejects: {rejects}"
    assert all(r["code"] and r["message"] for r in ours)
    if run.returncode != 0:
        # fail_on_rejects (default): the run fails at its end, everything else written.
        assert "reject" in run.stderr.splitlines()[-1].lower()


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_input_gets_a_clear_error_or_a_reject_and_nothing_acknowledged_is_lost(
    case: Case, fast_sandbox: SandboxControl, sandbox_info: dict[str, str], tmp_path: Path
) -> None:
    rejects_path = tmp_path / "rejects.jsonl"
    text, covered = _input(case)
    run = run_target(tmp_path, target_config(sandbox_info, rejects_path), text, timeout=120)
    rejects = _rejects(rejects_path)
    emails = {lead_["email"] for lead_ in fast_sandbox.objects("leads")}

    # The checkpoint rule, whatever happened.
    emitted = _emitted_states(run)
    for n, needed in covered:
        if n in emitted:
            assert needed <= emails, f"STATE {n} emitted but {needed - emails} not in Marketo"

    if case.verdict == "error":
        _check_error(case, run, rejects)
        return
    if case.verdict == "reject-or-error" and not rejects:
        _check_error(case, run, rejects)
        return
    _check_reject(case, run, rejects)
    # The run went on: every good record and the final STATE made it.
    assert set(GOOD_BEFORE + GOOD_AFTER + case.written) <= emails
    assert 2 in emitted, f"final STATE missing; stderr:\n{run.tail(1500)}"
