"""Pieces of the tap that need no Marketo: window planning, naming, converters, settings."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from tap_marketo_crm import schemas as s
from tap_marketo_crm.pipeline import ExportUsage, JobSlots
from tap_marketo_crm.tap import TapMarketoCRM
from tap_marketo_crm.windows import (
    TypeProgress,
    Window,
    plan_activity_windows,
    plan_backward,
    plan_windows,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
NOW = dt.datetime(2026, 4, 1, 12, 0, 0, tzinfo=UTC)


def test_windows_cover_the_span_without_gaps_and_respect_31_days() -> None:
    windows = plan_windows(T0, NOW, 31)
    assert windows[0].start == T0
    assert windows[-1].end == NOW
    for before, after in itertools.pairwise(windows):
        # Inclusive windows sharing their boundary second: duplicates, never gaps.
        assert after.start == before.end
    assert all(w.end - w.start <= dt.timedelta(days=31) for w in windows)
    assert plan_windows(NOW, NOW, 31) == []
    # max_export_days above Marketo's 31 is clamped.
    assert all(w.end - w.start <= dt.timedelta(days=31) for w in plan_windows(T0, NOW, 90))


def test_backward_windows_go_newest_first_down_to_the_floor() -> None:
    windows = plan_backward(NOW, T0, 31)
    assert windows[0].end == NOW
    assert windows[-1].start == T0
    assert [w.start for w in windows] == sorted((w.start for w in windows), reverse=True)


def test_one_activity_job_per_window_holds_every_type_that_needs_it() -> None:
    late = NOW - dt.timedelta(days=3)
    plan = plan_activity_windows(
        [TypeProgress(1, None), TypeProgress(6, late), TypeProgress(12, late)],
        start_date=T0,
        now=NOW,
        max_days=31,
    )
    # Type 1 starts at start_date; 6 and 12 only join the window that reaches their
    # bookmark, with a floor so their older rows are not emitted twice.
    assert all(1 in w.type_ids for w in plan)
    assert [w.type_ids for w in plan[:-1]] == [(1,)] * (len(plan) - 1)
    assert plan[-1].type_ids == (1, 6, 12)
    assert plan[-1].floors == {6: "2026-03-29T12:00:00Z", 12: "2026-03-29T12:00:00Z"}


def test_a_first_sync_starts_each_type_where_its_data_begins_and_a_bookmark_wins() -> None:
    begins = T0 + dt.timedelta(days=50)
    plan = plan_activity_windows(
        [TypeProgress(1, None), TypeProgress(6, None), TypeProgress(12, T0)],
        start_date=T0,
        now=NOW,
        max_days=31,
        # 6 has no activity up to now; 12's data start is ignored: it has a bookmark.
        data_starts={1: begins, 6: NOW, 12: NOW},
    )
    assert plan[0].window.start == T0  # type 12 resumes from its bookmark
    assert plan[0].type_ids == (12,)
    joined = next(w for w in plan if 1 in w.type_ids)
    assert joined.window.start <= begins < joined.window.end
    assert joined.floors[1] == "2026-02-20T00:00:00Z"
    assert all(6 not in w.type_ids for w in plan)
    # A data start before start_date does not move a first sync earlier.
    early = plan_activity_windows(
        [TypeProgress(1, None)],
        start_date=T0,
        now=NOW,
        max_days=31,
        data_starts={1: T0 - dt.timedelta(days=400)},
    )
    assert early[0].window.start == T0


def test_priority_first_takes_the_newest_window_first_then_backfills_newest_first() -> None:
    first = plan_activity_windows(
        [TypeProgress(1, None)],
        start_date=T0,
        now=NOW,
        max_days=31,
        priority_first=True,
        include_backfill=False,
    )
    assert [w.window for w in first] == [Window(NOW - dt.timedelta(days=31), NOW)]
    later_now = NOW + dt.timedelta(hours=1)
    second = plan_activity_windows(
        [TypeProgress(1, NOW, backfill=NOW - dt.timedelta(days=31))],
        start_date=T0,
        now=later_now,
        max_days=31,
        priority_first=True,
    )
    forward = [w for w in second if not w.backfill]
    backfill = [w for w in second if w.backfill]
    assert [w.window for w in forward] == [Window(NOW, later_now)]
    assert backfill[0].window.end == NOW - dt.timedelta(days=31)
    assert backfill[-1].window.start == T0
    assert [w.window.end for w in backfill] == sorted(
        (w.window.end for w in backfill), reverse=True
    )


def test_lookback_reads_before_the_bookmark() -> None:
    plan = plan_activity_windows(
        [TypeProgress(1, NOW - dt.timedelta(hours=1))],
        start_date=T0,
        now=NOW,
        max_days=31,
        lookback=dt.timedelta(days=2),
    )
    assert plan[0].window.start == NOW - dt.timedelta(days=2, hours=1)


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("Visit Webpage", "visit_webpage"),
        ("Change Status in Progression", "change_status_in_progression"),
        ("clickedLinkC", "clicked_link_c"),
        ("Follow-up At", "follow_up_at"),
        ("SFDC Type", "sfdc_type"),
        ("3rd Party Sync", "n_3rd_party_sync"),
    ],
)
def test_snake_case_names(name: str, snake: str) -> None:
    assert s.snake_case(name) == snake


def test_two_activity_types_with_one_name_get_their_ids_appended() -> None:
    names = s.activity_stream_names(
        [{"id": 1, "name": "Visit Webpage"}, {"id": 100001, "name": "Visit webpage"}]
    )
    assert names == {1: "activities_visit_webpage_1", 100001: "activities_visit_webpage_100001"}


def test_activity_schema_keeps_what_a_catalog_run_needs() -> None:
    schema = s.activity_schema(
        {
            "id": 100001,
            "name": "Attended Trade Show Booth",
            "primaryAttribute": {"name": "Booth Number", "dataType": "string"},
            "attributes": [
                {"name": "Minutes at Booth", "dataType": "integer"},
                {"name": "Follow-up At", "dataType": "datetime"},
                {"name": "Lead ID", "dataType": "integer"},
            ],
        }
    )
    assert s.activity_type_id_of(schema) == 100001
    assert s.primary_attribute_name_of(schema) == "Booth Number"
    assert s.activity_attribute_columns(schema) == {
        "Minutes at Booth": "minutes_at_booth",
        "Follow-up At": "follow_up_at",
        "Lead ID": "lead_id",
    }
    assert schema["properties"]["minutes_at_booth"]["type"] == ["integer", "null"]
    assert schema["properties"]["follow_up_at"]["format"] == "date-time"


@pytest.mark.parametrize(
    ("data_type", "text", "value"),
    [
        ("integer", "42", 42),
        ("currency", "1234.50", 1234.5),
        ("float", "3", 3),
        ("boolean", "true", True),
        ("boolean", "0", False),
        ("datetime", "2026-07-27T01:38:33Z+0000", "2026-07-27T01:38:33Z"),
        ("datetime", "2026-07-27T01:38:33Z", "2026-07-27T01:38:33Z"),
        ("date", "2026-07-27", "2026-07-27"),
        ("array", '["a","b"]', ["a", "b"]),
        ("string", 12, "12"),
    ],
)
def test_values_are_typed_as_the_schema_says(data_type: str, text: object, value: object) -> None:
    convert = s.converter_for(s.json_type_for(data_type), text_input=False)
    assert convert is not None
    assert convert(text) == value


def test_export_usage_counts_per_marketo_day() -> None:
    state: dict[str, object] = {}
    usage = ExportUsage(state, max_mb=1)
    usage.add(600_000)
    usage.check("leads")
    usage.add(600_000)
    with pytest.raises(Exception, match="max_export_mb_per_day"):
        usage.check("leads")
    state["resets_at"] = "2000-01-01T06:00:00Z"  # yesterday's count no longer applies
    assert usage.used == 0



@functools.cache
def about_json() -> dict[str, Any]:
    """What ``tap-marketo-crm --about --format=json`` prints (run once for the module)."""
    about: dict[str, Any] = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tap_marketo_crm", "--about", "--format=json"],
            capture_output=True, text=True, check=True,
        ).stdout
    )
    return about

def test_about_lists_every_setting_and_marks_the_secret() -> None:
    info = about_json()
    settings = info["settings"]["properties"]
    for name in (
        "endpoint",
        "identity",
        "client_id",
        "client_secret",
        "start_date",
        "max_daily_calls",
        "max_concurrency",
        "max_export_days",
        "lookback_window_days",
        "bulk_poll_interval_seconds",
        "bulk_job_timeout_seconds",
        "max_export_mb_per_day",
        "priority_first",
    ):
        assert settings[name].get("description"), name
    assert settings["client_secret"].get("secret") is True


def test_settings_can_come_from_the_environment() -> None:
    env = {
        **os.environ,
        "TAP_MARKETO_CRM_ENDPOINT": "https://123-ABC-456.mktorest.com",
        "TAP_MARKETO_CRM_CLIENT_ID": "id",
        "TAP_MARKETO_CRM_CLIENT_SECRET": "secret-from-env",
        "TAP_MARKETO_CRM_START_DATE": "2026-01-01T00:00:00Z",
        "TAP_MARKETO_CRM_PRIORITY_FIRST": "true",
    }
    old = dict(os.environ)
    os.environ.update(env)
    try:
        tap = TapMarketoCRM(config=None, parse_env_config=True, catalog={"streams": []})
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert tap.config["client_secret"] == "secret-from-env"
    assert tap.config["priority_first"] is True
    assert tap.config["max_daily_calls"] == 40_000


VALID = {
    "endpoint": "https://123-ABC-456.mktorest.com",
    "client_id": "id",
    "client_secret": "secret-value",
    "start_date": "2026-01-01T00:00:00Z",
}


def _config_errors(**changes: object) -> list[str]:
    from singer_sdk.exceptions import ConfigValidationError  # noqa: PLC0415

    config = {**VALID, **changes}
    try:
        TapMarketoCRM(config=config, catalog={"streams": []})
    except ConfigValidationError as exc:
        return exc.errors
    return []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"start_date": "yesterday"}, ["start_date", "ISO 8601"]),
        ({"start_date": 20260101}, ["start_date"]),
        ({"endpoint": "123-ABC-456.mktorest.com"}, ["endpoint", "https://"]),
        ({"identity": "mktorest.com/identity"}, ["identity", "https://"]),
        ({"client_id": ""}, ["client_id", "empty"]),
        ({"max_export_days": 90}, ["max_export_days", "Marketo's limit is 31", "90"]),
        ({"max_export_days": 0}, ["max_export_days", "between 1 and 31"]),
        ({"max_export_days": "lots"}, ["max_export_days", "whole number"]),
        ({"max_concurrency": 0}, ["max_concurrency", "between 1 and 10"]),
        ({"max_concurrency": 11}, ["max_concurrency", "10 calls in flight"]),
        ({"lookback_window_days": -3}, ["lookback_window_days", "skip data"]),
        ({"lookback_window_days": 10_000}, ["lookback_window_days", "between 0 and 365"]),
        ({"bulk_poll_interval_seconds": -1}, ["bulk_poll_interval_seconds", "more than 0"]),
        ({"bulk_poll_interval_seconds": 0}, ["bulk_poll_interval_seconds", "more than 0"]),
        ({"bulk_job_timeout_seconds": 0}, ["bulk_job_timeout_seconds", "more than 0"]),
        ({"max_export_mb_per_day": -5}, ["max_export_mb_per_day", "more than 0"]),
        ({"max_daily_calls": 0}, ["max_daily_calls", "at least 1"]),
        ({"rate_limit_calls": 10}, ["rate_limit_calls", "at least 11", "headroom"]),
        ({"rate_limit_window_seconds": 0}, ["rate_limit_window_seconds", "more than 0"]),
        ({"priority_first": "sometimes"}, ["priority_first", "true or false"]),
    ],
)
def test_a_bad_setting_is_refused_with_one_message_naming_it(
    changes: dict[str, object], words: list[str]
) -> None:
    errors = _config_errors(**changes)
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0], errors[0]


def test_secret_values_are_never_echoed_in_setting_errors() -> None:
    errors = _config_errors(client_secret=12345678)
    assert errors
    assert "client_secret" in errors[0]
    assert "12345678" not in errors[0]


def test_edge_values_are_accepted_and_zero_is_not_replaced_by_a_default() -> None:
    for changes in (
        {"max_export_days": 31, "max_concurrency": 10, "lookback_window_days": 0},
        {"max_export_days": 1, "max_concurrency": 1, "lookback_window_days": 365},
        {"bulk_poll_interval_seconds": 0.01, "rate_limit_calls": 11},
    ):
        assert _config_errors(**changes) == [], changes
    tap = TapMarketoCRM(config={**VALID, "max_concurrency": 1}, catalog={"streams": []})
    assert tap.config["max_concurrency"] == 1
    assert tap.config["max_export_days"] == 31  # defaults filled in by validation


def test_about_publishes_the_range_of_every_numeric_setting() -> None:
    info = about_json()
    settings = info["settings"]["properties"]
    assert (settings["max_export_days"]["minimum"], settings["max_export_days"]["maximum"]) == (
        1,
        31,
    )
    assert (settings["max_concurrency"]["minimum"], settings["max_concurrency"]["maximum"]) == (
        1,
        10,
    )
    assert settings["lookback_window_days"]["minimum"] == 0
    for name, prop in settings.items():
        types = set(prop.get("type") or [])
        if types & {"integer", "number"} and not name.startswith(("flattening", "batch")):
            bounded = {"minimum", "exclusiveMinimum"} & set(prop)
            assert bounded, f"{name} has no lower bound in --about"
    assert settings["endpoint"]["pattern"].startswith("^https?://")


def test_job_slots_read_the_job_in_progress_then_those_ahead_and_advance_in_one_write() -> None:
    # A state written by an older release: its one job ahead under the singular key.
    state: dict[str, Any] = {"export_job": None, "next_export_job": {"exportId": "B"}}
    writes: list[dict[str, Any]] = []
    slots = JobSlots(
        holder=lambda: state,
        current="export_job",
        ahead="next_export_jobs",
        write=lambda: writes.append(json.loads(json.dumps(state))),
        legacy_ahead="next_export_job",
    )
    # The job in progress was cleared: the job ahead is the one to read first.
    assert slots.saved() == [{"exportId": "B"}]
    state["export_job"] = {"exportId": "A"}
    state["next_export_jobs"] = [{"exportId": "C"}]
    assert slots.saved() == [{"exportId": "A"}, {"exportId": "B"}, {"exportId": "C"}]
    # The next job becomes the job in progress in the same STATE message.
    slots.put([{"exportId": "B"}, {"exportId": "C"}])
    assert writes == [{"export_job": {"exportId": "B"}, "next_export_jobs": [{"exportId": "C"}]}]
