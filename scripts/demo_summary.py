"""Summarize a `scripts/demo` run: per step the API calls and records, the target's writes
and rejects, and the rows of every DuckDB table (Meltano's and the plain pipe's).

Reads output/demo/ (steps.jsonl, each step's log and /_sandbox/calls snapshot) and the
DuckDB files; prints the summary and writes it to output/demo/summary.json. Runs with the
target-duckdb plugin's Python, which has the duckdb package.

    python scripts/demo_summary.py output
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

SCHEMA = "marketo"
MARTS_SCHEMA = "analytics"  # where transform/'s dbt marts are built (dbt-duckdb's target_schema)
_DECODER = json.JSONDecoder()


def log_events(log: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(message, metric) per line of a log: Meltano's JSON lines (`--log-format=json`, where
    a structured-logging plugin's metrics arrive as ``metric_info``) or a plugin's own."""
    events: list[tuple[str, dict[str, Any] | None]] = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = None
            if isinstance(entry, dict):
                metric = entry.get("metric_info")
                events.append((str(entry.get("event", "")),
                               metric if isinstance(metric, dict) else None))
                continue
        events.append((line, None))
    return events


def json_after(marker: str, log: str) -> list[dict[str, Any]]:
    """Every JSON object that follows ``marker`` in a log message."""
    found = []
    for message, _ in log_events(log):
        for match in re.finditer(re.escape(marker), message):
            try:
                value, _ = _DECODER.raw_decode(message, match.end())
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def metrics(log: str) -> list[dict[str, Any]]:
    found = json_after("METRIC: ", log)
    found += [metric for _, metric in log_events(log) if metric is not None]
    return found


def target_totals(log: str) -> dict[str, Any]:
    """The target's own end-of-run summaries (one per run block), added up."""
    records = rejects = 0
    outcomes: Counter[str] = Counter()
    for summary in json_after("Run summary: ", log):
        records += int(summary.get("records", 0))
        rejects += int(summary.get("rejects", 0))
        outcomes.update({k: int(v) for k, v in summary.get("outcomes", {}).items()})
    return {"records": records, "rejects": rejects, "outcomes": dict(sorted(outcomes.items()))}


def records_per_stream(log: str) -> dict[str, int]:
    """Records the tap emitted per stream, from the SDK's record_count metrics."""
    counts: Counter[str] = Counter()
    for metric in metrics(log):
        stream = (metric.get("tags") or {}).get("stream")
        if metric.get("metric") == "record_count" and stream:
            counts[stream] += int(metric.get("value", 0))
    return dict(sorted(counts.items()))


def table_rows(path: Path, schema: str = SCHEMA) -> dict[str, int]:
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as db:
        # The file's catalog is named after it (marketo.duckdb: "marketo", like the schema),
        # so tables are named in full.
        catalog = db.execute("select current_database()").fetchone()[0]
        names = [row[0] for row in db.execute(
            "select table_name from information_schema.tables where table_catalog = ? and "
            "table_schema = ? order by table_name", [catalog, schema]).fetchall()]
        # Names come from the database's own catalog, quoted as identifiers.
        return {name: db.execute(
            f'select count(*) from "{catalog}"."{schema}"."{name}"').fetchone()[0]  # noqa: S608
            for name in names}


def summarize(output: Path) -> dict[str, Any]:
    work = output / "demo"
    steps = [json.loads(line) for line in (work / "steps.jsonl").read_text().splitlines() if line]
    for step in steps:
        log = Path(step["log"]).read_text(encoding="utf-8", errors="replace")
        calls = json.loads(Path(step["calls"]).read_text(encoding="utf-8"))
        step["api_calls"] = int(calls.get("total", 0))
        if "write-back" in step["name"]:
            step["target"] = target_totals(log)
        else:
            step["tap_records"] = records_per_stream(log)
    rejects_file = output / "rejects.jsonl"
    rejects = rejects_file.read_text(encoding="utf-8").splitlines() if rejects_file.exists() else []
    snapshot = work / "rows-after-full.json"
    return {
        "steps": steps,
        "rows_after_full": json.loads(snapshot.read_text()) if snapshot.exists() else {},
        "duckdb": table_rows(output / "marketo.duckdb"),
        "pipe_duckdb": table_rows(output / "pipe.duckdb"),
        "marts": table_rows(output / "marketo.duckdb", MARTS_SCHEMA),
        "reject_file_lines": len(rejects),
    }


def _grouped(rows: dict[str, int]) -> dict[str, int]:
    """Activity tables (one per activity type) folded into one line."""
    out: dict[str, int] = {}
    for table, count in rows.items():
        name = "activities_* (all types)" if table.startswith("activities_") else table
        out[name] = out.get(name, 0) + count
    return out


def render(summary: dict[str, Any]) -> str:
    header = f"{'step':<22} {'exit':>4} {'seconds':>8} {'API calls':>10}  records"
    lines = ["", "Summary", "", header]
    for step in summary["steps"]:
        if "target" in step:
            t = step["target"]
            detail = f"{t['records']} in, {t['rejects']} rejected: " + ", ".join(
                f"{k} {v}" for k, v in t["outcomes"].items())
        else:
            records = step.get("tap_records", {})
            detail = f"{sum(records.values())} emitted"
            changed = {k: v for k, v in records.items() if v}
            if step["name"] == "extract-incremental" and changed:
                detail += " (" + ", ".join(f"{k} {v}" for k, v in changed.items()) + ")"
        lines.append(f"{step['name']:<22} {step['status']:>4} {step['seconds']:>8} "
                     f"{step['api_calls']:>10}  {detail}")
    full, final = _grouped(summary["rows_after_full"]), _grouped(summary["duckdb"])
    pipe = _grouped(summary["pipe_duckdb"])
    lines += ["", f"Rows per table (DuckDB schema {SCHEMA}):",
              f"  {'table':<28} {'after full':>11} {'after incr.':>12} {'plain pipe':>11}"]
    for table, rows in final.items():
        lines.append(f"  {table:<28} {full.get(table, 0):>11} {rows:>12} "
                     f"{pipe.get(table, '-'):>11}")
    if summary["marts"]:
        lines += ["", f"Rows per dbt mart (schema {MARTS_SCHEMA}, after the incremental build):"]
        lines += [f"  {table:<36} {rows:>9}" for table, rows in summary["marts"].items()]
    lines.append(f"\nRecords refused by Marketo or the target (output/rejects.jsonl): "
                 f"{summary['reject_file_lines']}")
    lines.append("Files: output/marketo.duckdb (Meltano; marts in schema analytics), "
                 "output/pipe.duckdb (plain pipe), output/report.html, "
                 "output/demo/ (logs, summary.json)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--rows":
        # A snapshot between steps: rows per table of the Meltano-loaded database.
        sys.stdout.write(json.dumps(table_rows(Path(argv[2]) / "marketo.duckdb")) + "\n")
        return 0
    output = Path(argv[1] if len(argv) > 1 else "output")
    summary = summarize(output)
    (output / "demo" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    sys.stdout.write(render(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
