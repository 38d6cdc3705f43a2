"""Instance profiles: chosen at start or at run time, listed, validated, reset."""

from __future__ import annotations

import pytest
import requests
from marketo_sandbox import SandboxConfig
from marketo_sandbox.cli import _parser, config_from_args
from marketo_sandbox.profiles import PROFILES, UnknownProfileError
from marketo_sandbox.testing import SandboxControl


def test_serve_flag_turns_profiles_on_with_their_switches() -> None:
    args = _parser().parse_args(["serve", "--profile", "no-updatedat-filter,partitions"])
    config = config_from_args(args)
    assert config.profiles == ("no-updatedat-filter", "partitions")
    assert config.has_profile("partitions")
    assert not config.has_profile("crm-synced")
    assert config.bulk_updated_at_filter is False
    assert config.custom_object_updated_at_filter is False


def test_unknown_profile_is_refused_by_name() -> None:
    with pytest.raises(UnknownProfileError, match="no-such-profile"):
        SandboxConfig().set_profiles("no-such-profile")


def test_turning_a_profile_off_restores_its_switches() -> None:
    config = SandboxConfig()
    config.update({"profiles": ["no-updatedat-filter"]})
    assert config.bulk_updated_at_filter is False
    config.update({"profiles": []})
    assert config.bulk_updated_at_filter is True
    assert config.profiles == ()


def test_every_profile_documents_itself() -> None:
    assert set(PROFILES) == {
        "no-updatedat-filter",
        "crm-synced",
        "partitions",
        "two-users",
        "legacy-csv",
        "second-level-objects",
    }
    assert all(profile.summary for profile in PROFILES.values())


def test_profiles_at_run_time_are_listed_and_reset(sandbox: SandboxControl) -> None:
    assert sandbox.config()["profiles"] == []
    answer = requests.post(
        f"{sandbox.url}/_sandbox/config", json={"profiles": ["legacy-csv"]}, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json()["profiles"] == ["legacy-csv"]
    refused = requests.post(
        f"{sandbox.url}/_sandbox/config", json={"profiles": ["nope"]}, timeout=10
    )
    assert refused.status_code == 400
    assert "nope" in refused.json()["error"]
    sandbox.reset()
    assert sandbox.config()["profiles"] == []
