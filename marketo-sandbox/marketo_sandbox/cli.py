"""``marketo-sandbox serve``: start a seeded local Marketo and print how to reach it."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import sys
from typing import Any

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.profiles import PROFILES, UnknownProfileError
from marketo_sandbox.seed import SEEDS, spec_for
from marketo_sandbox.server import SandboxServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marketo-sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="start the sandbox and print one JSON line with its endpoint"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", default="small", choices=sorted(SEEDS))
    serve.add_argument("--leads", type=int, help="override the seed's number of leads")
    serve.add_argument("--activities", type=int, help="override the seed's number of activities")
    serve.add_argument("--random-seed", type=int, help="seed of the data generator (default 42)")
    serve.add_argument(
        "--data-dir", help="where the database and bulk files live (default: a temp dir)"
    )
    serve.add_argument("--client-id", help="default: a fixed sandbox id")
    serve.add_argument("--client-secret", help="default: a random secret, printed on the JSON line")
    serve.add_argument(
        "--second-client-secret",
        help="the second API user's secret under the two-users profile (default: derived "
        "from --client-secret), printed on the JSON line",
    )
    serve.add_argument("--token-ttl", type=float, help="access token lifetime in seconds (3600)")
    serve.add_argument("--rate-limit", type=int, help="calls per rate window (100)")
    serve.add_argument("--rate-window", type=float, help="rate window in seconds (20)")
    serve.add_argument("--max-concurrency", type=int, help="calls in flight (10)")
    serve.add_argument("--daily-quota", type=int, help="API calls per day (50000)")
    serve.add_argument("--export-quota-mb", type=float, help="bulk export MB per day (500)")
    serve.add_argument(
        "--export-delay", type=float, help="seconds a bulk export spends queued and processing each"
    )
    serve.add_argument(
        "--export-processing-seconds",
        type=float,
        help="minimum seconds a bulk export spends processing (overrides --export-delay)",
    )
    serve.add_argument(
        "--export-seconds-per-1k-rows",
        type=float,
        help="seconds of processing a bulk export adds per 1,000 rows of its file (0)",
    )
    serve.add_argument("--latency-ms", type=float, help="latency added to every API call")
    serve.add_argument(
        "--csv-quirks", action="store_true", help="bulk files with NULs, bare CRs, multi-line cells"
    )
    serve.add_argument(
        "--no-activity-retention",
        action="store_true",
        help="serve every activity however old (real instances prune them: off by default)",
    )
    serve.add_argument(
        "--activity-retention-months",
        type=int,
        help="months kept of the activity types not pruned sooner (25; 37 with extended retention)",
    )
    serve.add_argument(
        "--profile",
        help="instance profiles, comma-separated: " + ", ".join(sorted(PROFILES)),
    )
    serve.add_argument("--log-level", default="WARNING")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    config = SandboxConfig(client_secret=args.client_secret or secrets.token_urlsafe(24))
    if args.client_id:
        config.client_id = args.client_id
    if args.second_client_secret:
        config.second_client_secret = args.second_client_secret
    mapping: dict[str, Any] = {
        "token_ttl_seconds": args.token_ttl,
        "rate_limit_calls": args.rate_limit,
        "rate_limit_window_seconds": args.rate_window,
        "max_concurrent_calls": args.max_concurrency,
        "daily_call_quota": args.daily_quota,
        "latency_ms": args.latency_ms,
        "activity_retention_months": args.activity_retention_months,
    }
    if args.no_activity_retention:
        mapping["activity_retention"] = False
    if args.export_quota_mb is not None:
        mapping["export_daily_quota_bytes"] = int(args.export_quota_mb * 1024 * 1024)
    if args.export_delay is not None:
        mapping["export_queued_seconds"] = args.export_delay
        mapping["export_processing_seconds"] = args.export_delay
    if args.export_processing_seconds is not None:
        mapping["export_processing_seconds"] = args.export_processing_seconds
    if args.export_seconds_per_1k_rows is not None:
        mapping["export_processing_seconds_per_1k_rows"] = args.export_seconds_per_1k_rows
    if args.csv_quirks:
        mapping["csv_quirks"] = True
    config.update({k: v for k, v in mapping.items() if v is not None})
    if args.profile:
        config.set_profiles(args.profile)
    return config


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except UnknownProfileError as exc:
        parser.error(f"--profile: {exc}")
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    spec = spec_for(
        args.seed, leads=args.leads, activities=args.activities, random_seed=args.random_seed
    )
    server = SandboxServer(
        config, seed=spec, host=args.host, port=args.port, data_dir=args.data_dir
    )

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.start()
    sys.stdout.write(json.dumps(server.info()) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
