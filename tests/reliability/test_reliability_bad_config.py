"""Bad settings for both plugins: a missing or invalid setting ends the run with a
non-zero exit and a clear message naming the setting (in the run's last log lines, where
a scheduler's user looks), before anything is read or written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from reliability_support import (
    PluginRun,
    run_tap,
    run_target,
    select,
    singer,
    tap_config,
    target_config,
)

DROP = object()  # a setting left out

# case id -> (change, words the final message must contain); xfail cases carry a reason.
TAP_CASES: list[Any] = [
    pytest.param({"client_id": DROP}, ["client_id"], id="missing client_id"),
    pytest.param({"client_secret": DROP}, ["client_secret"], id="missing client_secret"),
    pytest.param({"endpoint": DROP}, ["endpoint"], id="missing endpoint"),
    pytest.param({"start_date": DROP}, ["start_date"], id="missing start_date"),
    pytest.param(
        {"max_export_days": "lots"}, ["max_export_days"], id="non-integer max_export_days"
    ),
    pytest.param(
        {"endpoint": "123-ABC-456.mktorest.com"}, ["endpoint"], id="endpoint without scheme"
    ),
    pytest.param(
        {"start_date": "yesterday"}, ["start_date"], id="unparseable start_date",
    ),
    pytest.param(
        {"bulk_poll_interval_seconds": -1}, ["bulk_poll_interval_seconds"],
        id="negative bulk_poll_interval_seconds",
    ),
    pytest.param(
        {"lookback_window_days": -3}, ["lookback_window_days"],
        id="negative lookback_window_days",
    ),
    pytest.param(
        {"max_export_days": 90}, ["max_export_days"], id="max_export_days over Marketo's 31",
    ),
    pytest.param(
        {"max_concurrency": 0}, ["max_concurrency"], id="max_concurrency 0",
    ),
]

TARGET_CASES: list[Any] = [
    pytest.param({"client_id": DROP}, ["client_id"], id="missing client_id"),
    pytest.param({"client_secret": DROP}, ["client_secret"], id="missing client_secret"),
    pytest.param({"endpoint": DROP}, ["endpoint"], id="missing endpoint"),
    pytest.param({"endpoint": "mktorest.com"}, ["endpoint"], id="endpoint without scheme"),
    pytest.param({"actions": {"leads": "upsert"}}, ["actions", "upsert"], id="unknown action"),
    pytest.param({"unknown_fields": "maybe"}, ["unknown_fields"], id="invalid unknown_fields"),
    pytest.param(
        {"records_per_call": "many"}, ["records_per_call"], id="non-integer records_per_call"
    ),
    pytest.param(
        {"stream_objects": {"Account": {"object": "widgets"}}}, ["widgets"],
        id="stream_objects naming no Marketo object",
    ),
    pytest.param(
        {"max_reject_share": 2}, ["max_reject_share"], id="max_reject_share over 1",
    ),
]


def _apply(config: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for key, value in change.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _assert_clear_failure(run: PluginRun, words: list[str]) -> None:
    assert run.returncode != 0, f"exit 0 for a bad setting; stderr ends:\n{run.tail(800)}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    final = "\n".join(lines[-4:])
    for word in words:
        assert word in final, f"{word!r} not named in the final message:\n{final}"


@pytest.mark.parametrize(("change", "words"), TAP_CASES)
def test_a_bad_tap_setting_fails_with_a_message_naming_it(
    change: dict[str, Any], words: list[str], fast_sandbox: SandboxControl,
    sandbox_info: dict[str, str], discovered: dict[str, Any], tmp_path: Path,
) -> None:
    config = _apply(tap_config(sandbox_info), change)
    run = run_tap(tmp_path, config, select(discovered, "leads"), timeout=60)
    _assert_clear_failure(run, words)
    assert not run.records, "records were emitted under a bad setting"


@pytest.mark.parametrize(("change", "words"), TARGET_CASES)
def test_a_bad_target_setting_fails_with_a_message_naming_it(
    change: dict[str, Any], words: list[str], fast_sandbox: SandboxControl,
    sandbox_info: dict[str, str], tmp_path: Path,
) -> None:
    before = len(fast_sandbox.objects("companies"))
    config = _apply(target_config(sandbox_info, tmp_path / "rejects.jsonl"), change)
    lines = singer([
        {"type": "SCHEMA", "stream": "Account", "key_properties": ["Id"],
         "schema": {"type": "object", "properties": {"Id": {"type": ["string", "null"]}}}},
        {"type": "RECORD", "stream": "Account", "record": {"Id": "BADCFG-1"}},
        {"type": "SCHEMA", "stream": "companies", "key_properties": ["externalCompanyId"],
         "schema": {"type": "object",
                    "properties": {"externalCompanyId": {"type": ["string", "null"]}}}},
        {"type": "RECORD", "stream": "companies", "record": {"externalCompanyId": "BADCFG-2"}},
    ])
    if "stream_objects" not in change:
        config["stream_objects"] = {
            "Account": {"object": "companies", "fields": {"Id": "externalCompanyId"}}
        }
        if change.get("max_reject_share") is not None:
            # Only a reject makes the share matter.
            lines += singer([{"type": "RECORD", "stream": "companies", "record": {}}])
    run = run_target(tmp_path, config, lines, timeout=60)
    _assert_clear_failure(run, words)
    if "max_reject_share" not in change:
        assert len(fast_sandbox.objects("companies")) == before, "written under a bad setting"
