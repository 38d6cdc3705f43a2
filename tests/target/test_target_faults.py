"""Marketo failing mid-run (rate window, concurrency, expired tokens, gateway errors,
dropped connections) costs retries, never records: the run ends in the full state."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
from marketo_core import MarketoAPIError
from target_helpers import DATA, EXPECTED, crm_state, read_rejects, run_target, singer_lines
from target_marketo_crm import TargetMarketoCRM

DAY1 = DATA / "crm_day1.singer"
DAY2 = DATA / "crm_day2.singer"

FAULTS = {
    # The window is full (other integrations): wait it out and resend.
    "606 on lead sync": {"path": r"^/rest/v1/leads\.json$", "method": "POST", "code": "606"},
    "615 on opportunities": {"path": r"/rest/v1/opportunities", "code": "615", "count": 2},
    "602 on companies": {"path": r"/rest/v1/companies", "code": "602", "count": 1, "skip": 1},
    "502 on program members": {"path": r"/rest/v1/programs/\d+/members", "http_status": 502,
                               "count": 2},
    "dropped connection on custom objects": {"path": r"/rest/v1/customobjects/", "reset": True,
                                             "count": 2},
    "dropped connection on lead lookup": {"path": r"^/rest/v1/leads\.json$", "method": "GET",
                                          "reset": True},
    "604 on deletes": {"path": r"/delete\.json$", "code": "604", "count": 3},
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_faults_mid_run_end_in_the_full_state(
    fast_sandbox: Any, target_config: Any, fault: dict[str, Any]
) -> None:
    # A short rate window keeps "wait for the window" after a 606 to a second.
    config = target_config(rate_limit_window_seconds=1.0, rate_limit_calls=1000)
    run_target(config, DAY1)
    fast_sandbox.fault(**fault)
    run_target(config, DAY2)

    assert fast_sandbox.faults() == []  # the fault did hit the run
    assert crm_state(fast_sandbox) == EXPECTED
    assert read_rejects(config["reject_file"]) == []
    rejected = fast_sandbox.calls()["rejected"]
    if "code" in fault:
        assert rejected.get(fault["code"]) == fault.get("count", 1)


def test_a_fatal_error_emits_no_state_and_a_rerun_completes(
    fast_sandbox: Any, target_config: Any
) -> None:
    config = target_config()
    run_target(config, DAY1)
    # 603 (access denied) is not retried: the run stops mid-plan.
    fast_sandbox.fault(path=r"/rest/v1/opportunities\.json$", method="POST", code="603")
    target = TargetMarketoCRM(config=config, parse_env_config=False)
    out = io.StringIO()
    with pytest.raises(MarketoAPIError, match="603"), contextlib.redirect_stdout(out):
        target.listen(io.StringIO(singer_lines(DAY2)))
    # Nothing checkpointed: the records before the STATE are not all in Marketo.
    assert out.getvalue() == ""
    assert "OPP-1" in {o["externalOpportunityId"] for o in fast_sandbox.objects("opportunities")}
    rerun = run_target(config, DAY2)
    assert rerun.states == [{"bookmarks": {"crm": {"day": 2}}}]
    assert crm_state(fast_sandbox) == EXPECTED
