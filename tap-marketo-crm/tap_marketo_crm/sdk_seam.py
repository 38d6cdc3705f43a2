"""The one place the tap touches singer-sdk internals (checked against singer-sdk 0.54.9).

Everything here overrides, copies or reads a private SDK member (or relies on an SDK
implementation detail), each with the reason. Nothing else in the tap does.
``tests/tap/test_tap_sdk_seam.py`` fails loudly when an SDK upgrade changes any of them:
re-check the entry it names before updating the recorded value there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import JSONSchemaValidator, PluginBase, _ConfigInput

SDK_VERSION_CHECKED = "0.54.9"


class SeamTap(Tap):
    """The SDK's Tap with the two private hooks the tap needs."""

    def validate_settings(self, config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        """One message per bad setting (the subclass says how); ``config`` is the live
        config dict, which validation may fill defaults into."""
        raise NotImplementedError

    # Override of PluginBase._validate_config (private; called from PluginBase.__init__):
    # the SDK's messages are jsonschema's own, which neither name the setting clearly nor
    # say what is allowed, and it has no hook for checks JSON schema cannot express. The
    # validator must see the mutable ``self._config`` (private) to fill defaults in, as
    # the SDK's own validation does.
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        errors = self.validate_settings(self._config, schema)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        for error in errors:
            self.logger.warning("Config validation: %s", error)
        return errors


def config_validator() -> Any:
    """The SDK's config validator class (jsonschema, extended to fill defaults in)."""
    return JSONSchemaValidator


def run_tap_command(
    cls: type[Tap],
    *,
    about: bool,
    about_format: str | None,
    config: _ConfigInput | None,
    state: IO[str] | None,
    catalog: IO[str] | None,
    sync: Callable[[Any], None],
) -> None:
    """A copy of ``Tap.invoke`` (the CLI callback) whose last step, ``tap.sync_all()``,
    is ``sync(tap)``: the tap needs the instance after the sync (to close its client,
    report the calls made and exit 75 on a resumable stop), and the SDK's invoke neither
    returns it nor offers a hook. ``_ConfigInput`` (the parsed --config values) and
    ``helpers._util.load_json`` are private; ``PluginBase.invoke`` handles --about."""
    PluginBase.invoke.__func__(cls, about=about, about_format=about_format)  # type: ignore[attr-defined]
    cls.print_version(print_fn=cls.logger.info)
    config = config or _ConfigInput()
    tap = cls(
        config=config.config,
        state=None if state is None else load_json(state.read()),
        catalog=None if catalog is None else load_json(catalog.read()),
        parse_env_config=config.parse_env,
        validate_config=True,
    )
    sync(tap)


def write_schema_message(stream: Stream) -> None:
    """Stream._write_schema_message (private): the activity export writes records of
    every selected type in one pass, before those streams' own turn, so their SCHEMA
    messages (stream maps applied, as the SDK writes them) must go out first."""
    stream._write_schema_message()


def stream_version(stream: Stream) -> int | None:
    """Stream._stream_version (private): the ACTIVATE_VERSION of a full-table sync, which
    the SDK puts on every RECORD it writes; records written by the tap carry it too."""
    value = getattr(stream, "_stream_version", None)
    return None if value is None else int(value)


def start_table_version(stream: Stream, version: int) -> None:
    """Stream._stream_version (private), set: the records written from now on carry
    ``version`` (the SDK stamps it on its own RECORD messages; ``RecordWriter`` reads it
    through :func:`stream_version`)."""
    stream._stream_version = version


def write_activate_version(stream: Stream, version: int) -> None:
    """Stream._write_activate_version_message (private): the SDK sends ACTIVATE_VERSION
    only BEFORE a full-table stream's records (a loader then drops the old rows first
    and keeps none if the run dies), so the tap sends its own after a complete read."""
    stream._write_activate_version_message(version)


# Relied on without touching a private member: ``Tap.sync_all`` syncs the streams in
# the order of the ``Tap.streams`` mapping (``Tap.load_streams`` is final and sorts by
# name), so the tap gives its sync order (``sync_order``) by overriding ``streams``.
