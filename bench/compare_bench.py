"""Side-by-side extract benchmark: tap-marketo-crm, singer-io's tap-marketo and Airbyte's
source-marketo against the same marketo-sandbox.

    python bench/compare_bench.py --seed small --patch-singer-base-url   # ~15 min
    python bench/compare_bench.py --seed bench --patch-singer-base-url --json out.json
    python bench/compare_bench.py --render out.json    # the tables of a saved run

The two third-party connectors are installed at pinned versions into throwaway venvs
under ``output/compare-bench/venvs/`` (never committed; reused when present). Each connector
runs as a subprocess against one sandbox, one after the other, with the same streams,
the same start date (one export window) and the same bulk poll interval. Before each
run the sandbox's call counters are reset; after it, ``GET /_sandbox/calls`` gives the
API calls. Wall time is the subprocess's; peak RSS is the highest sum of VmRSS over the
connector's process tree, sampled every 0.1 s.

Fairness (see docs/BENCHMARKS.md): Airbyte's poll interval is hard-coded (60 s), so the
default ``--poll-seconds`` is 60 for all three, and the sandbox's job clock is set so
that no export job is finished at its first status check (every connector pays one poll
per job, as on a real instance where jobs take minutes).

singer-io's tap-marketo cannot be pointed at the sandbox by configuration: it takes only
the Munchkin id out of ``endpoint`` and builds ``https://<munchkin>.mktorest.com/`` itself.
``--patch-singer-base-url`` runs it through a launcher that replaces that one URL
function at run time (nothing else); without the flag its row says it is blocked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sandbox_process import serve_sandbox

ROOT = Path(__file__).resolve().parent.parent
SINGER_IO = "tap-marketo==2.9.4"
AIRBYTE = "airbyte-source-marketo==2.1.3"
# Hard-coded in source_marketo.source.MarketoExportBase.poll_interval (2.1.3).
AIRBYTE_POLL_SECONDS = 60
# Activity types every connector syncs, by their names in activities/types.json.
DEFAULT_ACTIVITY_TYPES = "Visit Webpage,Send Email,Open Email"
# Streams the three share besides leads and activities (ours: static_lists is `lists`).
SHARED = ("activity_types", "campaigns", "lists", "programs")
OURS_NAMES = {"lists": "static_lists"}

# The launcher for singer-io's tap: its Client builds https://<munchkin>.mktorest.com/...
# from the Munchkin id in `endpoint`; only that function is replaced.
SINGER_LAUNCHER = """\
import os, sys
import tap_marketo.client as client
base = os.environ["BENCH_MARKETO_BASE_URL"].rstrip("/")
client.Client.get_url = lambda self, url: base + "/" + url
from tap_marketo import main
sys.argv[0] = "tap-marketo"
main()
"""

_STREAM = re.compile(rb'"stream": ?"([^"]+)"')


def norm(name: str) -> str:
    """Stream names of one activity type across the three namers
    (`activities_add_to_list`, `activities_addto_list`, ...)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# -- venvs -------------------------------------------------------------------------------


def ensure_venv(path: Path, requirement: str) -> Path:
    """A venv at ``path`` holding ``requirement`` (pinned); returns its python."""
    python = path / "bin" / "python"
    marker = path / ".bench-requirement"
    if marker.exists() and marker.read_text() == requirement:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
        check=True,
    )
    marker.write_text(requirement)
    return python


# -- sandbox -----------------------------------------------------------------------------


def control(endpoint: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        endpoint + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


# -- process measurement -----------------------------------------------------------------


def tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants (Airbyte and Singer runners may fork)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        for line in status.splitlines():
            if line.startswith("PPid:"):
                children.setdefault(int(line.split()[1]), []).append(pid)
            elif line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_connector(argv: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
    """Run one connector; count RECORD messages per stream from its stdout."""
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=env)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(proc.pid))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert proc.stdout is not None
        per_stream = count_records(proc.stdout, log)
        proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return {
        "exit_status": proc.returncode,
        "seconds": round(seconds, 1),
        "records": sum(per_stream.values()),
        "per_stream": dict(sorted(per_stream.items())),
        "peak_rss_mb": round(peak[0] / 1024, 1),
    }


