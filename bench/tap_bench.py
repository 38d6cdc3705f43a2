"""Benchmark of tap-marketo-crm's bulk path on the sandbox's `bench` seed.

    python bench/tap_bench.py                 # starts `marketo-sandbox serve --seed bench`
    python bench/tap_bench.py --endpoint URL --client-id ID --client-secret SECRET

Two measurements, for `leads` and for the activity streams:

1. Record path, same file, same process: one bulk export file is downloaded once, then
   read by the floor (plain ``csv.reader`` -> ``json.dumps`` of each row to /dev/null) and
   by the tap's own path (``iter_csv_rows`` -> typed record -> RECORD line to /dev/null).
   The ratio of rows/s is what the issue's ">= 60% of the floor" goal is about.
2. End to end: the tap's CLI syncs the stream from start_date (every 31-day window:
   create, enqueue, poll, download, parse, emit) as a subprocess writing to a pipe that
   is counted; rows/s over the whole run and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from marketo_core import ExportJob, MarketoClient
from sandbox_process import serve_sandbox
from tap_marketo_crm.pipeline import ExportPipeline
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.streams.activities import ActivityRoute, ActivityStream, write_activity_rows
from tap_marketo_crm.tap import TapMarketoCRM

MB = 1024 * 1024


def sandbox(seed: str, *options: str) -> contextlib.AbstractContextManager[dict[str, str]]:
    """``marketo-sandbox serve`` on ``seed`` with limits out of the way (plus ``options``),
    so that only the tap's own work is measured."""
    return serve_sandbox(
        seed,
        "--rate-limit",
        "1000000",
        "--export-quota-mb",
        "100000",
        "--max-concurrency",
        "10",
        *options,
    )


