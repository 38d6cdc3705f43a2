"""bench/compare_bench.py's own logic, offline: counting RECORD messages of both protocols,
choosing the same streams in three catalog dialects, and the table of a recorded run
(`compare_small.json`: `--seed small --poll-seconds 5 --activity-types "Visit Webpage"
--patch-singer-base-url`, before the sandbox recorded export jobs)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDED = Path(__file__).with_name("compare_small.json")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(
            "compare_bench", ROOT / "bench/compare_bench.py"
        )
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        # Its dataclass resolves annotations through sys.modules.
        sys.modules["compare_bench"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_records_are_counted_per_stream_in_both_protocols(bench: ModuleType) -> None:
    lines = [
        b'{"type": "SCHEMA", "stream": "leads", "schema": {}}\n',
        b'{"type": "RECORD", "stream": "leads", "record": {"id": 1}}\n',
        b'{"type":"RECORD","stream":"activities_visit_webpage","record":{"stream":"x"}}\n',
        b'{"type":"RECORD","record":{"stream":"leads","data":{"id":2},"emitted_at":1}}\n',
        b'{"type":"LOG","log":{"level":"INFO","message":"a RECORD in a log"}}\n',
        b'{"type": "STATE", "value": {}}\n',
    ]
    log = io.BytesIO()
    counts = bench.count_records(lines, log)
    assert counts == {"leads": 2, "activities_visit_webpage": 1}
    # Everything that is not a record goes to the log, the LOG message with "RECORD" too.
    assert log.getvalue().count(b"\n") == 3
    assert b"a RECORD in a log" in log.getvalue()


def test_the_same_streams_are_chosen_whatever_each_connector_calls_them(
    bench: ModuleType,
) -> None:
    wanted = bench.wanted(["Add to List", "Visit Webpage"])

    def singer_entry(name: str) -> dict[str, Any]:
        return {
            "tap_stream_id": name,
            "metadata": [
                {"breadcrumb": [], "metadata": {}},
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "available"}},
            ],
        }

    singer = {
        "streams": [
            singer_entry(n)
            for n in (
                "leads",
                "activities_add_to_list",
                "activities_send_email",
                "lists",
                "campaigns",
            )
        ]
    }
    chosen = bench.select_singer(singer, {"leads", "lists"}, wanted)
    assert [e["tap_stream_id"] for e in chosen["streams"]] == [
        "leads",
        "activities_add_to_list",
        "lists",
    ]
    # Every field, not only the automatic ones (singer-io emits only selected fields).
    assert all(m["metadata"]["selected"] for e in chosen["streams"] for m in e["metadata"])

    airbyte = {
        "streams": [
            {
                "name": "activities_addto_list",
                "supported_sync_modes": ["full_refresh", "incremental"],
                "default_cursor_field": ["activityDate"],
            },
            {"name": "activity_types", "supported_sync_modes": ["full_refresh"]},
            {"name": "emails", "supported_sync_modes": ["full_refresh", "incremental"]},
        ]
    }
    configured = bench.select_airbyte(airbyte, {"activity_types"}, wanted)["streams"]
    assert [(c["stream"]["name"], c["sync_mode"]) for c in configured] == [
        ("activities_addto_list", "incremental"),
        ("activity_types", "full_refresh"),
    ]
    assert configured[0]["cursor_field"] == ["activityDate"]


def test_the_recorded_run_renders_with_ratios_and_per_stream_rows(bench: ModuleType) -> None:
    results = json.loads(RECORDED.read_text())
    table = bench.render(results)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    ours = rows["tap-marketo-crm"].split(" | ")
    singer = rows["singer-io tap-marketo"].split(" | ")
    airbyte = rows["airbyte source-marketo"].split(" | ")
    # No export-job columns: that sandbox did not record job processing instants.
    assert "two-slot floor" not in table
    assert ours[1:7] == ["0", "175", "10.8", "16", "13", "48.6"]
    # Ratios are ours over theirs from unrounded rows/s: (175/10.8) / (161/20.5) = 2.06.
    assert singer[-2:] == ["2.06x", f"{13 / 28:.2f}x |"]
    assert airbyte[-2:] == [f"{(175 / 10.8) / (159 / 121.3):.2f}x", f"{13 / 16:.2f}x |"]
    assert "| lists | 4 | 0 | 0 |" in table  # static_lists is ours' name for lists
    assert "| activities_visitwebpage | 62 | 62 | 62 |" in table
    assert "nproc 2" in table
    assert "load 3.18 / 2.16 / 2.63 before" in table


def test_floor_columns_and_blocked_connector(bench: ModuleType) -> None:
    results = json.loads(RECORDED.read_text())
    for run in results["runs"].values():
        run["jobs"] = {"jobs": 2, "processing_seconds": 8.0, "two_slot_floor_seconds": 4.0}
    results["runs"]["singer-io tap-marketo"] = {"blocked": "builds its own URL"}
    table = bench.render(results)
    assert "| export jobs | two-slot floor s | wall / floor |" in table
    assert "| tap-marketo-crm | 0 | 175 | 10.8 | 16 | 13 | 48.6 | 2 | 4.0 | 2.7 | - | - |" in table
    assert "| singer-io tap-marketo | blocked: builds its own URL |" in table
    # A blocked connector has no column in the per-stream rows.
    assert "| records per stream family | tap-marketo-crm | airbyte source-marketo |" in table
