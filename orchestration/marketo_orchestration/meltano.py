"""The Meltano project, as a Dagster resource: runs `meltano run` for one instance.

Meltano is run as a subprocess from its own virtualenv (`.venv-meltano`, made by
scripts/bootstrap-meltano), so nothing of the plugins or of Meltano is imported here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dagster import ConfigurableResource
from marketo_core.timeutil import next_quota_reset
from pydantic import Field

from marketo_orchestration.instances import Instance, MeltanoRun
from marketo_orchestration.meltano_log import MeltanoRunLog, parse_run_log

UTC = dt.UTC


class MeltanoProject(ConfigurableResource):
    """Where the Meltano project is and how to run it."""

    project_root: str = Field(description="Directory of meltano.yml.")
    executable: str = Field(
        default="",
        description="The meltano command; default: <project_root>/.venv-meltano/bin/meltano, "
        "else `meltano` on PATH.",
    )
    lock_dir: str = Field(
        default="",
        description="Directory of the per-instance lock files; default: "
        "<project_root>/.meltano/run/marketo-orchestration. Every deployment that can "
        "start a sync of the same instances must use the same directory.",
    )
    log_dir: str = Field(
        default="",
        description="Where each Meltano run's log is kept; default: "
        "<project_root>/.meltano/logs/marketo-orchestration.",
    )
    timeout_seconds: float = Field(
        default=12 * 3600,
        description="A Meltano run still going after this long is stopped (its state up "
        "to the last STATE message is kept).",
    )
    quota_reset_margin_seconds: int = Field(
        default=600,
        description="How long after Marketo's 00:00 US Central reset a quota-stopped sync "
        "is retried: Marketo's own usage counters can lag the clock by a few minutes.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Variables added to every run's environment (not for secrets: name "
        "those in instances.yml).",
    )

    # --- the clock: tests replace it --------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def quota_retry_at(self) -> dt.datetime:
        """When a sync stopped by a daily limit may run again: Marketo's next reset (00:00
        America/Chicago, daylight saving included) plus the margin."""
        return next_quota_reset(self.now()) + dt.timedelta(
            seconds=self.quota_reset_margin_seconds
        )

    def seconds_until_quota_retry(self) -> int:
        return max(1, int((self.quota_retry_at() - self.now()).total_seconds() + 0.999))

    # --- paths ------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return Path(self.project_root).resolve()

    def meltano_command(self) -> str:
        if self.executable:
            return self.executable
        local = self.root / ".venv-meltano" / "bin" / "meltano"
        return str(local) if local.exists() else "meltano"

    def locks(self) -> Path:
        return Path(self.lock_dir) if self.lock_dir else (
            self.root / ".meltano" / "run" / "marketo-orchestration"
        )

    def logs(self) -> Path:
        return Path(self.log_dir) if self.log_dir else (
            self.root / ".meltano" / "logs" / "marketo-orchestration"
        )

    # --- running ----------------------------------------------------------------------

    def command(self, instance: Instance, run: MeltanoRun) -> list[str]:
        return [
            self.meltano_command(),
            f"--environment={instance.environment}",
            "--log-format=json",
            "run",
            f"--state-id-suffix={run.state_id_suffix}",
            *instance.tasks,
        ]

    def run(self, instance: Instance, run: MeltanoRun, env: dict[str, str]) -> RunOutcome:
        """Run Meltano for one stream group of an instance; ``env`` holds the instance's
        resolved variables (credentials included) and goes only to the subprocess."""
        started = self.now()
        log_path = (self.logs() / instance.name /
                    f"{started.strftime('%Y%m%dT%H%M%SZ')}-{run.state_id_suffix}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            **self.env,
            **env,
            **run.env,
        }
        clock = time.monotonic()
        with log_path.open("w", encoding="utf-8") as log:
            status = _run_to_end(self.command(instance, run), environment, self.root, log,
                                 self.timeout_seconds)
        seconds = round(time.monotonic() - clock, 1)
        parsed = parse_run_log(log_path.read_text(encoding="utf-8", errors="replace"), status)
        return RunOutcome(run=run, log=parsed, log_path=log_path, seconds=seconds)


@dataclass(frozen=True)
class RunOutcome:
    run: MeltanoRun
    log: MeltanoRunLog
    log_path: Path
    seconds: float


def _run_to_end(command: list[str], env: dict[str, str], cwd: Path, log: IO[str],
                timeout: float) -> int:
    """Run Meltano in its own process group; if this op is interrupted (a Dagster run
    terminated) or times out, stop Meltano and its plugins too, instead of leaving a tap
    running against the instance with nobody holding its lock."""
    process = subprocess.Popen(  # noqa: S603 - the project's own meltano, arguments as a list
        command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return process.returncode if process.returncode is not None else 1
    except BaseException:
        _stop(process)
        raise


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM first: Meltano forwards it to the plugins and keeps the state it has.
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