def config_for(info: dict[str, str], start_date: str) -> dict[str, Any]:
    return {
        "endpoint": info["endpoint"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "start_date": start_date,
        "bulk_poll_interval_seconds": 0.2,
        "rate_limit_calls": 1_000_000,
        "max_export_mb_per_day": 100_000,
    }


def discover(config: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        return json.loads(json.dumps(TapMarketoCRM(config=config).catalog_dict))


def select(catalog: dict[str, Any], prefix: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(catalog))
    for entry in copy["streams"]:
        chosen = entry["tap_stream_id"] == prefix or (
            prefix.endswith("*") and entry["tap_stream_id"].startswith(prefix[:-1])
        )
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return copy


def export_file(client: MarketoClient, entity: str, body: dict[str, Any], path: Path) -> int:
    job = ExportJob(client, entity, poll_interval=0.5)
    job.create(body)
    job.enqueue()
    status = job.wait()
    with path.open("wb") as out:
        job.download(out)
    return int(status.get("numberOfRecords") or 0)


def best_of(runs: int, measure: Callable[[], float]) -> float:
    """The best of a few passes: the machine's other work only ever slows a pass down."""
    return max(measure() for _ in range(runs))


def floor_pass(path: Path) -> float:
    """rows/s of the simplest possible CSV -> JSON lines pass."""
    with path.open(newline="", encoding="utf-8") as handle, open(os.devnull, "w") as sink:
        started = time.process_time()
        reader = csv.reader(handle)
        header = next(reader)
        rows = 0
        for row in reader:
            sink.write(json.dumps(dict(zip(header, row, strict=False))) + "\n")
            rows += 1
        return rows / (time.process_time() - started)


def tap_pass(
    path: Path, rows: int, pipeline: ExportPipeline, consume: Callable[[Iterator[Any]], None]
) -> float:
    """rows/s of the tap's own path on the same file: the functions a sync runs (the
    export reader, then the stream's row writer), RECORD lines to /dev/null."""
    saved = sys.stdout
    with path.open("rb") as handle, open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            pipeline.file_bytes = path.stat().st_size
            started = time.process_time()
            consume(pipeline.read(handle, path.name))
            return rows / (time.process_time() - started)
        finally:
            sys.stdout = saved


def end_to_end(config: dict[str, Any], catalog: dict[str, Any], workdir: Path) -> dict[str, Any]:
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tap_marketo_crm",
            "--config",
            str(workdir / "config.json"),
            "--catalog",
            str(workdir / "catalog.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    records = 0
    peak_kb = 0
    for n, line in enumerate(proc.stdout):
        if line.startswith(b'{"type":"RECORD"'):
            records += 1
        if not n % 5000:
            peak_kb = max(peak_kb, _peak_rss_kb(proc.pid))
    proc.wait()
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "rows_per_s": round(records / seconds),
        # VmHWM is the process's own high-water mark (read until its output ends).
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "exit_status": proc.returncode,
    }


def _peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--endpoint")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--months", type=int, default=15, help="start_date this far back")
    args = parser.parse_args()

    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31 * args.months)).strftime(
        "%Y-%m-%dT00:00:00Z"
    )
    context: contextlib.AbstractContextManager[dict[str, str]]
    if args.endpoint:
        context = contextlib.nullcontext(
            {
                "endpoint": args.endpoint,
                "client_id": args.client_id,
                "client_secret": args.client_secret,
            }
        )
    else:
        context = sandbox(args.seed)
    with context as info, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = config_for(info, start)
        catalog = discover(config)
        tap = TapMarketoCRM(config=config, catalog=select(catalog, "leads"))
        client = tap.client
        now = dt.datetime.now(dt.UTC)
        window = {
            "startAt": (now - dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        results: dict[str, Any] = {"seed": args.seed, "python": sys.version.split()[0]}

        # leads: the newest 31-day window, every field.
        leads = tap.streams["leads"]
        fields = leads.export_fields()  # type: ignore[attr-defined]
        lead_file = workdir / "leads.csv"
        rows = export_file(
            client,
            "leads",
            {"fields": fields, "format": "CSV", "filter": {"updatedAt": window}},
            lead_file,
        )
        writer = RecordWriter(leads, text_input=True)  # type: ignore[arg-type]
        fill = [c for c in writer.columns if c not in fields]
        pipeline = leads.export_pipeline("leads")  # type: ignore[attr-defined]

        floor = best_of(3, lambda: floor_pass(lead_file))
        ours = best_of(
            3,
            lambda: tap_pass(
                lead_file,
                rows,
                pipeline,
                lambda rows_: leads.write_rows(rows_, writer, (), fill),  # type: ignore[attr-defined]
            ),
        )
        results["leads_path"] = {
            "rows": rows,
            "file_mb": round(lead_file.stat().st_size / MB, 1),
            "floor_rows_per_s": round(floor),
            "tap_rows_per_s": round(ours),
            "ratio": round(ours / floor, 2),
        }

        # activities: the newest window, every type in one job, split by type.
        activity_tap = TapMarketoCRM(config=config, catalog=select(catalog, "activities_*"))
        streams = [s for s in activity_tap.streams.values() if isinstance(s, ActivityStream)]
        routes = {str(s.activity_type_id): ActivityRoute(s) for s in streams}
        activity_file = workdir / "activities.csv"
        rows = export_file(
            client,
            "activities",
            {
                "format": "CSV",
                "filter": {
                    "createdAt": window,
                    "activityTypeIds": [s.activity_type_id for s in streams],
                },
            },
            activity_file,
        )

        floor = best_of(3, lambda: floor_pass(activity_file))
        ours = best_of(
            3,
            lambda: tap_pass(
                activity_file,
                rows,
                streams[0].export_pipeline("activities"),
                lambda rows_: write_activity_rows(rows_, routes),
            ),
        )
        results["activities_path"] = {
            "rows": rows,
            "file_mb": round(activity_file.stat().st_size / MB, 1),
            "floor_rows_per_s": round(floor),
            "tap_rows_per_s": round(ours),
            "ratio": round(ours / floor, 2),
        }
        client.close()

        results["leads_end_to_end"] = end_to_end(config, select(catalog, "leads"), workdir)
        results["activities_end_to_end"] = end_to_end(
            config, select(catalog, "activities_*"), workdir
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
