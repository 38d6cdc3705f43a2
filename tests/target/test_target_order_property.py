"""Property (issue 6): any interleaving of the streams of a CRM Singer file, deletes
included, leaves the same final Marketo state as the file in its own order.

Hypothesis draws an interleaving of each day's messages (every stream keeps its own order
and its SCHEMA first; whole-stream permutations are among the interleavings), the sandbox
is reset, both days are written, and every object kind the target writes is compared,
from ``/_sandbox/objects/<kind>``, with the state the unshuffled files leave.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxControl
from target_helpers import ACCOUNT_BINDING, DATA, read_messages, read_rejects, run_target

DAY1 = read_messages(DATA / "crm_day1.singer")
DAY2 = read_messages(DATA / "crm_day2.singer")

# Every kind the target writes (activity logs are history, not state).
KINDS = (
    "salespersons", "companies", "leads", "opportunities", "opportunity_roles",
    "customobjects/car_c", "customobjects/subscription_c", "program_members",
    "list_members", "campaign_requests",
)
# Assigned by Marketo in creation order, or read off the clock: never part of a state.
VOLATILE = frozenset({
    "id", "marketoGUID", "seq", "createdAt", "updatedAt", "requestId", "requestedAt",
    "membershipDate", "reachedSuccessDate",
})
# Fields holding Marketo lead ids, which depend on creation order.
LEAD_ID_FIELDS = ("leadId", "leadIds", "skippedLeadIds")


def _queues(
    messages: list[dict[str, Any]],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    queues: dict[str, list[dict[str, Any]]] = {}
    tail: list[dict[str, Any]] = []
    for message in messages:
        if message["type"] == "STATE":
            tail.append(message)
        else:
            queues.setdefault(message["stream"], []).append(message)
    return queues, tail


def interleavings(messages: list[dict[str, Any]]) -> st.SearchStrategy[list[str]]:
    """An interleaving as the stream of each message in turn (a permutation of the
    file's own sequence, so a failing example reads as a list of stream names)."""
    queues, _ = _queues(messages)
    return st.permutations([stream for stream, queue in queues.items() for _ in queue])


def weave(messages: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """The messages in that interleaving: each stream keeps its own order (SCHEMA first);
    STATE messages stay last."""
    queues, tail = _queues(messages)
    position = dict.fromkeys(queues, 0)
    out = []
    for stream in order:
        out.append(queues[stream][position[stream]])
        position[stream] += 1
    return out + tail


def _lead_label(lead: dict[str, Any]) -> str:
    return str(lead.get("crmContactId") or lead.get("email") or f"id:{lead['id']}")


def snapshot(sandbox: SandboxControl) -> dict[str, list[str]]:
    """``sandbox.objects(kind)`` for every kind, without what creation order decides:
    volatile fields dropped, lead ids replaced by the lead's own key."""
    labels = {lead["id"]: _lead_label(lead) for lead in sandbox.objects("leads")}

    def label(value: Any) -> Any:
        if isinstance(value, list):
            return sorted(str(labels.get(v, v)) for v in value)
        return labels.get(value, value)

    state: dict[str, list[str]] = {}
    for kind in KINDS:
        rows = []
        for obj in sandbox.objects(kind):
            clean = {k: v for k, v in obj.items() if k not in VOLATILE}
            for name in LEAD_ID_FIELDS:
                if name in clean:
                    clean[name] = label(clean[name])
            rows.append(json.dumps(clean, sort_keys=True, default=str))
        state[kind] = sorted(rows)
    return state


class Runner:
    """Writes both days into a freshly reset sandbox and returns its state."""

    def __init__(self, server: SandboxServer, folder: Path) -> None:
        self.control = SandboxControl(server.url)
        self.info = server.info()
        self.folder = folder
        self.runs = 0
        self._reference: dict[str, list[str]] | None = None

    @property
    def reference(self) -> dict[str, list[str]]:
        """The state the files leave in their own order."""
        if self._reference is None:
            state, rejects, _ = self(DAY1, DAY2)
            assert rejects == []
            assert state["leads"], "the reference run wrote nothing"
            self._reference = state
        return self._reference

    def __call__(self, day1: list[dict[str, Any]], day2: list[dict[str, Any]]) -> Any:
        self.control.reset()
        self.control.configure(rate_limit_calls=1_000_000)
        self.runs += 1
        reject_file = self.folder / f"rejects-{self.runs}.jsonl"
        config = {
            "endpoint": self.info["endpoint"], "identity": self.info["identity"],
            "client_id": self.info["client_id"], "client_secret": self.info["client_secret"],
            "lookup_field": "crmContactId", "reject_file": str(reject_file),
            "stream_objects": {"Account": ACCOUNT_BINDING}, "rate_limit_calls": 1_000_000,
            # Rejects are asserted on (with their messages), not raised.
            "fail_on_rejects": False,
        }
        outcomes: dict[str, int] = {}
        for messages in (day1, day2):
            run = run_target(config, messages)
            for key, n in run.target.writer.tally.outcomes.items():
                outcomes[key] = outcomes.get(key, 0) + n
        return snapshot(self.control), read_rejects(reject_file), outcomes


@pytest.fixture(scope="module")
def runner(sandbox_server: SandboxServer) -> Iterator[Runner]:
    with tempfile.TemporaryDirectory(prefix="order-property-") as folder:
        yield Runner(sandbox_server, Path(folder))


@settings(max_examples=8, deadline=None, database=None)
@given(day1=interleavings(DAY1), day2=interleavings(DAY2))
def test_any_interleaving_of_the_streams_gives_the_same_state(
    runner: Runner, day1: list[str], day2: list[str]
) -> None:
    reference = runner.reference
    state, rejects, outcomes = runner(weave(DAY1, day1), weave(DAY2, day2))

    assert rejects == []
    # Children before parents, whatever the arrival order: no delete met its object
    # gone or still in use, nothing was refused.
    assert not any("already gone" in k or "rejected" in k for k in outcomes), outcomes
    for kind in KINDS:
        assert state[kind] == reference[kind], f"{kind} differs from the unshuffled run"
