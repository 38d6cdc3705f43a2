"""ACTIVATE_VERSION: a stream read whole on every run (activity_types) ends with one, after
its last record and with the version its records carry, so a loader that honours it drops
the rows Marketo no longer lists. Streams read by bookmark or by change never get one, and
a read that did not finish never retires anything."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.testing import SandboxControl
from tap_helpers import run_tap, select_only


def _of(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("stream") == stream and m["type"] != "SCHEMA"]


def test_activity_types_end_with_activate_version_of_their_records(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    run = run_tap(config, select_only(catalog, "activity_types", "list_memberships", "leads"))
    messages = _of(run.messages, "activity_types")
    assert [m["type"] for m in messages] == ["RECORD"] * 32 + ["ACTIVATE_VERSION"]
    version = messages[-1]["version"]
    assert isinstance(version, int)
    assert version > 0
    assert {m["version"] for m in messages[:-1]} == {version}

    # list_memberships has no replication key (the SDK calls it FULL_TABLE) but after the
    # first sync it carries only changes: a version would retire every other membership.
    for stream in ("list_memberships", "leads"):
        streamed = _of(run.messages, stream)
        assert streamed, stream
        assert not [m for m in streamed if m["type"] == "ACTIVATE_VERSION"], stream
        assert not [m for m in streamed if "version" in m], stream

    # Each run is a new version, larger than the last.
    again = _of(run_tap(config, select_only(catalog, "activity_types")).messages, "activity_types")
    assert again[-1]["type"] == "ACTIVATE_VERSION"
    assert again[-1]["version"] > version


def test_an_unfinished_read_sends_no_activate_version(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    fast_sandbox.fault(path=r"/rest/v1/activities/types\.json", code="607")
    run = run_tap(config, select_only(catalog, "activity_types"))
    assert run.incomplete
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
