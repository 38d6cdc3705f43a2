"""The connection settings the tap and the target share, and the client built from them.

Both plugins reach one Marketo instance with the same credentials and share its limits
(100 calls per 20 s, 10 in flight, a daily quota: docs/MARKETO.md section 3), so the
settings naming them are defined once, here, as plain JSON schema (what ``--about``
publishes), and :func:`client_from_config` is the only place a plugin's config becomes a
:class:`MarketoClient`. What still differs between the plugins is passed in explicitly:
the tap stops at 40,000 calls a day unless told otherwise; the target has no budget by
default and lets the user choose the rate-window headroom.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from marketo_core.client import MarketoClient

URL_PATTERN = r"^https?://[^\s/]+"
MAX_CONCURRENCY = 10  # Marketo: calls in flight per instance, all integrations together
RATE_LIMIT_CALLS = 100  # Marketo: calls per window per instance
RATE_LIMIT_WINDOW_SECONDS = 20  # Marketo's window
RATE_LIMIT_HEADROOM = 10  # calls per window left to the instance's other integrations

REQUIRED = ("endpoint", "client_id", "client_secret")


def _text(description: str, *, required: bool = False, secret: bool = False,
          pattern: str | None = None, min_length: int | None = None) -> dict[str, Any]:
    # The shape singer_sdk.typing gives a property, so both plugins' --about stay as
    # they were: required properties are not nullable, secrets are writeOnly.
    prop: dict[str, Any] = {"type": ["string"] if required else ["string", "null"]}
    if pattern is not None:
        prop["pattern"] = pattern
    if min_length is not None:
        prop["minLength"] = min_length
    prop["description"] = description
    if secret:
        prop.update({"secret": True, "writeOnly": True})
    return prop


def _number(kind: str, description: str, default: Any = None, **bounds: Any) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": [kind, "null"], **bounds}
    if default is not None:
        prop["default"] = default
    prop["description"] = description
    return prop


def connection_properties(
    *, max_daily_calls: int | None = None, headroom_setting: bool = True
) -> dict[str, dict[str, Any]]:
    """The JSON schema properties of the connection settings, in ``--about`` order.

    ``max_daily_calls`` is the plugin's default budget (None: no budget). With
    ``headroom_setting`` false the headroom is fixed at RATE_LIMIT_HEADROOM and
    ``rate_limit_calls`` must leave calls above it; otherwise ``rate_limit_headroom`` is
    a setting and :func:`connection_errors` checks the two together.
    """
    properties = {
        "endpoint": _text(
            "REST endpoint of the instance, e.g. https://123-ABC-456.mktorest.com "
            "(Admin > Web Services). Lead database, asset and bulk APIs all use it.",
            required=True, pattern=URL_PATTERN,
        ),
        "identity": _text(
            "Identity endpoint; default: the endpoint + /identity.", pattern=URL_PATTERN
        ),
        "client_id": _text(
            "Client id of the API-only user's LaunchPoint service. Kept out of logs.",
            required=True, secret=True, min_length=1,
        ),
        "client_secret": _text(
            "Client secret of that service. Never logged.",
            required=True, secret=True, min_length=1,
        ),
        "max_daily_calls": _number(
            "integer",
            "Stop cleanly, keeping the state of what completed, before the instance's "
            "calls today (all integrations, as /stats/usage reports them, plus this run's) "
            "would pass this number. Keep it under the subscription's daily quota (50,000 "
            "typical) so other integrations keep room.",
            max_daily_calls, minimum=1,
        ),
        "max_concurrency": _number(
            "integer",
            f"Calls in flight at once (Marketo allows {MAX_CONCURRENCY} per instance across "
            "all integrations and advises 5).",
            5, minimum=1, maximum=MAX_CONCURRENCY,
        ),
        "rate_limit_calls": _number(
            "integer",
            "The instance's rate limit: calls per rate_limit_window_seconds (Marketo: "
            f"{RATE_LIMIT_CALLS} per {RATE_LIMIT_WINDOW_SECONDS} s for all integrations "
            "together), of which "
            + ("rate_limit_headroom calls" if headroom_setting
               else f"{RATE_LIMIT_HEADROOM} calls")
            + " are left to other integrations.",
            RATE_LIMIT_CALLS, minimum=1 if headroom_setting else RATE_LIMIT_HEADROOM + 1,
        ),
        "rate_limit_window_seconds": _number(
            "number",
            f"Length of the rate-limit window in seconds (Marketo: {RATE_LIMIT_WINDOW_SECONDS}).",
            RATE_LIMIT_WINDOW_SECONDS, exclusiveMinimum=0,
        ),
    }
    if headroom_setting:
        properties["rate_limit_headroom"] = _number(
            "integer",
            "Calls per rate window left to the instance's other integrations.",
            RATE_LIMIT_HEADROOM, minimum=0,
        )
    return properties


def with_connection_settings(
    schema: Mapping[str, Any], *, max_daily_calls: int | None = None,
    headroom_setting: bool = True,
) -> dict[str, Any]:
    """A plugin's config schema with the connection settings first (and required)."""
    merged = dict(schema)
    merged["properties"] = {
        **connection_properties(
            max_daily_calls=max_daily_calls, headroom_setting=headroom_setting
        ),
        **(schema.get("properties") or {}),
    }
    merged["required"] = [*REQUIRED, *(schema.get("required") or [])]
    return merged


# Defaults of every connection setting that has one (max_daily_calls has none here:
# each plugin passes its own to connection_properties).
DEFAULTS: dict[str, Any] = {
    name: prop["default"] for name, prop in connection_properties().items() if "default" in prop
}


def connection_errors(config: Mapping[str, Any]) -> list[str]:
    """What a schema cannot check about the connection settings, one message a setting."""
    calls = _setting(config, "rate_limit_calls")
    headroom = _setting(config, "rate_limit_headroom")
    if headroom >= calls:
        return [f"{headroom} leaves no calls per window to this plugin (rate_limit_calls "
                f"is {calls}) in config['rate_limit_headroom']"]
    return []


def client_from_config(
    config: Mapping[str, Any],
    *,
    user_agent: str,
    logger: logging.Logger | None = None,
) -> MarketoClient:
    """The plugin's one MarketoClient. A setting left out (or null) takes the schema's
    default; ``max_daily_calls`` left out means no budget."""
    client = MarketoClient(
        config["endpoint"],
        config["client_id"],
        config["client_secret"],
        identity=config.get("identity") or None,
        max_concurrency=int(_setting(config, "max_concurrency")),
        rate_limit_calls=int(_setting(config, "rate_limit_calls")),
        rate_limit_window=float(
            _setting(config, "rate_limit_window_seconds")
        ),
        rate_limit_headroom=int(_setting(config, "rate_limit_headroom")),
        max_daily_calls=config.get("max_daily_calls"),
        user_agent=user_agent,
        logger=logger,
    )
    # The client id is a secret setting too: kept out of logs and errors.
    client.redactor.add(config["client_id"])
    return client


def _setting(config: Mapping[str, Any], name: str) -> Any:
    # 0 is a value (validation refuses the ones that make no sense); only absent is default.
    value = config.get(name)
    return DEFAULTS[name] if value is None else value
