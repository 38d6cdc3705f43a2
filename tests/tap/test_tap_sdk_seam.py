"""The tap's one seam to singer-sdk internals (``tap_marketo_crm.sdk_seam``) still fits
the installed SDK, and nothing else in the tap touches a private SDK member.

When an SDK upgrade fails one of these, re-check the ``sdk_seam`` entry the message
names against the new SDK source, then update the recorded signature or hash here.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tap_marketo_crm
from singer_sdk import Stream, Tap
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import PluginBase, _ConfigInput
from tap_marketo_crm import sdk_seam

PACKAGE = Path(tap_marketo_crm.__file__).parent


def _sha(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


# SDK code the seam overrides, copies or relies on: its source as checked (sha256 prefix).
CHECKED_SOURCES = {
    # copied by sdk_seam.run_tap_command
    "Tap.invoke": (lambda: Tap.invoke, "d84e3568823eaf23", "run_tap_command"),
    # overridden by sdk_seam.SeamTap._validate_config
    "PluginBase._validate_config": (
        lambda: PluginBase._validate_config,
        "0584b9e347e353fa",
        "SeamTap._validate_config",
    ),
    # called by sdk_seam.write_schema_message
    "Stream._write_schema_message": (
        lambda: Stream._write_schema_message,
        "4077b24e5440fdef",
        "write_schema_message",
    ),
    # the sync order: sync_all syncs the streams mapping in its order
    # called by sdk_seam.write_activate_version
    "Stream._write_activate_version_message": (
        lambda: Stream._write_activate_version_message,
        "b5295d35a81b3da6",
        "write_activate_version",
    ),
    "Tap.sync_all": (lambda: Tap.sync_all, "e4412393757b4cdc", "TapMarketoCRM.streams"),
    "Tap.streams": (lambda: Tap.streams.fget, "5fc6b7f1f5dc0e3e", "TapMarketoCRM.streams"),
}

# Private members the seam uses: their signatures as checked.
CHECKED_SIGNATURES = {
    "Tap.invoke": (
        lambda: Tap.invoke,
        "(*, about: 'bool' = False, about_format: 'str | None' = None, "
        "config: '_ConfigInput | None' = None, state: 't.IO[str] | None' = None, "
        "catalog: 't.IO[str] | None' = None) -> 'None'",
        "run_tap_command",
    ),
    "PluginBase.invoke": (
        lambda: PluginBase.invoke,
        "(*, about: 'bool' = False, about_format: 'str | None' = None, "
        "**kwargs: 't.Any') -> 'None'",
        "run_tap_command",
    ),
    "PluginBase._validate_config": (
        lambda: PluginBase._validate_config,
        "(self, *, raise_errors: 'bool' = True) -> 'list[str]'",
        "SeamTap._validate_config",
    ),
    "Stream._write_schema_message": (
        lambda: Stream._write_schema_message,
        "(self) -> 'None'",
        "write_schema_message",
    ),
    "Stream._write_activate_version_message": (
        lambda: Stream._write_activate_version_message,
        "(self, full_table_version: 'int') -> 'None'",
        "write_activate_version",
    ),
    "helpers._util.load_json": (
        lambda: load_json,
        "(json_str: 'str', **kwargs: 't.Any') -> 'dict'",
        "run_tap_command",
    ),
    "plugin_base._ConfigInput": (
        lambda: _ConfigInput,
        "(config: 'dict[str, t.Any]' = <factory>, parse_env: 'bool' = False) -> None",
        "run_tap_command",
    ),
}


@pytest.mark.parametrize("name", CHECKED_SOURCES)
def test_the_sdk_code_the_seam_depends_on_is_unchanged(name: str) -> None:
    get, recorded, seam = CHECKED_SOURCES[name]
    assert _sha(get()) == recorded, f"singer-sdk changed {name}; re-check sdk_seam.{seam}"


@pytest.mark.parametrize("name", CHECKED_SIGNATURES)
def test_the_private_sdk_members_the_seam_uses_keep_their_signature(name: str) -> None:
    get, recorded, seam = CHECKED_SIGNATURES[name]
    assert str(inspect.signature(get())) == recorded, (
        f"singer-sdk changed {name}; re-check sdk_seam.{seam}"
    )


@pytest.mark.parametrize(
    ("owner", "attribute", "seam"),
    [
        (PluginBase.__init__, "self._config", "SeamTap._validate_config"),
        (Stream.__init__, "self._stream_version", "stream_version"),
        (Stream._generate_record_messages, "version=self._stream_version", "stream_version"),
        (Stream.__init__, "self._stream_version", "start_table_version"),
        # MarketoStream.emit_activate_version_messages turns the SDK's own message off
        (Stream.sync, "self.emit_activate_version_messages", "write_activate_version"),
    ],
)
def test_the_private_sdk_attributes_the_seam_reads_still_exist(
    owner: Callable[..., Any], attribute: str, seam: str
) -> None:
    assert attribute in inspect.getsource(owner), (
        f"singer-sdk changed {owner.__qualname__} ({attribute} is gone); re-check sdk_seam.{seam}"
    )


def test_the_seam_names_the_sdk_version_it_was_checked_against() -> None:
    assert sdk_seam.SDK_VERSION_CHECKED in (PACKAGE / "sdk_seam.py").read_text()


def _private_sdk_uses(path: Path) -> list[str]:
    """``_name`` attributes read off SDK objects or imported from the SDK, and SDK
    private methods overridden, in one module of the tap."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            if any(part.startswith("_") for part in (node.module or "").split(".")):
                found.append(f"{node.lineno}: from {node.module}")
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name.startswith("_")]
        if isinstance(node, ast.Attribute) and node.attr in _SDK_PRIVATE:
            found.append(f"{node.lineno}: .{node.attr}")
        if isinstance(node, ast.FunctionDef) and node.name in _SDK_PRIVATE:
            found.append(f"{node.lineno}: def {node.name}")
    return found


# Every private name the SDK's Tap and Stream classes define (methods and attributes
# set in their __init__): the tap's own private names are its business.
_SDK_PRIVATE = {
    name
    for cls in (Tap, Stream, PluginBase)
    for name in (
        *vars(cls),
        *(
            line.split("self.", 1)[1].split(":")[0].split("=")[0].strip()
            for line in inspect.getsource(cls.__init__).splitlines()
            if "self._" in line and "=" in line
        ),
    )
    if name.startswith("_") and not name.startswith("__")
}


def test_nothing_but_the_seam_touches_a_private_sdk_member() -> None:
    assert "_write_schema_message" in _SDK_PRIVATE  # the scan knows the SDK's names
    assert "_stream_version" in _SDK_PRIVATE
    offenders = {
        str(path.relative_to(PACKAGE)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "sdk_seam.py" and (uses := _private_sdk_uses(path))
    }
    assert not offenders, offenders
    # ...and the seam does use them (the scan can see a use).
    assert _private_sdk_uses(PACKAGE / "sdk_seam.py")
