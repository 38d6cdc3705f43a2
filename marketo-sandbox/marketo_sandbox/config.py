"""Limits and behaviour of the emulated Marketo instance.

Every limit Marketo enforces is a field here, with Marketo's production value as the
default, so the sandbox is strict unless a test or user relaxes it (at start with CLI
flags, or at run time with ``POST /_sandbox/config``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from marketo_sandbox import profiles as instance_profiles

# Credentials are fixed at start: never changed at run time, never shown by ``public``.
CREDENTIALS = frozenset({"client_id", "client_secret", "second_client_id", "second_client_secret"})


@dataclass
class SandboxConfig:
    # Credentials of the single API-only user the sandbox knows.
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a local emulator's default
    api_user: str = "api-user@sandbox.local"
    # The second API user of the ``two-users`` profile (marketo_sandbox.auth). An empty
    # secret is derived from ``client_secret``, so a server started with a random secret
    # still has a stable pair to print.
    second_client_id: str = "sandbox-client-id-2"
    second_client_secret: str = ""
    second_api_user: str = "api-user-2@sandbox.local"
    munchkin_id: str = "123-ABC-456"

    # Identity: a new token lives 3,600 s; asking again returns the same token.
    token_ttl_seconds: float = 3600.0

    # Request limits (docs/MARKETO.md section 3).
    rate_limit_calls: int = 100
    rate_limit_window_seconds: float = 20.0
    max_concurrent_calls: int = 10
    daily_call_quota: int = 50_000
    max_batch_size: int = 300
    max_filter_values: int = 300
    max_body_bytes: int = 1_048_576
    max_bulk_import_bytes: int = 10_485_760
    max_uri_bytes: int = 8_192
    max_asset_return: int = 200

    # Bulk extract.
    bulk_max_processing: int = 2
    bulk_max_queued: int = 10  # includes the processing ones
    export_daily_quota_bytes: int = 500 * 1024 * 1024
    export_max_window_days: int = 31
    export_file_retention_days: int = 7
    # Job clock: seconds spent in each state before moving on (Marketo: minutes). A job
    # processes for ``export_processing_seconds`` (its minimum) plus
    # ``export_processing_seconds_per_1k_rows`` per thousand rows of its file: real
    # Marketo jobs take longer the more they export, which is what decides how well a
    # client keeps the two processing slots busy.
    export_queued_seconds: float = 0.0
    export_processing_seconds: float = 0.0
    export_processing_seconds_per_1k_rows: float = 0.0
    # Bulk files as real ones can look: NUL bytes, bare CR, multi-line quoted cells.
    csv_quirks: bool = False

    # Bulk import.
    import_max_running: int = 2
    import_max_queued: int = 10
    import_processing_seconds: float = 0.0

    # Latency added to every API call (a real instance answers in ~100-500 ms).
    latency_ms: float = 0.0

    # Program member updatedAt windows (docs/MARKETO.md section 4).
    program_member_max_window_days: int = 7

    # Whether the subscription supports the bulk `updatedAt` filter (1035 when not).
    bulk_updated_at_filter: bool = True
    # The same for custom object exports. Adobe's filter table marks only the custom
    # object smart list filters as subscription-dependent, so this is a separate switch
    # (on by default) for emulating a subscription that refuses `updatedAt` there too.
    custom_object_updated_at_filter: bool = True

    # Activity retention (docs/MARKETO.md section 9): Marketo prunes Delete Lead after 14
    # days, its high-volume types after 90 days and the rest after
    # ``activity_retention_months`` (25 by default, 37 with Adobe's extended retention).
    # On, as on every real instance; off for a test that needs old activities.
    activity_retention: bool = True
    activity_retention_months: int = 25

    # Shift the sandbox clock (e.g. +86400 to see the daily quota reset or files expire).
    clock_offset_seconds: float = 0.0

    # Active instance profiles (marketo_sandbox.profiles): the documented ways a real
    # subscription differs from a default one. Set them through ``update``, which also
    # applies the switches each profile implies.
    profiles: tuple[str, ...] = ()

    extra: dict[str, Any] = field(default_factory=dict)

    def has_profile(self, name: str) -> bool:
        return name in self.profiles

    def set_profiles(self, names: str | list[str] | tuple[str, ...] | None) -> None:
        """Turn on exactly ``names``; raises UnknownProfileError naming any unknown one.

        A switch a profile implies goes back to its default when the profile is turned
        off, so that ``{"profiles": []}`` returns to a default instance.
        """
        chosen = instance_profiles.parse(names)
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for profile in instance_profiles.PROFILES.values():
            for key, value in profile.settings.items():
                setattr(self, key, value if profile.name in chosen else defaults[key])
        self.profiles = chosen

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply run-time changes; return the names of unknown keys (left untouched).

        ``profiles`` is applied first, so an explicit switch in the same change wins over
        what a profile implies.
        """
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = []
        if "profiles" in changes:
            self.set_profiles(changes["profiles"])
        for key, value in changes.items():
            if key == "profiles":
                continue
            if key not in known or key in CREDENTIALS:
                unknown.append(key)
                continue
            current = getattr(self, key)
            converted = value
            if isinstance(current, bool):
                converted = bool(value)
            elif isinstance(current, int):
                converted = int(value)
            elif isinstance(current, float):
                converted = float(value)
            setattr(self, key, converted)
        return unknown

    def public(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("client_secret")
        data.pop("second_client_secret")
        data["profiles"] = list(self.profiles)
        return data
