"""Bad settings, bad records and fatal errors: each says what is wrong in one line.

- A setting out of its range or naming no Marketo object fails config validation with a
  message naming the setting.
- A record breaking its stream's schema, or missing a declared key property, is a reject
  naming stream, field and record; the run goes on.
- A fatal error (credentials, an unmapped stream, the reject threshold) ends the CLI run
  with one ERROR line and exit 1; its traceback only at DEBUG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox.testing import SandboxControl
from singer_sdk.exceptions import ConfigValidationError
from target_helpers import read_rejects, run_target
from target_marketo_crm import TargetMarketoCRM
from target_marketo_crm.settings import TargetSettings

BASE = {"endpoint": "https://123-ABC-456.mktorest.com", "client_id": "id", "client_secret": "s"}


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"max_reject_share": 2}, "max_reject_share"),
        ({"max_reject_share": -0.1}, "max_reject_share"),
        ({"records_per_call": 301}, "records_per_call"),
        ({"records_per_call": 0}, "records_per_call"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": 11}, "max_concurrency"),
        ({"bulk_import_threshold": -1}, "bulk_import_threshold"),
        ({"bulk_import_poll_seconds": 0}, "bulk_import_poll_seconds"),
        ({"rate_limit_calls": 0}, "rate_limit_calls"),
        ({"rate_limit_window_seconds": 0}, "rate_limit_window_seconds"),
        ({"rate_limit_headroom": -1}, "rate_limit_headroom"),
        ({"rate_limit_calls": 10, "rate_limit_headroom": 10}, "rate_limit_headroom"),
        ({"rate_limit_calls": 5}, "rate_limit_headroom"),  # the default headroom is 10
        ({"max_daily_calls": 0}, "max_daily_calls"),
        ({"max_buffer_records": 0}, "max_buffer_records"),
        ({"lookup_field": ""}, "lookup_field"),
        ({"identity": "mktorest.com/identity"}, "identity"),
        ({"actions": {"widgets": "createOnly"}}, "actions"),
        ({"actions": {"leads": "upsert"}}, "actions"),
        ({"stream_objects": {"Account": {"object": "widgets"}}}, "stream_objects"),
        ({"stream_objects": {"Account": {"object": "customobjects/"}}}, "stream_objects"),
        ({"stream_objects": {"Account": {"object": "companies", "field": {}}}},
         "stream_objects"),
        ({"unknown_fields": "maybe"}, "unknown_fields"),
    ],
)
def test_an_invalid_setting_fails_validation_naming_it(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigValidationError) as failure:
        TargetMarketoCRM(config={**BASE, **change}, parse_env_config=False)
    assert failure.value.errors, "no error listed"
    assert any(named in error for error in failure.value.errors), failure.value.errors


@pytest.mark.parametrize(
    "change",
    [
        {"max_reject_share": 0.25},
        {"max_reject_share": 1},
        {"actions": {"program_memberships": "updateOnly", "customobjects/car_c": "createOnly",
                     "custom_car_c": "createOnly"}},
        # A field mapped to null is dropped, as documented.
        {"stream_objects": {"Account": {"object": "companies",
                                        "fields": {"Id": "externalCompanyId", "Junk": None}}}},
        {"stream_objects": {"Car": {"object": "custom_car_c"}}},
        {"rate_limit_calls": 11, "rate_limit_headroom": 10},
        {"endpoint": "https://sj-1.mktorest.com", "identity": "https://sj-1.mktorest.com/identity"},
        {"bulk_import_threshold": 0, "records_per_call": 300, "max_concurrency": 10},
    ],
)
def test_valid_settings_pass(change: dict[str, Any]) -> None:
    target = TargetMarketoCRM(config={**BASE, **change}, parse_env_config=False)
    # Accepted as given, not silently replaced; the typed view keeps scalar settings as
    # they are (object names in `actions` / `stream_objects` are normalized there).
    assert {name: target.config[name] for name in change} == change
    assert target.extra_config_errors() == []
    settings = target.settings
    for name in set(change) & set(TargetSettings.__dataclass_fields__):
        if not isinstance(change[name], dict):
            assert getattr(settings, name) == change[name], name


# --- records breaking their schema or their key properties ----------------------------------

LEADS = {
    "type": "SCHEMA", "stream": "leads", "key_properties": ["crmContactId"],
    "schema": {"type": "object", "properties": {
        "crmContactId": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
        "leadScore": {"type": ["integer", "null"]},
        "lastTradeShowAt": {"type": ["string", "null"], "format": "date-time"},
    }},
}


def _lead(**record: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "leads", "record": record}


def test_records_breaking_their_schema_or_keys_are_rejects_and_the_run_goes_on(
    fast_sandbox: SandboxControl, target_config: Any
) -> None:
    config = target_config(fail_on_rejects=False)
    run = run_target(config, [
        LEADS,
        _lead(crmContactId="BI-1", email="bi1@example.com"),
        _lead(crmContactId="BI-2", email="bi2@example.com", leadScore="high"),
        _lead(crmContactId="BI-3", email="bi3@example.com", lastTradeShowAt="someday"),
        _lead(email="bi4@example.com"),
        _lead(crmContactId="BI-5", email="bi5@example.com", leadScore=7),
        {"type": "STATE", "value": {"n": 1}},
    ])

    rejects = {r["record"]["email"]: r for r in read_rejects(config["reject_file"])}
    assert set(rejects) == {"bi2@example.com", "bi3@example.com", "bi4@example.com"}
    schema = rejects["bi2@example.com"]
    assert (schema["stream"], schema["code"]) == ("leads", "SCHEMA")
    assert schema["key"] == {"crmContactId": "BI-2"}
    assert "Field 'leadScore'" in schema["message"]
    assert "'high' is not of type 'integer'" in schema["message"]
    assert schema["record"] == {"crmContactId": "BI-2", "email": "bi2@example.com",
                                "leadScore": "high"}
    date = rejects["bi3@example.com"]
    assert date["code"] == "SCHEMA"
    assert "someday" in date["message"] or "lastTradeShowAt" in date["message"]
    missing = rejects["bi4@example.com"]
    assert missing["code"] == "1003"
    assert "'crmContactId'" in missing["message"]
    assert "stream 'leads'" in missing["message"]

    written = {lead.get("crmContactId"): lead for lead in fast_sandbox.objects("leads")}
    assert {"BI-1", "BI-5"} <= set(written)
    assert not {"BI-2", "BI-3"} & set(written)
    assert written["BI-5"]["leadScore"] == 7
    assert run.states == [{"n": 1}]
    assert run.target.records_seen == 5


# --- fatal errors through the CLI ----------------------------------------------------------

TARGET_CMD = [
    sys.executable, "-c",
    "from target_marketo_crm.target import TargetMarketoCRM; TargetMarketoCRM.cli()",
]


def _cli(tmp_path: Path, config: dict[str, Any], messages: list[dict[str, Any]],
         **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_MARKETO")}
    environ.update(PYTHONWARNINGS="ignore", **env)
    return subprocess.run(
        [*TARGET_CMD, "--config", str(path)], capture_output=True, text=True, timeout=120,
        check=False, env=environ,
        input="".join(json.dumps(m) + "\n" for m in messages),
    )


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


FATAL_CASES = {
    "wrong credentials": ({"client_secret": "wrong"}, [LEADS, _lead(crmContactId="F-1")],
                          "credentials"),
    "unmapped stream": ({}, [{**LEADS, "stream": "widgets"}], "'widgets'"),
    "reject threshold": ({}, [LEADS, _lead(email="nokey@example.com")],
                         "1 of 1 records rejected"),
}


@pytest.mark.parametrize("case", FATAL_CASES.values(), ids=list(FATAL_CASES))
def test_a_fatal_error_ends_the_run_with_one_clear_line(
    case: tuple[dict[str, Any], list[dict[str, Any]], str], fast_sandbox: SandboxControl,
    target_config: Any, tmp_path: Path,
) -> None:
    change, messages, words = case
    proc = _cli(tmp_path, target_config(**change), messages)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = _last_line(proc.stderr)
    assert "ERROR" in last
    assert words in last, last

    debug = _cli(tmp_path, target_config(**change), messages,
                 TARGET_MARKETO_CRM_LOGLEVEL="DEBUG")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert words in _last_line(debug.stderr) or words in debug.stderr


def test_an_invalid_setting_ends_the_cli_run_with_its_name(
    tmp_path: Path, target_config: Any
) -> None:
    proc = _cli(tmp_path, target_config(max_reject_share=2), [LEADS])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "max_reject_share" in lines[-2]
    assert "Config validation failed" in lines[-1]


@pytest.mark.parametrize("name", ["client_secret", "client_id"])
def test_a_bad_secret_setting_is_named_but_its_value_never_shown(name: str) -> None:
    with pytest.raises(ConfigValidationError) as failure:
        TargetMarketoCRM(config={**BASE, name: 987654321}, parse_env_config=False)
    (error,) = failure.value.errors
    assert f"config['{name}']" in error
    assert "987654321" not in error
