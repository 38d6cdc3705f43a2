"""What empty history costs a first sync of the bulk streams (issue 10).

    python bench/empty_history_bench.py            # the `small` seed, in process
    python bench/empty_history_bench.py --seed demo

Starts a sandbox, then runs two first syncs of the bulk streams (leads, every
activity type, custom objects, program memberships) from empty state:

1. from 2007-01-01 (what "everything" means: Marketo holds nothing older);
2. from the data's first day (the earliest date any record of those streams carries,
   read from the sandbox's ground truth).

and prints, per stream, the records written and the API calls spent (the sandbox's own
counters, by endpoint), and each run's wall time. Same records, and calls within a few
per cent, is the goal: a first sync costs what the data costs, not what the calendar
does.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from collections import Counter, defaultdict
from typing import Any

from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.testing import SandboxControl
from tap_marketo_crm.tap import TapMarketoCRM

BULK = ("leads", "activities_", "custom_", "program_memberships")
EVERYTHING = "2007-01-01T00:00:00Z"


def config_for(info: dict[str, str], start_date: str) -> dict[str, Any]:
    return {
        "endpoint": info["endpoint"],
        "identity": info["identity"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "start_date": start_date,
        "bulk_poll_interval_seconds": 0.05,
        "rate_limit_calls": 1_000_000,
    }


def select_bulk(catalog: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(catalog))
    for entry in copy["streams"]:
        name = entry["tap_stream_id"]
        chosen = any(name == b or (b.endswith("_") and name.startswith(b)) for b in BULK)
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return copy


def stream_of(name_or_endpoint: str) -> str:
    """The row a stream's records or an API call go to (calls by endpoint: the sandbox
    counts by route, so both custom object types share one row)."""
    path = name_or_endpoint.split(" ", 1)[-1]
    if path.startswith(("custom_", "/bulk/v1/customobjects/", "/rest/v1/customobjects")):
        return "custom_*"
    if path.startswith(("program_memberships", "/bulk/v1/program/members", "/rest/v1/program")):
        return "program_memberships"
    if path.startswith(("activities_", "/bulk/v1/activities", "/rest/v1/activities")):
        return "activities_*"
    if path.startswith(("leads", "/bulk/v1/leads", "/rest/v1/leads")):
        return "leads"
    return "other"


def first_day(control: SandboxControl) -> str:
    """The earliest date any record of the bulk streams carries."""
    dates: list[str] = []
    for lead in control.objects("leads"):
        dates += [lead[k] for k in ("createdAt", "updatedAt") if lead.get(k)]
    dates += [a["activityDate"] for a in control.objects("activities") if a.get("activityDate")]
    for kind in ("customobjects/car_c", "customobjects/subscription_c"):
        for record in control.objects(kind):
            dates += [record[k] for k in ("createdAt", "updatedAt") if record.get(k)]
    return min(dates)[:10] + "T00:00:00Z"


def sync(
    info: dict[str, str], control: SandboxControl, catalog: dict[str, Any], start: str
) -> tuple[Counter[str], Counter[str], int, int, float]:
    control.reset_calls()
    out = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out):
        tap = TapMarketoCRM(config=config_for(info, start), catalog=catalog, state={})
        tap.sync_all()
    elapsed = time.monotonic() - started
    tap.close_client()
    records: Counter[str] = Counter()
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[stream_of(message["stream"])] += 1
    calls: Counter[str] = Counter()
    snapshot = control.calls()
    jobs = 0
    for endpoint, n in snapshot["endpoints"].items():
        calls[stream_of(endpoint)] += n
        jobs += n if endpoint.endswith("/export/create.json") else 0
    return records, calls, int(snapshot["total"]), jobs, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="small")
    args = parser.parse_args()
    config = SandboxConfig(rate_limit_calls=1_000_000, max_concurrent_calls=10)
    with SandboxServer(config, seed=args.seed) as server:
        info = server.info()
        control = SandboxControl(server.url)
        with contextlib.redirect_stdout(io.StringIO()):
            discovered = TapMarketoCRM(config=config_for(info, EVERYTHING)).catalog_dict
        catalog = select_bulk(json.loads(json.dumps(discovered)))
        data_start = first_day(control)
        results = {}
        for label, start in (("from 2007-01-01", EVERYTHING), (f"from {data_start}", data_start)):
            control.reset()
            results[label] = sync(info, control, catalog, start)
    table: dict[str, dict[str, str]] = defaultdict(dict)
    for label, (records, calls, total, jobs, elapsed) in results.items():
        for name in sorted(set(records) | set(calls)):
            table[name][label] = f"{records.get(name, 0):>7} rec {calls.get(name, 0):>5} calls"
        table["TOTAL"][label] = f"{sum(records.values()):>7} rec {total:>5} calls"
        # Each export job waits at least one bulk_poll_interval_seconds (60 by default).
        table["export jobs, wall"][label] = f"{jobs:>7} jobs {elapsed:>5.0f} s"
    labels = list(results)
    print(f"seed {args.seed}; first sync of the bulk streams")
    print(f"{'stream':<24}" + "".join(f"{label:<40}" for label in labels))
    for name, row in table.items():
        print(f"{name:<24}" + "".join(f"{row.get(label, '-'):<40}" for label in labels))


if __name__ == "__main__":
    main()
