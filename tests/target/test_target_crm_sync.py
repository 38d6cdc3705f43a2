"""A CRM's two days of changes, written to the sandbox over HTTP, end in exactly the
expected Marketo state: whatever order the streams arrive in, however often it runs."""

from __future__ import annotations

from typing import Any

import pytest
from target_helpers import (
    DATA,
    EXPECTED,
    WELCOME,
    crm_state,
    interleaved,
    read_messages,
    read_rejects,
    run_target,
    seeded_state,
    shuffled_by_stream,
)

DAY1 = DATA / "crm_day1.singer"
DAY2 = DATA / "crm_day2.singer"

def _outcomes(*runs: Any) -> dict[str, int]:
    merged: dict[str, int] = {}
    for run in runs:
        for key, n in run.target.writer.tally.outcomes.items():
            merged[key] = merged.get(key, 0) + n
    return merged


def test_seed_has_the_programs_lists_and_campaign_the_files_name(fast_sandbox: Any) -> None:
    programs = {p["id"]: p["channel"] for p in fast_sandbox.objects("programs")}
    assert programs[1001] == "Content"
    assert programs[1002] == "Email Send"
    assert 1001 in {lst["id"] for lst in fast_sandbox.objects("lists")}
    campaign = next(c for c in fast_sandbox.objects("campaigns") if c["id"] == 1001)
    assert campaign["type"] == "trigger"
    assert campaign["active"] is True


def test_two_days_of_crm_changes_give_exactly_the_expected_state(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config()
    untouched = seeded_state(fast_sandbox)

    day1 = run_target(config, DAY1)
    day2 = run_target(config, DAY2)

    assert crm_state(fast_sandbox) == EXPECTED
    assert seeded_state(fast_sandbox) == untouched
    assert read_rejects(config["reject_file"]) == []
    # Each run's STATE goes out once its records are in Marketo.
    assert day1.states == [{"bookmarks": {"crm": {"day": 1}}}]
    assert day2.states == [{"bookmarks": {"crm": {"day": 2}}}]
    outcomes = _outcomes(day1, day2)
    # Children went before parents: no delete found its object gone or still in use.
    assert not any("already gone" in k or "rejected" in k for k in outcomes), outcomes


@pytest.mark.parametrize(
    ("reshape", "seed"),
    [(shuffled_by_stream, 1), (shuffled_by_stream, 2), (shuffled_by_stream, 3),
     (interleaved, 4)],
    ids=["by-stream-1", "by-stream-2", "by-stream-3", "interleaved"],
)
def test_streams_in_any_order_give_the_same_state(
    fast_sandbox: Any, target_config: Any, reshape: Any, seed: int
) -> None:
    config = target_config()
    day1 = run_target(config, reshape(read_messages(DAY1), seed))
    day2 = run_target(config, reshape(read_messages(DAY2), seed + 100))

    assert crm_state(fast_sandbox) == EXPECTED
    assert read_rejects(config["reject_file"]) == []
    outcomes = _outcomes(day1, day2)
    assert not any("already gone" in k or "rejected" in k for k in outcomes), outcomes


def test_running_everything_twice_changes_nothing(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config()
    run_target(config, DAY1)
    run_target(config, DAY2)
    first = crm_state(fast_sandbox)

    run_target(config, DAY1)
    run_target(config, DAY2)
    second = crm_state(fast_sandbox)

    # A campaign request is an action, not state: running the file again requests the
    # campaign again (Marketo's own qualification rules decide whether the flow reruns).
    assert second.pop("campaign_requests") == [WELCOME, WELCOME]
    first.pop("campaign_requests")
    assert second == first
    assert read_rejects(config["reject_file"]) == []


def test_deleting_what_is_already_deleted_is_not_a_failure(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config()
    run_target(config, DAY1)
    run_target(config, DAY2)
    again = run_target(config, DAY2)

    assert crm_state(fast_sandbox) == EXPECTED
    assert read_rejects(config["reject_file"]) == []
    gone = {k: n for k, n in again.target.writer.tally.outcomes.items() if "already gone" in k}
    # Every day-2 delete met its record gone (leads, roles, opportunity, company, sales
    # person, custom objects, memberships).
    assert gone == {
        "leads delete: already gone": 2,
        "opportunity_roles delete: already gone": 2,
        "opportunities delete: already gone": 1,
        "companies delete: already gone": 1,
        "salespersons delete: already gone": 1,
        "customobjects/car_c delete: already gone": 1,
        "customobjects/subscription_c delete: already gone": 1,
        "program_members delete: already gone": 1,
        "list_members remove: already gone": 1,
    }
