"""How well a first sync keeps Marketo's two export processing slots busy.

    python bench/job_slots_bench.py                  # bench seed, ~6 min (plus ~1 min seeding)
    python bench/job_slots_bench.py --seed demo      # a lighter machine
    python bench/job_slots_bench.py --min-seconds 3 --seconds-per-1k-rows 0.3 --max-queued 4

Starts ``marketo-sandbox serve`` with a job clock where an export processes for a fixed
minimum plus so much per thousand rows (Marketo's jobs take minutes and grow with their
rows; the defaults are a realistic clock scaled down so the run takes a few minutes),
then runs the tap's CLI on a first sync of the bulk streams (leads, every activity type,
every custom object). Marketo processes 2 jobs at a time, so no client can finish before
the sum of the jobs' processing times / 2 (the two-slot floor). Printed: wall time,
the floor (from the sandbox's job records), their ratio, the most jobs queued or
processing at once, how many enqueues were refused with 1029, the tap's exit status and
how many progress lines it logged.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from tap_bench import sandbox  # bench/ is the script's directory: on sys.path
from tap_marketo_crm.tap import TapMarketoCRM

BULK_STREAMS = ("leads", "activities_", "custom_")


def catalog_of_bulk_streams(config: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        catalog = json.loads(json.dumps(TapMarketoCRM(config=config).catalog_dict))
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"].startswith(BULK_STREAMS)
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="bench")
    add = parser.add_argument
    add("--min-seconds", type=float, default=3.0, help="minimum processing seconds of a job")
    add("--seconds-per-1k-rows", type=float, default=0.3, help="processing s per 1,000 rows")
    add("--max-queued", type=int, default=4, help="the tap's max_queued_export_jobs")
    add("--poll", type=float, default=0.5, help="the tap's bulk_poll_interval_seconds")
    add("--months", type=int, default=15, help="start_date this far back (the seeds: 14)")
    args = parser.parse_args()

    started_seed = time.perf_counter()
    clock = (
        f"--export-processing-seconds={args.min_seconds}",
        f"--export-seconds-per-1k-rows={args.seconds_per_1k_rows}",
    )
    with sandbox(args.seed, *clock) as info:
        seeded = time.perf_counter() - started_seed
        control = info["endpoint"].rstrip("/") + "/_sandbox"
        config = {
            "endpoint": info["endpoint"],
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "start_date": (dt.datetime.now(dt.UTC) - dt.timedelta(days=31 * args.months)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "bulk_poll_interval_seconds": args.poll,
            "rate_limit_calls": 1_000_000,
            "max_export_mb_per_day": 100_000,
            "max_queued_export_jobs": args.max_queued,
            "progress_interval_seconds": 10,
        }
        catalog = catalog_of_bulk_streams(config)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "config.json").write_text(json.dumps(config))
            (work / "catalog.json").write_text(json.dumps(catalog))
            stderr_path = work / "tap.log"
            started = time.perf_counter()
            with stderr_path.open("wb") as stderr, open(os.devnull, "wb") as sink:
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "tap_marketo_crm",
                        "--config",
                        str(work / "config.json"),
                        "--catalog",
                        str(work / "catalog.json"),
                    ],
                    stdout=sink,
                    stderr=stderr,
                    check=False,
                )
            wall = time.perf_counter() - started
            log = stderr_path.read_text(errors="replace")
        timeline = requests.get(f"{control}/export-jobs", timeout=30).json()
    progress = [line for line in log.splitlines() if "export progress:" in line]
    floor = timeline["two_slot_floor_seconds"]
    report = {
        "seed": args.seed,
        "seeding_seconds": round(seeded, 1),
        "job_clock": {
            "min_seconds": args.min_seconds,
            "seconds_per_1k_rows": args.seconds_per_1k_rows,
        },
        "max_queued_export_jobs": args.max_queued,
        "jobs": len(timeline["jobs"]),
        "rows_exported": sum(j["numberOfRecords"] or 0 for j in timeline["jobs"]),
        "wall_seconds": round(wall, 1),
        "two_slot_floor_seconds": round(floor, 1),
        "ratio": round(wall / floor, 3) if floor else None,
        "max_jobs_queued_at_once": timeline["peak_active"],
        "max_jobs_processing_at_once": timeline["peak_processing"],
        "refused_1029": timeline["queue_full_refusals"],
        "exit_status": proc.returncode,
        "progress_lines": len(progress),
        "last_progress_line": progress[-1] if progress else None,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    if proc.returncode != 0:
        sys.stderr.write(log[-4000:])


if __name__ == "__main__":
    main()
