"""What an incremental `leads` run costs where the bulk updatedAt filter is refused.

    python bench/no_updatedat_filter_bench.py              # the `demo` seed, in process
    python bench/no_updatedat_filter_bench.py --changed 0,300,3000 --seed bench

Starts a sandbox with the `no-updatedat-filter` profile, runs a first sync of `leads`,
then for each count N in ``--changed``: changes two fields (title, city) on N existing
leads through the REST API (so Marketo-style, 2 N Change Data Value activities), runs an
incremental sync from the previous run's state and prints the records written and the
API calls spent by endpoint (the sandbox's own counters). Expected (``lead_changes``):
one paging token, ``ceil(2 N / 300)`` activities pages, ``ceil(N / 300)`` lead reads by
id, and one createdAt export job.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from typing import Any

from marketo_core import MarketoClient
from marketo_sandbox import SandboxConfig, SandboxServer
from marketo_sandbox.profiles import NO_UPDATEDAT_FILTER
from marketo_sandbox.testing import SandboxControl
from tap_marketo_crm.tap import TapMarketoCRM

MAX_KEYS = 300


def config_for(info: dict[str, str]) -> dict[str, Any]:
    return {
        "endpoint": info["endpoint"],
        "identity": info["identity"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "start_date": "2007-01-01T00:00:00Z",
        "bulk_poll_interval_seconds": 0.05,
        "rate_limit_calls": 1_000_000,
    }


def leads_only(catalog: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(catalog))
    for entry in copy["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == "leads"
    return copy


def sync(
    config: dict[str, Any], catalog: dict[str, Any], state: dict[str, Any]
) -> tuple[int, dict[str, Any], float]:
    """One run: leads records written, the last STATE, wall seconds."""
    out = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out):
        tap = TapMarketoCRM(config=config, catalog=catalog, state=state)
        tap.sync_all()
    elapsed = time.monotonic() - started
    tap.close_client()
    records, last = 0, state
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records += 1
        elif message["type"] == "STATE":
            last = message["value"]
    return records, last, elapsed


def change(config: dict[str, Any], lead_ids: list[int], tag: str) -> None:
    with MarketoClient(
        config["endpoint"], config["client_id"], config["client_secret"], rate_limit_calls=10**6
    ) as client:
        for start in range(0, len(lead_ids), MAX_KEYS):
            rows = [
                {"id": i, "title": f"Title {tag}", "city": f"City {tag}"}
                for i in lead_ids[start : start + MAX_KEYS]
            ]
            client.post(
                "/rest/v1/leads.json",
                json={"action": "updateOnly", "lookupField": "id", "input": rows},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="demo")
    parser.add_argument("--changed", default="0,100,600", help="comma list of lead counts")
    args = parser.parse_args()
    sandbox = SandboxConfig(rate_limit_calls=1_000_000, max_concurrent_calls=10)
    with SandboxServer(sandbox, seed=args.seed) as server:
        control = SandboxControl(server.url)
        control.use_profiles(NO_UPDATEDAT_FILTER)
        config = config_for(server.info())
        with contextlib.redirect_stdout(io.StringIO()):
            discovered = TapMarketoCRM(config=config).catalog_dict
        catalog = leads_only(json.loads(json.dumps(discovered)))
        records, state, elapsed = sync(config, catalog, {})
        lead_ids = sorted(int(r["id"]) for r in control.objects("leads"))
        print(f"seed {args.seed}: {len(lead_ids)} leads; first sync {records} records")
        for count in (int(n) for n in args.changed.split(",")):
            change(config, lead_ids[:count], str(count))
            time.sleep(1.1)  # export windows are whole seconds
            control.reset_calls()
            records, state, elapsed = sync(config, catalog, state)
            calls = control.calls()["endpoints"]
            total = sum(calls.values())
            print(f"\nchanged {count}: {records} records, {total} calls, {elapsed:.2f} s")
            for endpoint, n in sorted(calls.items()):
                print(f"  {n:>5}  {endpoint}")


if __name__ == "__main__":
    main()
