"""Benchmark of target-marketo-crm: API calls per 1,000 records and the rate-limit floor.

Writes N CRM leads plus related objects (sales persons, companies, opportunities, roles,
program and list memberships, a custom object) into a marketo-sandbox started as a
separate process with realistic latency and Marketo's real limits, once over REST and
once with bulk lead import, and reports for each:

- calls per 1,000 leads for the lead writes (goals: <= 3.4 over REST, <= 0.5 with bulk
  import) and calls per 1,000 records overall;
- the rate-limit floor: the least time the calls could take at the allowed rate (calls
  the client may start per window, Marketo's 100 per 20 s minus the headroom left to
  other integrations), and the achieved fraction of it during the write phase (goal
  >= 90%; the sliding window lets a run start with a burst of one window's calls, so a
  run can beat this floor slightly); 606 / 615 answers from the sandbox (goal: none).

    python bench/target_bench.py                 # 100,000 leads, both modes (~6 minutes)
    python bench/target_bench.py --leads 20000 --modes rest
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from marketo_sandbox.testing import SandboxControl
from target_marketo_crm import TargetMarketoCRM

STRING = {"type": ["string", "null"]}
INTEGER = {"type": ["integer", "null"]}
NUMBER = {"type": ["number", "null"]}


def _schema(stream: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": [],
        "schema": {"type": "object", "properties": props},
    }


def crm_messages(leads: int, programs: list[int], lists: list[int]) -> Iterator[dict[str, Any]]:
    """A CRM's full push, sized from the number of leads (ratios of a B2B database)."""
    salespersons = max(1, leads // 2000)
    companies = max(1, leads // 20)
    opportunities = max(1, leads // 33)
    yield _schema(
        "salespersons",
        {"externalSalesPersonId": STRING, "email": STRING, "firstName": STRING, "lastName": STRING},
    )
    for i in range(salespersons):
        yield {
            "type": "RECORD",
            "stream": "salespersons",
            "record": {
                "externalSalesPersonId": f"BSP-{i}",
                "email": f"owner{i}@crm.example",
                "firstName": "Owner",
                "lastName": str(i),
            },
        }
    yield _schema(
        "companies",
        {
            "externalCompanyId": STRING,
            "company": STRING,
            "industry": STRING,
            "externalSalesPersonId": STRING,
        },
    )
    for i in range(companies):
        yield {
            "type": "RECORD",
            "stream": "companies",
            "record": {
                "externalCompanyId": f"BACC-{i}",
                "company": f"Company {i}",
                "industry": ("Retail", "Energy", "Software")[i % 3],
                "externalSalesPersonId": f"BSP-{i % salespersons}",
            },
        }
    yield _schema(
        "leads",
        {
            "crmContactId": STRING,
            "email": STRING,
            "firstName": STRING,
            "lastName": STRING,
            "title": STRING,
            "phone": STRING,
            "city": STRING,
            "country": STRING,
            "leadSource": STRING,
            "externalCompanyId": STRING,
            "externalSalesPersonId": STRING,
        },
    )
    for i in range(leads):
        yield {
            "type": "RECORD",
            "stream": "leads",
            "record": {
                "crmContactId": f"BL-{i}",
                "email": f"lead{i}@bench.example",
                "firstName": "Bench",
                "lastName": f"Lead {i}",
                "title": "Buyer",
                "phone": f"+1 555 {i % 1000:03d} {i % 10000:04d}",
                "city": "Denver",
                "country": "USA",
                "leadSource": "CRM",
                "externalCompanyId": f"BACC-{i % companies}",
                "externalSalesPersonId": f"BSP-{i % salespersons}",
            },
        }
    yield _schema(
        "opportunities",
        {
            "externalOpportunityId": STRING,
            "name": STRING,
            "stage": STRING,
            "amount": NUMBER,
            "externalCompanyId": STRING,
        },
    )
    for i in range(opportunities):
        yield {
            "type": "RECORD",
            "stream": "opportunities",
            "record": {
                "externalOpportunityId": f"BOPP-{i}",
                "name": f"Deal {i}",
                "stage": "Prospecting",
                "amount": 1000.0 * (i % 50),
                "externalCompanyId": f"BACC-{i % companies}",
            },
        }
    yield _schema(
        "opportunity_roles",
        {"externalOpportunityId": STRING, "crmContactId": STRING, "role": STRING},
    )
    for i in range(opportunities * 2):
        yield {
            "type": "RECORD",
            "stream": "opportunity_roles",
            "record": {
                "externalOpportunityId": f"BOPP-{i // 2}",
                "crmContactId": f"BL-{(i * 7) % leads}",
                "role": ("Decision Maker", "Influencer")[i % 2],
            },
        }
    yield _schema(
        "program_memberships", {"programId": INTEGER, "crmContactId": STRING, "statusName": STRING}
    )
    for i in range(leads // 10):
        yield {
            "type": "RECORD",
            "stream": "program_memberships",
            "record": {
                "programId": programs[i % len(programs)],
                "crmContactId": f"BL-{i * 10}",
                "statusName": "Member",
            },
        }
    yield _schema("list_memberships", {"listId": INTEGER, "crmContactId": STRING})
    for i in range(leads // 10):
        yield {
            "type": "RECORD",
            "stream": "list_memberships",
            "record": {"listId": lists[i % len(lists)], "crmContactId": f"BL-{i * 10 + 3}"},
        }
    yield _schema(
        "custom_car_c", {"vin": STRING, "crmContactId": STRING, "make": STRING, "year": INTEGER}
    )
    for i in range(leads // 10):
        yield {
            "type": "RECORD",
            "stream": "custom_car_c",
            "record": {
                "vin": f"BVIN{i:013d}",
                "crmContactId": f"BL-{i * 10 + 5}",
                "make": "Volvo",
                "year": 2020 + i % 5,
            },
        }
    yield {"type": "STATE", "value": {"bench": "done"}}


class TimedTarget(TargetMarketoCRM):
    """Measures the write phase (drains), apart from reading and validating records."""

    write_seconds = 0.0

    def commit_drain(self) -> None:
        started = time.monotonic()
        try:
            super().commit_drain()
        finally:
            type(self).write_seconds += time.monotonic() - started


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marketo_sandbox.cli",
            "serve",
            "--seed",
            "small",
            "--latency-ms",
            str(latency_ms),
            "--daily-quota",
            "10000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return process, info


def run_mode(
    mode: str, args: argparse.Namespace, info: dict[str, str], control: SandboxControl
) -> dict[str, Any]:
    control.reset()
    control.configure(latency_ms=args.latency_ms, daily_call_quota=10_000_000)
    programs = [
        p["id"]
        for p in control.objects("programs")
        if p["channel"] in ("Content", "Email Send", "Email Blast", "Operational")
    ]
    lists = [lst["id"] for lst in control.objects("lists")]
    text = "".join(json.dumps(m) + "\n" for m in crm_messages(args.leads, programs, lists))
    records = text.count('"type": "RECORD"')
    config = {
        **info,
        "lookup_field": "crmContactId",
        "bulk_import_threshold": 10_000 if mode == "bulk" else 0,
        "bulk_import_poll_seconds": args.poll_seconds,
        "max_concurrency": args.concurrency,
        "rate_limit_headroom": args.headroom,
        "max_buffer_records": records + 1,  # one drain: one plan for the whole load
        "fail_on_rejects": False,
        "reject_file": os.devnull,
    }
    control.reset_calls()
    TimedTarget.write_seconds = 0.0
    target = TimedTarget(config=config, parse_env_config=False)
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(text))
    total_seconds = time.monotonic() - started
    calls = control.calls()
    api_calls = calls["total"]
    lead_calls = sum(
        n
        for k, n in calls["endpoints"].items()
        if k in ("POST /rest/v1/leads.json",)
        or k.startswith(("POST /bulk/v1/leads", "GET /bulk/v1/leads"))
    )
    allowed_per_second = (100 - args.headroom) / 20.0
    write_calls = target.client.calls_made  # every call of the run, retries included
    floor = write_calls / allowed_per_second
    return {
        "mode": mode,
        "leads": args.leads,
        "records": records,
        "api_calls": api_calls,
        "lead_write_calls": lead_calls,
        "calls_per_1000_leads": round(1000 * lead_calls / args.leads, 3),
        "calls_per_1000_records": round(1000 * api_calls / records, 3),
        "rejects": target.rejects.total,
        "rate_limited_606": calls["rejected"].get("606", 0),
        "concurrency_615": calls["rejected"].get("615", 0),
        "peak_in_flight": calls.get("peak_in_flight"),
        "write_seconds": round(TimedTarget.write_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "floor_seconds": round(floor, 1),
        "fraction_of_floor": round(floor / TimedTarget.write_seconds, 3)
        if TimedTarget.write_seconds
        else None,
        # The same against Marketo's own limit (100 calls / 20 s, no headroom).
        "fraction_of_marketo_floor": round(write_calls / 5.0 / TimedTarget.write_seconds, 3)
        if TimedTarget.write_seconds
        else None,
        "calls_by_endpoint": calls["endpoints"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--modes", default="rest,bulk")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=150.0,
        help="latency the sandbox adds to each call (real Marketo: 100-500)",
    )
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument(
        "--headroom", type=int, default=10, help="calls per 20 s window left to other integrations"
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object per mode")
    args = parser.parse_args(argv)

    process, info = start_sandbox(args.latency_ms)
    try:
        control = SandboxControl(info["endpoint"])
        for mode in args.modes.split(","):
            result = run_mode(mode.strip(), args, info, control)
            if args.json:
                print(json.dumps(result))
                continue
            print(f"== {mode}: {result['leads']} leads, {result['records']} records")
            for key in (
                "api_calls",
                "lead_write_calls",
                "calls_per_1000_leads",
                "calls_per_1000_records",
                "rejects",
                "rate_limited_606",
                "concurrency_615",
                "peak_in_flight",
                "write_seconds",
                "total_seconds",
                "floor_seconds",
                "fraction_of_floor",
                "fraction_of_marketo_floor",
            ):
                print(f"   {key:24} {result[key]}")
            print("   calls by endpoint:")
            for endpoint, n in sorted(result["calls_by_endpoint"].items()):
                print(f"     {n:6d}  {endpoint}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
