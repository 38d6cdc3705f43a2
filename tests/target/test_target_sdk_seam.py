"""The target's seam to singer-sdk internals (target_marketo_crm/sdk_seam.py) holds.

An SDK upgrade may rename, re-sign or rewrite a private member the seam relies on
without any deprecation. These tests fail first, naming what to re-check: each private
member used must exist with the signature recorded here, and the SDK source of each
method the seam overrides (or whose behaviour it relies on) must hash to the value
recorded when the seam was last checked. After re-checking the seam against the new SDK,
update SDK_VERSION_CHECKED in sdk_seam.py and the values below.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import target_marketo_crm
from singer_sdk.io_base import SingerReader
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import Sink
from singer_sdk.target_base import Target
from target_marketo_crm import sdk_seam
from target_marketo_crm.target import TargetMarketoCRM

# (owner, member, signature, sha256[:16] of its source or None, what to re-check)
MEMBERS: list[tuple[type, str, str, str | None, str]] = [
    (PluginBase, "_validate_config",
     "(self, *, raise_errors: 'bool' = True) -> 'list[str]'", "0584b9e347e353fa",
     "SeamTarget._validate_config repeats its steps (append_builtin_config, the "
     "default-filling JSONSchemaValidator on self._config, ConfigValidationError): still "
     "what the constructor calls, still the same steps"),
    (Target, "_drain_all",
     "(self, sink_list: 'Iterable[Sink]', parallelism: 'int') -> 'None'", "8160903b09186596",
     "SeamTarget._drain_all: it replaces the SDK's per-sink drain"),
    (Target, "drain_all", "(self, *, is_endofpipe: 'bool' = False) -> 'None'",
     "1da0109210d345c4",
     "SeamTarget._drain_all relies on drain_all calling it first with _sinks_to_clear, "
     "then with the active sinks, then emitting STATE"),
    (Target, "_handle_max_record_age", "(self) -> 'None'", "5762750ab1035404",
     "SeamTarget._handle_max_record_age: still the per-record hook, drains on age"),
    (Target, "invoke",
     "(cls, *, about: 'bool' = False, about_format: 'str | None' = None, "
     "config: '_ConfigInput | None' = None, file_input: 't.IO[str] | None' = None) "
     "-> 'None'", "09090ea685c4bda1",
     "SeamTarget.invoke: still builds the target and listens; errors still escape it"),
    (Sink, "_remove_sdc_metadata_from_schema", "(self) -> 'None'", "2dc71b7ab109162a",
     "SeamSink keeps _sdc_deleted_at in the schema around this call"),
    (Sink, "_remove_sdc_metadata_from_record", "(self, record: 'dict') -> 'None'",
     "7cd9e5fb192f13ec", "SeamSink keeps _sdc_deleted_at in the record around this call"),
    (Sink, "_validate_and_parse", "(self, record: 'dict') -> 'dict'", "970aadabcc4da8c7",
     "SeamSink._validate_and_parse repeats these steps with a verdict instead of a raise"),
    (Sink, "_singer_validate_message", "(self, record: 'dict') -> 'None'", "018b08ee7f624f61",
     "SeamSink._singer_validate_message replaces the missing-key raise with a verdict"),
    (Sink, "_parse_timestamps_in_record",
     "(self, record: 'dict', schema: 'dict', treatment: 'DatetimeErrorTreatmentEnum') "
     "-> 'None'", None, "SeamSink._validate_and_parse calls it with these keywords"),
]


def _source_hash(member: Any) -> str:
    return hashlib.sha256(inspect.getsource(member).encode()).hexdigest()[:16]


def _function(owner: type, name: str) -> Any:
    member = inspect.getattr_static(owner, name)
    return member.__func__ if isinstance(member, classmethod | staticmethod) else member


def test_the_seam_was_checked_against_the_installed_sdk() -> None:
    from importlib.metadata import version  # noqa: PLC0415

    installed = version("singer-sdk")
    assert installed == sdk_seam.SDK_VERSION_CHECKED, (
        f"singer-sdk is {installed}, the seam was checked against "
        f"{sdk_seam.SDK_VERSION_CHECKED}: re-check target_marketo_crm/sdk_seam.py against "
        "the new SDK (the tests below say where), then update SDK_VERSION_CHECKED"
    )


@pytest.mark.parametrize(
    ("owner", "name", "signature", "digest", "recheck"), MEMBERS,
    ids=[f"{owner.__name__}.{name}" for owner, name, *_ in MEMBERS],
)
def test_each_sdk_member_the_seam_relies_on_is_unchanged(
    owner: type, name: str, signature: str, digest: str | None, recheck: str
) -> None:
    where = f"singer_sdk {owner.__name__}.{name}"
    assert name in vars(owner), f"{where} is gone: re-check {recheck}"
    function = _function(owner, name)
    assert str(inspect.signature(function)) == signature, (
        f"{where} changed its signature to {inspect.signature(function)}: re-check {recheck}"
    )
    if digest is not None:
        assert _source_hash(function) == digest, (
            f"{where} changed its source (hash {_source_hash(function)}): re-check {recheck}"
        )


def test_the_seam_overrides_what_it_says_and_nothing_resolves_around_it() -> None:
    # The target's classes get these members from the seam, not from elsewhere.
    for name in ("_validate_config", "_drain_all", "_handle_max_record_age", "invoke"):
        assert name in vars(sdk_seam.SeamTarget), name
        assert name not in vars(TargetMarketoCRM), f"{name} overridden outside the seam"
    for name in ("_remove_sdc_metadata_from_schema", "_remove_sdc_metadata_from_record",
                 "_validate_and_parse", "_singer_validate_message"):
        assert name in vars(sdk_seam.SeamSink), name
    # The sink checks run on BatchSink as on Sink (BatchSink does not override them).
    for name in ("_validate_and_parse", "_singer_validate_message"):
        assert name not in vars(BatchSink), f"BatchSink now overrides {name}: re-check"


def test_the_private_state_the_seam_reads_is_still_there() -> None:
    target = TargetMarketoCRM(
        config={"endpoint": "https://123-ABC-456.mktorest.com", "client_id": "id",
                "client_secret": "secret"},
        parse_env_config=False,
    )
    assert dict(target.config) == target._config, (
        "PluginBase._config is no longer the dict behind .config: re-check "
        "SeamTarget._validate_config (the validator fills defaults into it)")
    assert target._config["max_buffer_records"] == 50_000, (
        "defaults are no longer filled into _config: re-check SeamTarget._validate_config")
    assert isinstance(target._sinks_active, dict), (
        "Target._sinks_active is gone or not a dict: re-check SeamTarget.buffered_in_sinks")
    assert isinstance(target._sinks_to_clear, list), (
        "Target._sinks_to_clear is gone or not a list: re-check SeamTarget._drain_all and "
        "buffered_in_sinks")
    # The per-record hook is still called from the record handler.
    handler = inspect.getsource(Target._process_record_message)
    assert "self._handle_max_record_age()" in handler, (
        "Target._process_record_message no longer calls _handle_max_record_age: the "
        "buffer limit (max_buffer_records) would never drain; re-check SeamTarget")

    class Probe(BatchSink):
        def process_batch(self, context: dict) -> None:
            _ = context

    sink = Probe(target, "leads", {"type": "object", "properties": {}}, [])
    assert hasattr(sink, "_validator"), (
        "Sink._validator is gone: re-check SeamSink._validate_and_parse")


# --- nothing else in the target touches an SDK private member -------------------------------

_SDK_CLASSES = (PluginBase, Target, Sink, BatchSink, SingerReader)


def _sdk_private_names() -> set[str]:
    names: set[str] = set()
    for cls in _SDK_CLASSES:
        for klass in cls.__mro__:
            if not klass.__module__.startswith("singer_sdk"):
                continue
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
            names |= set(re.findall(r"self\.(_[a-z]\w*)", inspect.getsource(klass)))
    return names


def _own_private_names(trees: dict[Path, ast.Module]) -> set[str]:
    """Private names the target defines itself (its own methods and attributes)."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def test_no_module_but_the_seam_touches_a_private_sdk_member() -> None:
    package = Path(target_marketo_crm.__file__).parent
    trees = {path: ast.parse(path.read_text()) for path in sorted(package.glob("*.py"))
             if path.name != "sdk_seam.py"}
    sdk_private = _sdk_private_names()
    # A name the target defines for itself (Writer._lock) is its own, unless it
    # overrides the SDK's: overriding is touching.
    overridden: list[str] = []
    touched: list[str] = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name in sdk_private:
                        overridden.append(f"{path.name}: {node.name}.{item.name}")
    own = _own_private_names(trees) - {o.rsplit(".", 1)[1] for o in overridden}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr in sdk_private
                    and node.attr not in own):
                touched.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not overridden, f"SDK private methods overridden outside sdk_seam.py: {overridden}"
    assert not touched, f"SDK private members used outside sdk_seam.py: {touched}"
