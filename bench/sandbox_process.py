"""The sandbox as a subprocess for the benchmarks: its own process, so that what a
benchmark measures in its own process (CPU time, RSS) is never the sandbox's work."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def serve_sandbox(seed: str, *flags: str) -> Iterator[dict[str, str]]:
    """``marketo-sandbox serve --seed SEED FLAGS...``; yields its JSON line (endpoint and
    credentials) once it is seeded and listening, and stops it on the way out."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketo_sandbox.cli", "serve", "--seed", seed, *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        yield json.loads(line)
    finally:
        proc.terminate()
        # Seeding `bench` leaves a large WAL; closing it can take a while.
        proc.wait(timeout=60)
