"""Kill-and-resume: a scheduled pipeline gets SIGKILLed at any moment. For each plugin,
runs are killed at random moments (the seed is printed) and rerun from the last STATE
they emitted, as a scheduler would, until 20 kills have happened; then one run finishes.
No record may be lost (tap: the union of everything emitted equals ground truth; target:
the sandbox equals the expected state); duplicates are counted and reported."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from reliability_support import (
    TAP_CMD,
    TARGET_CMD,
    duplicates,
    plugin_env,
    select,
    tap_args,
    tap_config,
    target_config,
    truth_problems,
    write_json,
)

pytestmark = pytest.mark.slow

KILLS = 20
SEED = int(os.environ.get("RELIABILITY_SEED") or random.randrange(1 << 30))
# Makes a run last a few seconds: export jobs queue and process, every call is slower
# (long enough that kills land mid-export, short enough that 20+ kills stay cheap).
SLOW_SANDBOX = {"export_queued_seconds": 0.1, "export_processing_seconds": 0.1, "latency_ms": 10}


@dataclass
class Attempt:
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    killed: bool = False
    seconds: float = 0.0
    first_line: float | None = None  # seconds from start to the first stdout line

    @property
    def messages(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # the half-written line a SIGKILL leaves
        return out


def _attempt(cmd: list[str], kill_after: float | None, stdin: Path | None, log: Path) -> Attempt:
    """One run; SIGKILLed ``kill_after`` seconds after its start (None: let it finish)."""
    result = Attempt()
    started = time.monotonic()
    # Popen as a context manager closes the stdout pipe: a killed run's pipe is otherwise
    # left for the garbage collector (a ResourceWarning, an error under filterwarnings).
    with log.open("a", encoding="utf-8") as err, (
        stdin.open("rb") if stdin else open(os.devnull, "rb")
    ) as source, subprocess.Popen(
        cmd, stdin=source, stdout=subprocess.PIPE, stderr=err, text=True, env=plugin_env(),
    ) as proc:
        assert proc.stdout is not None
        stdout = proc.stdout

        def read() -> None:
            for line in stdout:
                if result.first_line is None:
                    result.first_line = time.monotonic() - started
                if line.endswith("\n"):
                    result.lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=kill_after if kill_after is not None else 180)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                proc.kill()
                raise
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            result.killed = True
        reader.join(timeout=30)
    result.returncode = proc.returncode
    result.seconds = time.monotonic() - started
    return result


def _report(name: str, attempts: list[Attempt], extra: str) -> str:
    killed = sum(a.killed for a in attempts)
    line = (f"[kill-resume {name}] seed={SEED} runs={len(attempts)} killed={killed} "
            f"finished_early={sum(not a.killed for a in attempts[:-1])} {extra}")
    print(line)
    return line


# --- the tap ----------------------------------------------------------------------------

TAP_STREAMS = ("leads", "activities_visit_webpage", "activities_new_lead",
               "activities_email_delivered", "programs")
TYPE_IDS = {"activities_visit_webpage": 1, "activities_new_lead": 12,
            "activities_email_delivered": 7}


def _record_keys(attempt: Attempt) -> set[tuple[str, Any]]:
    return {(m["stream"], m["record"].get("marketoGUID") or m["record"].get("id"))
            for m in attempt.messages if m.get("type") == "RECORD"}


def test_the_tap_killed_20_times_at_random_loses_no_record(
    fast_sandbox: SandboxControl, sandbox_info: dict[str, str], discovered: dict[str, Any],
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    fast_sandbox.configure(**SLOW_SANDBOX)
    catalog = select(discovered, *TAP_STREAMS)
    config = tap_config(sandbox_info, bulk_poll_interval_seconds=0.05)
    log = tmp_path / "tap.log"

    # How long an undisturbed run takes, so kills land anywhere inside one.
    baseline = _attempt([*TAP_CMD, *tap_args(tmp_path / "base", config, catalog)], None, None, log)
    assert baseline.returncode == 0, log.read_text()[-3000:]
    fast_sandbox.reset_calls()

    # A resumed run has less left to do than a fresh one, so its kill is drawn between the
    # end of start-up (the baseline's first output) and an estimate of its length: the
    # baseline scaled by the share of the sync's records not yet emitted. Kills so land
    # inside the run's work instead of after it, and few syncs end before a kill and have
    # to start over from scratch. Once KILLS kills have happened, runs resume until done.
    startup = baseline.first_line or 0.0
    everything = _record_keys(baseline)
    emitted: set[tuple[str, Any]] = set()  # by the current sync's runs
    state: dict[str, Any] | None = None
    attempts: list[Attempt] = []
    while True:
        left = 1 - len(emitted & everything) / max(len(everything), 1)
        expected = max(startup + (baseline.seconds - startup) * left, startup + 0.5)
        killed = sum(a.killed for a in attempts)
        kill = rng.uniform(startup, expected) if killed < KILLS else None
        folder = tmp_path / f"run{len(attempts)}"
        attempt = _attempt([*TAP_CMD, *tap_args(folder, config, catalog, state)], kill, None, log)
        attempts.append(attempt)
        states = [m["value"] for m in attempt.messages if m.get("type") == "STATE"]
        if states:
            state = states[-1]
        emitted |= _record_keys(attempt)
        if not attempt.killed:
            assert attempt.returncode == 0, log.read_text()[-3000:]
            if sum(a.killed for a in attempts) >= KILLS:
                break
            state = None  # finished before its kill: start a new sync from scratch
            emitted = set()
    records: dict[str, list[dict[str, Any]]] = {}
    for attempt in attempts:
        for m in attempt.messages:
            if m.get("type") == "RECORD":
                records.setdefault(m["stream"], []).append(m["record"])

    problems = {"leads": truth_problems(records.get("leads", []),
                                        fast_sandbox.objects("leads"), ["id"])}
    activities = fast_sandbox.objects("activities")
    for stream, type_id in TYPE_IDS.items():
        truth = [a for a in activities if a["activityTypeId"] == type_id]
        problems[stream] = truth_problems(records.get(stream, []), truth, ["marketoGUID"])
    problems["programs"] = truth_problems(records.get("programs", []),
                                          fast_sandbox.objects("programs"), ["id"])
    dupes = {s: duplicates(r, ["marketoGUID"] if s.startswith("activities") else ["id"])
             for s, r in records.items()}
    _report("tap", attempts, f"baseline={baseline.seconds:.1f}s startup={startup:.1f}s "
            f"duplicates={json.dumps(dupes, sort_keys=True)}")
    assert sum(a.killed for a in attempts) >= KILLS
    assert not {k: v for k, v in problems.items() if v}


# --- the target -------------------------------------------------------------------------

N_COMPANIES = 30
N_LEADS = 600
EVERY = 40  # a STATE after this many records, as a tap's bookmarks would come


def _target_messages() -> list[dict[str, Any]]:
    def schema(stream: str, key: str, *names: str) -> dict[str, Any]:
        props = {n: {"type": ["string", "null"]} for n in names}
        return {"type": "SCHEMA", "stream": stream, "key_properties": [key],
                "schema": {"type": "object", "properties": props}}

    records = [("companies", {"externalCompanyId": f"KR-C{i}", "company": f"Kill {i}"})
               for i in range(N_COMPANIES)]
    records += [("leads", {"email": f"kr-{i}@example.com", "firstName": f"K{i}",
                           "externalCompanyId": f"KR-C{i % N_COMPANIES}"})
                for i in range(N_LEADS)]
    messages = [schema("companies", "externalCompanyId", "externalCompanyId", "company"),
                schema("leads", "email", "email", "firstName", "externalCompanyId")]
    for n, (stream, record) in enumerate(records, start=1):
        messages.append({"type": "RECORD", "stream": stream, "record": record})
        if n % EVERY == 0 or n == len(records):
            messages.append({"type": "STATE", "value": {"bookmarks": {"crm": {"sent": n}}}})
    return messages


def test_the_target_killed_20_times_at_random_loses_no_record(
    fast_sandbox: SandboxControl, sandbox_info: dict[str, str], tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    fast_sandbox.configure(latency_ms=25)
    messages = _target_messages()
    schemas = [m for m in messages if m["type"] == "SCHEMA"]
    body = [m for m in messages if m["type"] != "SCHEMA"]
    config = target_config(sandbox_info, tmp_path / "rejects.jsonl", max_buffer_records=60,
                           records_per_call=100)
    config_path = write_json(tmp_path / "target.json", config)
    cmd = [*TARGET_CMD, "--config", str(config_path)]
    log = tmp_path / "target.log"

    def feed(sent: int) -> Path:
        """The input a tap resuming from bookmark ``sent`` would send."""
        position = 0
        if sent:
            position = next(i for i, m in enumerate(body) if m["type"] == "STATE"
                            and m["value"]["bookmarks"]["crm"]["sent"] == sent) + 1
        path = tmp_path / f"input-{sent}.singer"
        path.write_text("".join(json.dumps(m) + "\n" for m in schemas + body[position:]))
        return path

    # An undisturbed run's length (then the sandbox goes back to its seed).
    baseline = _attempt(cmd, None, feed(0), log)
    assert baseline.returncode == 0, log.read_text()[-3000:]
    fast_sandbox.reset()
    fast_sandbox.configure(rate_limit_calls=1_000_000, latency_ms=25)

    sent = 0
    attempts: list[Attempt] = []
    resent = 0
    while True:
        kill = rng.uniform(0.05, 1.0) * baseline.seconds if len(attempts) < KILLS * 3 else None
        attempt = _attempt(cmd, kill, feed(sent), log)
        attempts.append(attempt)
        emitted = [m["bookmarks"]["crm"]["sent"] for m in attempt.messages if "bookmarks" in m]
        for value in emitted:
            # The checkpoint rule: a STATE means every record before it is in Marketo.
            assert value >= sent
        if emitted:
            sent = emitted[-1]
        if attempt.killed:
            resent += 1
            continue
        assert attempt.returncode == 0, log.read_text()[-3000:]
        if sent == N_COMPANIES + N_LEADS and sum(a.killed for a in attempts) >= KILLS:
            break
        if sent == N_COMPANIES + N_LEADS:
            sent = 0  # finished before its kill: the next sync sends everything again

    leads = {lead["email"]: lead for lead in fast_sandbox.objects("leads")
             if str(lead.get("email") or "").startswith("kr-")}
    companies = {c["externalCompanyId"]: c for c in fast_sandbox.objects("companies")
                 if str(c.get("externalCompanyId") or "").startswith("KR-")}
    want_leads = {m["record"]["email"]: m["record"] for m in body
                  if m["type"] == "RECORD" and m["stream"] == "leads"}
    problems = [f"lead {e} missing" for e in sorted(set(want_leads) - set(leads))]
    problems += [f"lead {e}.{k}" for e, rec in want_leads.items() if e in leads
                 for k, v in rec.items() if leads[e].get(k) != v]
    problems += [f"company KR-C{i} missing" for i in range(N_COMPANIES)
                 if f"KR-C{i}" not in companies]
    dupes = len(leads) - len({lead["email"] for lead in leads.values()})
    _report("target", attempts, f"baseline={baseline.seconds:.1f}s "
            f"duplicate_leads_in_marketo={dupes} resent_runs={resent}")
    assert sum(a.killed for a in attempts) >= KILLS
    assert not problems[:10]
    assert len(leads) == N_LEADS
