"""A full sync of the `small` seed emits exactly the sandbox's ground truth, per stream,
field by field, typed as the schema says; and what a sync costs in API calls."""

from __future__ import annotations

from collections import Counter
from typing import Any

from marketo_sandbox.testing import SandboxControl
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR
from tap_helpers import GROUND_TRUTH, ground_truth_problems, run_tap


def test_full_sync_emits_ground_truth_for_every_stream(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    run = run_tap(config, catalog)
    for kind in GROUND_TRUTH.values():
        assert fast_sandbox.objects(kind), f"the seed has no {kind}"
    problems = ground_truth_problems(run.records, fast_sandbox, catalog)
    assert not problems, problems
    # Roles are keyed (and compared above) by their compound dedupe key, as Marketo and
    # the target dedupe them; marketoGUID stays a column.
    roles = next(e for e in catalog["streams"] if e["tap_stream_id"] == "opportunity_roles")
    assert roles["key_properties"] == ["externalOpportunityId", "leadId", "role"]
    assert "marketoGUID" in roles["schema"]["properties"]
    assert all(r.get("marketoGUID") for r in run.records["opportunity_roles"])
    emitted = {n for n, rows in run.records.items() if rows}
    activity_streams = {
        e["tap_stream_id"]
        for e in catalog["streams"]
        if e["tap_stream_id"].startswith("activities_")
    }
    # Every stream emitted something (the seed has data for each), nothing unknown.
    assert emitted == set(GROUND_TRUTH) | {"activity_types", *activity_streams} - {
        n for n in activity_streams if not run.records.get(n)
    }
    assert not run.incomplete
    assert run.count("activity_types") == 32
    # No delete markers on a first sync: the export holds only living leads.
    assert not [r for r in run.records["leads"] if r.get("_sdc_deleted_at")]


def test_records_match_their_schema_types(
    fast_sandbox: SandboxControl, config: dict[str, Any], catalog: dict[str, Any]
) -> None:
    run = run_tap(config, catalog)
    bad: Counter[str] = Counter()
    for stream, records in run.records.items():
        validator = DEFAULT_JSONSCHEMA_VALIDATOR(
            run.schemas[stream], format_checker=DEFAULT_JSONSCHEMA_VALIDATOR.FORMAT_CHECKER
        )
        for record in records:
            for error in validator.iter_errors(record):
                bad[f"{stream}: {error.message}"] += 1
    assert not bad, bad.most_common(10)
