"""Benchmark of marketo-sandbox: is the sandbox ever what a benchmark measures?

Starts a ``SandboxServer`` with the ``bench`` seed in this process (loopback only, a
temporary data directory removed at the end) and measures the goals of the foundation
issue:

1. Seeding: wall time of ``SandboxServer.start()`` (seed + snapshot + bind) and peak RSS
   of the process (``VmHWM``) after seeding. Goal: < 120 s on 2 cores; memory bounded.
2. REST read of 300 leads by id (``GET /rest/v1/leads.json?filterType=id``, a different
   random set of 300 ids each time) with a token from ``/identity`` and raw ``requests``
   on one keep-alive session: median and p95 over ``--reads`` reads, with Marketo's
   default fields and with every describe field. Goal: < 50 ms.
3. Bulk extract of the busiest 31-day activity window and of the busiest 31-day lead
   window (``createdAt`` or ``updatedAt``, every describe field): generation rows/s
   (enqueue -> ``Completed`` as seen by polling status every 20 ms), download MB/s of the
   file (median of ``--downloads`` passes into a null sink, after one verified pass whose
   size and sha256 must equal ``fileSize`` / ``fileChecksum``), and Range correctness
   (206 with the right ``Content-Range`` and bytes, resume after a cut, suffix range, 416
   past the end). Goal: >= 50 MB/s.

Limits that would only slow the bench down (rate window, daily quotas) are raised; the
job clock is 0 s (the sandbox default). The peak RSS is the whole process's: server and
bench client share it. A watchdog ends the run after ``--max-seconds``.

    python bench/sandbox_bench.py                          # bench seed, ~1-3 minutes
    python bench/sandbox_bench.py --json sandbox.json      # also write the figures
    python bench/sandbox_bench.py --leads 20000 --activities 200000   # a quicker look
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.seed import spec_for
from marketo_sandbox.testing import SandboxApi

MB = 1_000_000  # MB/s in decimal megabytes, as network throughput is quoted
CHUNK = 1 << 20
GOALS = {"seed_seconds": 120.0, "read_ms": 50.0, "download_mb_s": 50.0}


class BenchError(RuntimeError):
    pass


# -- process facts --------------------------------------------------------------------------


def proc_status_kb(key: str) -> int | None:
    """``VmHWM`` / ``VmRSS`` of this process in kB (None where /proc is absent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    hwm = proc_status_kb("VmHWM")
    if hwm is None:  # ru_maxrss is kB on Linux
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(hwm / 1024, 1)


def rss_mb() -> float | None:
    rss = proc_status_kb("VmRSS")
    return None if rss is None else round(rss / 1024, 1)


def machine() -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": cpus,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# -- seeding ----------------------------------------------------------------------------------


class _SeedSteps(logging.Handler):
    """Collects the seed module's per-seeder debug lines ("seeded X in 1.23s")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.steps: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2:
            self.steps.append((str(args[0]).rsplit(".", 1)[-1], float(args[1])))


def start_sandbox(args: argparse.Namespace, data_dir: Path) -> tuple[SandboxServer, dict[str, Any]]:
    config = SandboxConfig(client_secret="bench-secret")
    config.update(
        {
            "rate_limit_calls": 1_000_000,
            "daily_call_quota": 100_000_000,
            "export_daily_quota_bytes": 100 * 1024**3,
        }
    )
    spec = spec_for(args.seed, leads=args.leads, activities=args.activities)
    steps = _SeedSteps()
    seed_log = logging.getLogger("marketo_sandbox.seed")
    seed_log.addHandler(steps)
    seed_log.setLevel(logging.DEBUG)
    seed_log.propagate = False
    server = SandboxServer(config, seed=spec, host="127.0.0.1", port=0, data_dir=data_dir)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    server.start()
    seconds = time.perf_counter() - started
    seed_log.removeHandler(steps)
    db_bytes = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    result = {
        "seed": spec.name,
        "leads": spec.leads,
        "activities": spec.activities,
        "seconds": round(seconds, 1),
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb_after": rss_mb(),
        "data_dir_mb": round(db_bytes / MB, 1),
        "data_dir_files_mb": {
            str(p.relative_to(data_dir)): round(p.stat().st_size / MB, 1)
            for p in sorted(data_dir.rglob("*"), key=lambda p: -p.stat().st_size)[:4]
            if p.is_file()
        },
        "slowest_steps": [
            {"step": name, "seconds": round(s, 1)}
            for name, s in sorted(steps.steps, key=lambda x: -x[1])[:5]
        ],
    }
    return server, result


# -- REST ---------------------------------------------------------------------------------------


class Api(SandboxApi):
    """The sandbox's API on one keep-alive session, with a token from ``/identity``."""

    def __init__(self, server: SandboxServer) -> None:
        super().__init__(server.info(), timeout=120)
        self.url = self.base

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        response.raise_for_status()
        body = response.json()
        if not body.get("success"):
            raise BenchError(f"{method} {path}: {body.get('errors')}")
        return body


def bench_reads(api: Api, server: SandboxServer, args: argparse.Namespace) -> dict[str, Any]:
    assert server.store is not None
    ids = [row[0] for row in server.store.query("SELECT id FROM leads")]
    if len(ids) < 300:
        raise BenchError(f"only {len(ids)} leads: a read of 300 needs more")
    fields = [f["rest"]["name"] for f in api.call("GET", "/rest/v1/leads/describe.json")["result"]]
    rng = random.Random(7)
    out: dict[str, Any] = {"lead_fields": len(fields)}
    for label, extra in (("default_fields", {}), ("all_fields", {"fields": ",".join(fields)})):
        timings: list[float] = []
        body_bytes = 0
        for i in range(args.reads + 3):  # 3 warm-up reads, not counted
            chosen = rng.sample(ids, 300)
            params = {"filterType": "id", "filterValues": ",".join(map(str, chosen)), **extra}
            started = time.perf_counter()
            response = api.session.get(f"{api.url}/rest/v1/leads.json", params=params, timeout=30)
            content = response.content
            elapsed = time.perf_counter() - started
            body = json.loads(content)
            if response.status_code != 200 or not body.get("success"):
                raise BenchError(f"lead read failed: {response.status_code} {content[:300]!r}")
            if len(body["result"]) != 300:
                raise BenchError(f"lead read returned {len(body['result'])} leads, not 300")
            if i >= 3:
                timings.append(elapsed * 1000)
                body_bytes = len(content)
        out[label] = {
            "reads": len(timings),
            "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 95), 1),
            "max_ms": round(max(timings), 1),
            "response_kb": round(body_bytes / 1000, 1),
        }
    return out


# -- bulk extract ---------------------------------------------------------------------------------


def _ts(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def busiest_window(server: SandboxServer, table: str, column: str) -> tuple[str, str, int]:
    """The 31-day window [day 00:00, day+31 00:00] holding the most rows of ``column``."""
    assert server.store is not None
    per_day = {
        dt.date.fromisoformat(day): n
        for day, n in server.store.query(
            f"SELECT substr({column}, 1, 10) AS day, count(*) FROM {table} GROUP BY day"
        )
    }
    if not per_day:
        raise BenchError(f"no rows in {table}")
    first, last = min(per_day), max(per_day)
    best_start, best = first, -1
    start = first
    while start <= last:
        total = sum(per_day.get(start + dt.timedelta(days=d), 0) for d in range(31))
        if total > best:
            best_start, best = start, total
        start += dt.timedelta(days=1)
    start_at, end_at = _ts(best_start), _ts(best_start + dt.timedelta(days=31))
    (count,) = server.store.query(
        f"SELECT count(*) FROM {table} WHERE {column} >= ? AND {column} <= ?",
        (start_at, end_at),
    )[0]
    return start_at, end_at, int(count)


def run_export(api: Api, entity: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
    base = f"/bulk/v1/{entity}/export"
    job = api.call("POST", f"{base}/create.json", json=body)["result"][0]
    export_id = job["exportId"]
    api.call("POST", f"{base}/{export_id}/enqueue.json")
    started = time.perf_counter()
    while True:
        status = api.call("GET", f"{base}/{export_id}/status.json")["result"][0]
        if status["status"] == "Completed":
            break
        if status["status"] in ("Failed", "Cancelled"):
            raise BenchError(f"export {export_id} ended {status['status']}: {status}")
        if time.monotonic() > deadline:
            raise BenchError(f"export {export_id} still {status['status']} at the deadline")
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    return {
        "exportId": export_id,
        "path": f"{base}/{export_id}/file.json",
        "records": int(status["numberOfRecords"]),
        "fileSize": int(status["fileSize"]),
        "fileChecksum": status["fileChecksum"],
        "generation_seconds": round(seconds, 2),
        "generation_rows_s": round(int(status["numberOfRecords"]) / seconds) if seconds else None,
    }


def download(api: Api, path: str, sink: Any = None, headers: dict[str, str] | None = None) -> Any:
    """Stream a file into ``sink`` (a file or None); returns (status, headers, bytes, sha256)."""
    digest = hashlib.sha256() if sink is not None else None
    size = 0
    with api.session.get(api.url + path, headers=headers or {}, stream=True, timeout=120) as r:
        for chunk in r.iter_content(CHUNK):
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
                assert digest is not None
                digest.update(chunk)
        return r.status_code, r.headers, size, digest.hexdigest() if digest else None


def _slice_sha256(copy: Path, lo: int, hi: int) -> str:
    digest = hashlib.sha256()
    with copy.open("rb") as f:
        f.seek(lo)
        left = hi - lo + 1
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _ranged(api: Api, path: str, header: str, digest: Any) -> tuple[int, str | None]:
    """GET with ``Range``, streamed into ``digest`` (no body held in memory)."""
    with api.session.get(api.url + path, headers={"Range": header}, stream=True, timeout=120) as r:
        for chunk in r.iter_content(CHUNK):
            digest.update(chunk)
        return r.status_code, r.headers.get("Content-Range")


def range_checks(api: Api, path: str, copy: Path, size: int) -> list[dict[str, Any]]:
    """Ranged bodies compared by sha256 with the same slice of the verified copy."""
    cut = size // 3
    cases = [
        ("first 1 KiB", "bytes=0-1023", 0, min(1023, size - 1)),
        ("middle slice", f"bytes={cut}-{cut + 65535}", cut, min(cut + 65535, size - 1)),
        ("open-ended tail (resume)", f"bytes={cut}-", cut, size - 1),
        ("suffix 500 bytes", "bytes=-500", max(0, size - 500), size - 1),
        ("last byte", f"bytes={size - 1}-{size - 1}", size - 1, size - 1),
    ]
    results = []
    for name, header, lo, hi in cases:
        digest = hashlib.sha256()
        status, content_range = _ranged(api, path, header, digest)
        ok = (
            status == 206
            and content_range == f"bytes {lo}-{hi}/{size}"
            and digest.hexdigest() == _slice_sha256(copy, lo, hi)
        )
        results.append({"case": name, "range": header, "status": status, "ok": ok})
    # A download cut after `cut` bytes, resumed with Range, rebuilds the file exactly.
    whole = hashlib.sha256()
    _ranged(api, path, f"bytes=0-{cut - 1}", whole)
    status, _ = _ranged(api, path, f"bytes={cut}-", whole)
    results.append(
        {
            "case": "cut + resume = whole file",
            "range": f"0-{cut - 1} + {cut}-",
            "status": status,
            "ok": whole.hexdigest() == _slice_sha256(copy, 0, size - 1),
        }
    )
    beyond = [
        ("resume at the end (offset = size)", f"bytes={size}-"),
        ("start past the end", f"bytes={size + 10}-"),
    ]
    for name, header in beyond:  # RFC 9110: 416 with Content-Range "bytes */size"
        response = api.session.get(api.url + path, headers={"Range": header}, timeout=30)
        results.append(
            {
                "case": name,
                "range": header,
                "status": response.status_code,
                "ok": response.status_code == 416
                and response.headers.get("Content-Range") == f"bytes */{size}",
                "body": response.text[:120] if response.status_code != 416 else None,
            }
        )
    return results


def bench_export(
    api: Api,
    entity: str,
    body: dict[str, Any],
    *,
    args: argparse.Namespace,
    deadline: float,
    work: Path,
    expected_records: int,
) -> dict[str, Any]:
    label = entity
    job = run_export(api, entity, body, deadline)
    copy = work / f"{label}.copy"
    with copy.open("wb") as sink:
        status, headers, size, sha = download(api, job["path"], sink)
    verified = {
        "numberOfRecords_matches_window": job["records"] == expected_records,
        "status_200": status == 200,
        "size_matches_fileSize": size == job["fileSize"],
        "sha256_matches_fileChecksum": f"sha256:{sha}" == job["fileChecksum"],
        "accept_ranges": headers.get("Accept-Ranges") == "bytes",
    }
    speeds = []
    for _ in range(args.downloads):
        started = time.perf_counter()
        _, _, got, _ = download(api, job["path"])
        elapsed = time.perf_counter() - started
        if got != size:
            raise BenchError(f"{label}: download returned {got} bytes, not {size}")
        speeds.append(size / MB / elapsed)
    ranges = range_checks(api, job["path"], copy, size)
    copy.unlink()
    return {
        **{k: v for k, v in job.items() if k != "path"},
        "filter": body["filter"],
        "file_mb": round(size / MB, 1),
        "download_mb_s_median": round(statistics.median(speeds), 1),
        "download_mb_s_min": round(min(speeds), 1),
        "download_mb_s_max": round(max(speeds), 1),
        "verified": verified,
        "range_checks": ranges,
        "range_ok": all(r["ok"] for r in ranges),
        "peak_rss_mb_after": peak_rss_mb(),
    }


def bench_exports(
    api: Api, server: SandboxServer, args: argparse.Namespace, deadline: float, work: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    start_at, end_at, expected = busiest_window(server, "activities", "activityDate")
    body = {"format": "CSV", "filter": {"createdAt": {"startAt": start_at, "endAt": end_at}}}
    out["activities"] = bench_export(
        api, "activities", body, args=args, deadline=deadline, work=work, expected_records=expected
    )
    out["activities"]["expected_records"] = expected
    windows = [(c, *busiest_window(server, "leads", c)) for c in ("createdAt", "updatedAt")]
    column, start_at, end_at, expected = max(windows, key=lambda w: w[3])
    fields = [f["rest"]["name"] for f in api.call("GET", "/rest/v1/leads/describe.json")["result"]]
    body = {
        "format": "CSV",
        "fields": fields,
        "filter": {column: {"startAt": start_at, "endAt": end_at}},
    }
    out["leads"] = bench_export(
        api, "leads", body, args=args, deadline=deadline, work=work, expected_records=expected
    )
    out["leads"]["expected_records"] = expected
    out["leads"]["fields"] = len(fields)
    return out


# -- report ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def table(result: dict[str, Any]) -> str:
    seed, reads, exports = result["seeding"], result["rest_read"], result["bulk_export"]
    rows: list[tuple[str, str, str, str]] = [
        (
            f"seed `{seed['seed']}` ({seed['leads']:,} leads, {seed['activities']:,} activities): "
            "wall time",
            f"{seed['seconds']} s",
            "< 120 s",
            verdict(seed["seconds"] < 120),
        ),
        (
            "peak RSS after seeding (VmHWM)",
            f"{seed['peak_rss_mb']} MB (before: {seed['peak_rss_mb_before']} MB)",
            "bounded",
            "-",
        ),
    ]
    for label in ("default_fields", "all_fields"):
        r = reads[label]
        rows.append(
            (
                f"REST read of 300 leads by id, {label.replace('_', ' ')} "
                f"({r['response_kb']} kB), median / p95 of {r['reads']}",
                f"{r['median_ms']} / {r['p95_ms']} ms",
                "< 50 ms",
                verdict(r["p95_ms"] < 50)
                if label == "default_fields"
                else verdict(r["median_ms"] < 50) + " (median)",
            )
        )
    for name in ("activities", "leads"):
        e = exports[name]
        window = next(iter(e["filter"].items()))
        rows.append(
            (
                f"bulk {name} export, busiest 31-day `{window[0]}` window "
                f"({e['records']:,} rows, {e['file_mb']} MB): generation",
                f"{e['generation_rows_s']:,} rows/s ({e['generation_seconds']} s)",
                "-",
                "-",
            )
        )
        rows.append(
            (
                f"bulk {name} file download (median of {result['args']['downloads']}, "
                f"min-max {e['download_mb_s_min']}-{e['download_mb_s_max']})",
                f"{e['download_mb_s_median']} MB/s",
                ">= 50 MB/s",
                verdict(e["download_mb_s_median"] >= 50),
            )
        )
        checks = e["range_checks"]
        good = sum(c["ok"] for c in checks) + sum(e["verified"].values())
        total = len(checks) + len(e["verified"])
        failed = [k for k, ok in e["verified"].items() if not ok]
        failed += [f"{c['case']} -> {c['status']}" for c in checks if not c["ok"]]
        rows.append(
            (
                f"bulk {name} file checks: rows, size and sha256 = status, Range 206 slices, "
                "cut + resume, 416 past the end",
                f"{good}/{total} pass" + (f" (failed: {'; '.join(failed)})" if failed else ""),
                "all",
                verdict(good == total),
            )
        )
    rows.append(
        (
            "peak RSS of the whole run (server + client)",
            f"{result['peak_rss_mb']} MB",
            "bounded",
            "-",
        )
    )
    lines = ["| measure | figure | goal | result |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    m = result["machine"]
    lines.append("")
    lines.append(
        f"nproc {m['nproc']}, load average {m['loadavg_start']} at start, "
        f"{m['loadavg_end']} at end; Python {m['python']}; {m['date']}; "
        f"total {result['total_seconds']} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--leads", type=int, help="override the seed's number of leads")
    parser.add_argument("--activities", type=int, help="override the seed's activities")
    parser.add_argument("--reads", type=int, default=50, help="timed REST reads per variant")
    parser.add_argument("--downloads", type=int, default=3, help="timed downloads per file")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="watchdog: the run ends (exit 3) after this long",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    begun = time.monotonic()
    deadline = begun + args.max_seconds
    facts = machine()
    work = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))

    def watchdog() -> None:
        sys.stderr.write(f"sandbox_bench: no result after {args.max_seconds:.0f} s, stopping\n")
        sys.stderr.flush()
        shutil.rmtree(work, ignore_errors=True)
        os._exit(3)

    timer = threading.Timer(args.max_seconds, watchdog)
    timer.daemon = True
    timer.start()
    server: SandboxServer | None = None
    try:
        print(f"seeding `{args.seed}` ...", file=sys.stderr, flush=True)
        server, seeding = start_sandbox(args, work / "sandbox")
        print(f"seeded in {seeding['seconds']} s; REST reads ...", file=sys.stderr, flush=True)
        api = Api(server)
        reads = bench_reads(api, server, args)
        print("bulk exports ...", file=sys.stderr, flush=True)
        exports = bench_exports(api, server, args, deadline, work)
        facts["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        result = {
            "machine": facts,
            "args": {k: v for k, v in vars(args).items() if k != "json"},
            "seeding": seeding,
            "rest_read": reads,
            "bulk_export": exports,
            "peak_rss_mb": peak_rss_mb(),
            "total_seconds": round(time.monotonic() - begun, 1),
            "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
        }
    except BenchError as exc:
        print(f"sandbox_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        timer.cancel()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