def count_records(lines: Iterable[bytes], log: IO[bytes] | None = None) -> dict[str, int]:
    """RECORD messages per stream, Singer (`{"type": "RECORD", "stream": ...}`) or Airbyte
    (`{"type": "RECORD", "record": {"stream": ...}}`); the first "stream" key is the one.
    Other messages go to ``log`` (Airbyte sources log on stdout)."""
    counts: dict[str, int] = {}
    for line in lines:
        if b'"RECORD"' not in line[:40]:
            if log is not None:
                log.write(line)
            continue
        match = _STREAM.search(line, 0, 400)
        name = match.group(1).decode() if match else "?"
        counts[name] = counts.get(name, 0) + 1
    return counts


def job_figures(endpoint: str, since: float, slots: int) -> dict[str, Any] | None:
    """The run's export jobs from ``GET /_sandbox/export-jobs`` (None when the sandbox
    does not record them): how many, their processing seconds, and the two-slot floor,
    the least wall time in which Marketo's 2 processing slots could have run them."""
    try:
        timeline = control(endpoint, "/_sandbox/export-jobs")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    # The list holds every job since the sandbox started; this run's were created after
    # it began (sandbox clock = this machine's clock: no clock_offset_seconds here).
    jobs = [j for j in timeline["jobs"] if (j.get("created") or 0) >= since]
    processing = sum(
        j["finished"] - j["started"] for j in jobs if j.get("started") and j.get("finished")
    )
    return {
        "jobs": len(jobs),
        "processing_seconds": round(processing, 1),
        "two_slot_floor_seconds": round(processing / slots, 1),
    }


# -- catalogs ----------------------------------------------------------------------------


def wanted(activity_types: list[str]) -> set[str]:
    return {norm("activities_" + name) for name in activity_types}


def select_singer(catalog: dict[str, Any], names: set[str], activities: set[str]) -> dict[str, Any]:
    """Singer catalog with the chosen streams and every field selected."""
    kept = []
    for entry in catalog["streams"]:
        sid = entry["tap_stream_id"]
        if sid not in names and norm(sid) not in activities:
            continue
        for item in entry["metadata"]:
            item["metadata"]["selected"] = True
        kept.append(entry)
    return {"streams": kept}


def select_airbyte(
    catalog: dict[str, Any], names: set[str], activities: set[str]
) -> dict[str, Any]:
    streams = []
    for stream in catalog["streams"]:
        if stream["name"] not in names and norm(stream["name"]) not in activities:
            continue
        incremental = "incremental" in stream.get("supported_sync_modes", [])
        configured: dict[str, Any] = {
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append",
        }
        if incremental and stream.get("default_cursor_field"):
            configured["cursor_field"] = stream["default_cursor_field"]
        streams.append(configured)
    return {"streams": streams}


def parse_catalog(out: bytes, dialect: str) -> dict[str, Any]:
    """The catalog a discover printed: Singer prints it whole, Airbyte as a message."""
    if dialect != "airbyte":
        catalog: dict[str, Any] = json.loads(out)
        return catalog
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("type") == "CATALOG":
            found: dict[str, Any] = message["catalog"]
            return found
    raise SystemExit("source-marketo discover printed no CATALOG message")


# -- the runs ----------------------------------------------------------------------------


@dataclass
class Connector:
    """One connector's command lines, configuration and catalog dialect."""

    label: str
    command: list[str]  # without the subcommand and its --config / --catalog
    config: dict[str, Any]
    env: dict[str, str]
    dialect: str  # "ours", "singer-io" or "airbyte"

    def discover_argv(self, config_path: Path) -> list[str]:
        if self.dialect == "airbyte":
            return [*self.command, "discover", "--config", str(config_path)]
        return [*self.command, "--config", str(config_path), "--discover"]

    def read_argv(self, config_path: Path, catalog_path: Path) -> list[str]:
        if self.dialect == "airbyte":
            return [
                *self.command,
                "read",
                "--config",
                str(config_path),
                "--catalog",
                str(catalog_path),
            ]
        # singer-io's tap reads a dict only from --properties (--catalog gives it
        # singer-python's Catalog object, which its sync cannot index).
        flag = "--catalog" if self.dialect == "ours" else "--properties"
        return [*self.command, "--config", str(config_path), flag, str(catalog_path)]

    def catalog(self, discovered: dict[str, Any], activities: set[str]) -> dict[str, Any]:
        if self.dialect == "airbyte":
            return select_airbyte(discovered, {"leads", *SHARED}, activities)
        names = {"leads", *(OURS_NAMES.get(s, s) if self.dialect == "ours" else s for s in SHARED)}
        return select_singer(discovered, names, activities)


