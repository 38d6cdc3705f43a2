"""One sync at a time per Marketo instance, enforced where the tap is started.

Dagster's tag concurrency limit (dagster.yaml) keeps a second run of an instance queued,
but only for runs that go through its run queue: a run launched from another deployment,
a re-execution with the queue bypassed, or a misconfigured dagster.yaml would start the
tap a second time against the same instance. Two taps on one instance share its 100 calls
/ 20 s window, its 10 concurrent calls, its daily quota and its 2 processing export jobs,
and both would resume the same exportId from state. So the op also holds an exclusive,
non-blocking ``flock`` on a file per instance while Meltano runs: the kernel releases it
when the holder exits, even if it is killed, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class InstanceBusy(RuntimeError):  # noqa: N818 - reads as a state, like Marketo's codes
    def __init__(self, instance: str, holder: dict[str, Any]) -> None:
        self.instance = instance
        self.holder = holder
        who = ", ".join(f"{k} {v}" for k, v in holder.items()) or "another process"
        super().__init__(
            f"Marketo instance '{instance}' is already being synced ({who}); this run "
            "does not start a second tap on the same instance"
        )


@contextlib.contextmanager
def instance_lock(lock_dir: str | Path, instance: str, **holder: Any) -> Iterator[Path]:
    """Hold the instance's lock, or raise :class:`InstanceBusy` at once (never wait: a
    waiting run would hold its Dagster run slot and start late, after the other run)."""
    directory = Path(lock_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{instance}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InstanceBusy(instance, _read_holder(fd)) from None
        record = {**holder, "pid": os.getpid(),
                  "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        holder = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}
