"""The Singer SDK's standard target tests, against the sandbox over HTTP.

The SDK's test streams (``test_array_data``, ``TestCamelcase``...) are not Marketo
objects, so each is bound to companies through ``stream_objects``, its first key property
renamed to ``externalCompanyId``, with unknown fields ignored: what the suite checks is
the Singer side (schemas, keys, state, odd data), which must hold whatever the object.
Records with no key at all (``schema_no_properties``) are rejects, not failures.

Every other test of the SDK's default ``target_tests`` suite applies and runs. Excluded:
- ``TargetMultipleStateMessages``: the SDK leaves it out of its own suite. It expects a
  STATE relayed per STATE message; a target relays STATE when it drains, and ours drains
  (writes, then relays) for the whole target at once. Checkpointing is tested directly
  in ``test_target_checkpoints.py`` (every STATE after the records before it are written).
- ``TargetRecordMissingKeyProperty``: it expects the run to abort with the SDK's
  ``MissingKeyPropertiesError`` (naming neither stream nor record, losing the records
  after it). Ours rejects that record with 1003 naming stream, key property and record,
  and goes on (issue 6, bad input): ``test_a_record_missing_its_key_property_is_a_reject``
  below runs the SDK's own file and checks that instead.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class, target_test_streams
from singer_sdk.testing.suites import SingerTestSuite, target_tests
from singer_sdk.testing.target_tests import TargetRecordMissingKeyProperty
from target_helpers import read_rejects, run_target
from target_marketo_crm import TargetMarketoCRM


def _bindings() -> dict[str, Any]:
    """Every stream of the SDK's test files -> companies, keyed on its first key."""
    bindings: dict[str, Any] = {}
    for path in resources.files(target_test_streams).iterdir():
        if not path.name.endswith(".singer"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") != "SCHEMA":
                continue
            keys = message.get("key_properties") or []
            props = message.get("schema", {}).get("properties", {})
            key = keys[0] if keys else ("id" if "id" in props else None)
            fields = {key: "externalCompanyId"} if key else {}
            bindings.setdefault(message["stream"], {"object": "companies", "fields": fields})
    return bindings


# Filled in by the fixture below once the session's sandbox is up: the SDK keeps a
# reference to this dict, so it must exist (and be non-empty) when the class is built.
SDK_CONFIG: dict[str, Any] = {
    "endpoint": "http://sandbox.invalid",
    "client_id": "set-by-fixture",
    "client_secret": "set-by-fixture",
}

# The SDK's suite minus the tests excluded above (each with its reason).
EXCLUDED = (TargetRecordMissingKeyProperty,)
SUITE = SingerTestSuite(
    kind="target", tests=[test for test in target_tests.tests if test not in EXCLUDED]
)

StandardTargetTests = get_target_test_class(
    TargetMarketoCRM, config=SDK_CONFIG, include_target_tests=False, custom_suites=[SUITE]
)


class TestTargetMarketoCRM(StandardTargetTests):  # type: ignore[misc, valid-type]
    @pytest.fixture(autouse=True)
    def _sandbox_config(
        self, fast_sandbox: Any, target_config: Any, tmp_path: Any
    ) -> None:
        SDK_CONFIG.clear()
        SDK_CONFIG.update(target_config(
            stream_objects=_bindings(),
            unknown_fields="ignore",
            fail_on_rejects=False,
            reject_file=str(tmp_path / "sdk-rejects.jsonl"),
        ))


def test_a_record_missing_its_key_property_is_a_reject(
    fast_sandbox: Any, target_config: Any
) -> None:
    """The SDK's ``record_missing_key_property`` file: a reject naming stream and record."""
    path = resources.files(target_test_streams) / "record_missing_key_property.singer"
    config = target_config(stream_objects=_bindings(), fail_on_rejects=False)
    run = run_target(config, path.read_text(encoding="utf-8"))

    (reject,) = read_rejects(config["reject_file"])
    assert reject["stream"] == "test_record_missing_key_property"
    assert reject["code"] == "1003"
    assert "'id'" in reject["message"]
    assert reject["record"] == {"metric": 8214}
    assert run.target.rejects.total == 1