def connectors(
    args: argparse.Namespace, info: dict[str, str], munchkin: str, start: str, work: Path
) -> list[Connector]:
    env = dict(os.environ)
    secrets = {"client_id": info["client_id"], "client_secret": info["client_secret"]}
    found = [
        Connector(
            "tap-marketo-crm",
            [str(Path(sys.executable).with_name("tap-marketo-crm"))],
            {
                "endpoint": info["endpoint"],
                **secrets,
                "start_date": start,
                "bulk_poll_interval_seconds": args.poll_seconds,
            },
            env,
            "ours",
        )
    ]
    if args.patch_singer_base_url:
        launcher = work / "singer_launcher.py"
        launcher.write_text(SINGER_LAUNCHER)
        found.append(
            Connector(
                "singer-io tap-marketo",
                [str(ensure_venv(work / "venvs" / "tap-marketo", SINGER_IO)), str(launcher)],
                # Only the Munchkin id is read from `endpoint` (the URL is built from it).
                {
                    "endpoint": f"https://{munchkin}.mktorest.com/rest",
                    **secrets,
                    "start_date": start,
                    "poll_interval": args.poll_seconds,
                },
                {**env, "BENCH_MARKETO_BASE_URL": info["endpoint"]},
                "singer-io",
            )
        )
    airbyte_python = ensure_venv(work / "venvs" / "source-marketo", AIRBYTE)
    found.append(
        Connector(
            "airbyte source-marketo",
            [str(airbyte_python.with_name("source-marketo"))],
            {"domain_url": info["endpoint"], **secrets, "start_date": start},
            env,
            "airbyte",
        )
    )
    return found


def measure(
    connector: Connector, endpoint: str, activities: set[str], slots: int, work: Path
) -> dict[str, Any]:
    """Discover, select, reset the sandbox's counters, run, read the counters back."""
    slug = norm(connector.label)
    config_path = work / f"{slug}.config.json"
    catalog_path = work / f"{slug}.catalog.json"
    config_path.write_text(json.dumps(connector.config))
    discovered = subprocess.run(
        connector.discover_argv(config_path), capture_output=True, env=connector.env, check=False
    )
    if discovered.returncode:
        tail = discovered.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{connector.label}: discover exited {discovered.returncode}\n{tail}")
    catalog = connector.catalog(parse_catalog(discovered.stdout, connector.dialect), activities)
    catalog_path.write_text(json.dumps(catalog))
    control(endpoint, "/_sandbox/calls/reset", {})
    run_started = time.time()
    run = run_connector(
        connector.read_argv(config_path, catalog_path), connector.env, work / f"{slug}.log"
    )
    calls = control(endpoint, "/_sandbox/calls")
    run["api_calls"] = calls.get("total")
    run["calls_by_endpoint"] = calls.get("endpoints")
    run["rejected"] = calls.get("rejected")
    run["jobs"] = job_figures(endpoint, run_started, slots)
    run["rows_per_s"] = round(run["records"] / run["seconds"]) if run["seconds"] else 0
    run["load_after"] = os.getloadavg()
    return run


def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    types = [t.strip() for t in args.activity_types.split(",") if t.strip()]
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)).strftime("%Y-%m-%dT00:00:00Z")
    results: dict[str, Any] = {
        "seed": args.seed,
        "start_date": start,
        "poll_seconds": args.poll_seconds,
        "job_seconds": args.job_seconds,
        "activity_types": types,
        "versions": {"singer-io": SINGER_IO, "airbyte": AIRBYTE},
        "nproc": os.cpu_count(),
        "load_before": os.getloadavg(),
        "command": " ".join(["python bench/compare_bench.py", *sys.argv[1:]]),
        "runs": {},
    }
    seed_started = time.perf_counter()
    # A fresh data directory: the sandbox seeds into an empty one (bench: ~3.5 GB).
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-", dir=work) as data_dir,
        serve_sandbox(
            args.seed, "--port", "0", "--export-quota-mb", "100000", "--data-dir", data_dir
        ) as info,
    ):
        results["seed_seconds"] = round(time.perf_counter() - seed_started, 1)
        endpoint = info["endpoint"]
        config = control(endpoint, "/_sandbox/config")
        # A job stays queued job_seconds: no connector finds it done at its first status
        # check, so each pays one poll per job (Marketo: minutes per job).
        clock = {"export_queued_seconds": args.job_seconds, "export_processing_seconds": 0.0}
        if "export_processing_seconds_per_1k_rows" in config:
            # A sandbox that records job processing instants (GET /_sandbox/export-jobs):
            # processing grows with the rows, so the two-slot floor means something.
            clock["export_processing_seconds_per_1k_rows"] = args.job_seconds_per_1k_rows
        control(endpoint, "/_sandbox/config", clock)
        results["sandbox_clock"] = clock
        for connector in connectors(args, info, config["munchkin_id"], start, work):
            run = measure(
                connector, endpoint, wanted(types), int(config["bulk_max_processing"]), work
            )
            results["runs"][connector.label] = run
            print(
                f"{connector.label}: {run['records']} records in {run['seconds']} s, "
                f"{run['api_calls']} calls, exit {run['exit_status']}",
                file=sys.stderr,
            )
        if not args.patch_singer_base_url:
            results["runs"]["singer-io tap-marketo"] = {
                "blocked": "builds https://<munchkin>.mktorest.com itself; "
                "run with --patch-singer-base-url"
            }
    results["load_after"] = os.getloadavg()
    return results


# -- the table ---------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    """Markdown: the runs with ours' ratios to each other connector, then records per
    stream family (the same rows for everyone is what makes rows/s comparable)."""
    runs = results["runs"]
    measured = {k: v for k, v in runs.items() if "blocked" not in v}
    ours = measured.get("tap-marketo-crm", {})
    # The two-slot floor only where the sandbox recorded job processing instants.
    floors = all(v.get("jobs") for v in measured.values()) and bool(measured)
    head = ["connector", "exit", "records", "wall s", "rows/s", "API calls", "peak RSS MB"]
    if floors:
        head += ["export jobs", "two-slot floor s", "wall / floor"]
    head += ["ours / it: rows/s", "ours / it: calls"]
    lines = [
        f"seed `{results['seed']}`, start_date {results['start_date']}, poll "
        f"{results['poll_seconds']} s, sandbox job clock {results.get('sandbox_clock')}, "
        f"activity types: {', '.join(results['activity_types'])}; nproc {results['nproc']}, "
        f"load {_load(results['load_before'])} before, {_load(results['load_after'])} after",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for label, run in runs.items():
        if label not in measured:
            lines.append(f"| {label} | blocked: {run['blocked']} |" + " |" * (len(head) - 2))
            continue
        cells = [
            label,
            str(run["exit_status"]),
            f"{run['records']:,}",
            f"{run['seconds']}",
            f"{run['rows_per_s']:,}",
            str(run["api_calls"]),
            str(run["peak_rss_mb"]),
        ]
        if floors:
            jobs = run["jobs"]
            floor = jobs["two_slot_floor_seconds"]
            cells += [
                str(jobs["jobs"]),
                str(floor),
                f"{run['seconds'] / floor:.1f}" if floor else "-",
            ]
        cells += [
            _ratio(_speed(ours), _speed(run), label),
            _ratio(ours.get("api_calls"), run["api_calls"], label),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| records per stream family | " + " | ".join(measured) + " |",
        "|---|" + "---|" * len(measured),
    ]
    families = sorted({_family(s) for v in measured.values() for s in v["per_stream"]})
    for family in families:
        cells = [
            f"{sum(n for s, n in v['per_stream'].items() if _family(s) == family):,}"
            for v in measured.values()
        ]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _speed(run: dict[str, Any]) -> float | None:
    """rows/s unrounded: small runs have rates of a few rows/s."""
    return run["records"] / run["seconds"] if run.get("seconds") else None


def _ratio(ours: float | None, theirs: float | None, label: str) -> str:
    if label == "tap-marketo-crm" or not ours or not theirs:
        return "-"
    return f"{ours / theirs:.2f}x"


def _family(stream: str) -> str:
    """Streams compared across connectors: each activity type, the shared streams."""
    if stream.startswith("activities_"):
        return "activities_" + norm(stream[len("activities_") :])
    return {"static_lists": "lists"}.get(stream, stream)


def _load(load: list[float] | tuple[float, ...]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="small")
    parser.add_argument(
        "--days",
        type=int,
        default=29,
        help="start_date this many days back (29: one export window each)",
    )
    parser.add_argument("--poll-seconds", type=float, default=AIRBYTE_POLL_SECONDS)
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=2.0,
        help="sandbox job clock: seconds each export stays queued",
    )
    parser.add_argument(
        "--job-seconds-per-1k-rows",
        type=float,
        default=0.05,
        help="sandbox job clock, where supported: processing per 1,000 rows",
    )
    parser.add_argument("--activity-types", default=DEFAULT_ACTIVITY_TYPES)
    parser.add_argument("--patch-singer-base-url", action="store_true")
    parser.add_argument("--workdir", default=str(ROOT / "output" / "compare-bench"))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--render", help="only render the table of a saved --json file")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    results = bench(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(render(results))


if __name__ == "__main__":
    main()
