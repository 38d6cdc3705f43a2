"""A background runner: one daemon thread advancing jobs, one thread per running task.

Marketo runs bulk jobs asynchronously; the sandbox does the same so clients see the
real life of a job (queued, running, finished) instead of an instant answer. The runner
is created lazily from the first bulk request (``attach``), registers itself on the
app's reset and shutdown hooks, and measures every wait on the sandbox clock so that
``clock_offset_seconds`` moves jobs along exactly as it moves everything else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from marketo_sandbox.app import SandboxApp

log = logging.getLogger("marketo_sandbox.bulk")

_attach_lock = threading.Lock()

R = TypeVar("R", bound="Runner")


@dataclass
class Task:
    """Work running for one job in its own thread."""

    key: str
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    progress: dict[str, Any] = field(default_factory=dict)


class Runner:
    """Base of the export and import runners. Subclasses implement :meth:`tick`."""

    thread_name = "marketo-sandbox-bulk"

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.store = app.store
        self.config = app.config
        # Guards every read-modify-write of job records (handlers and the worker).
        self.lock = threading.RLock()
        self._cond = threading.Condition()
        self._woken = False
        self._stop = threading.Event()
        # After a reset the restored database no longer holds the old jobs; the worker
        # waits for the next bulk request before it touches job records again.
        self._hold = False
        self.tasks: dict[str, Task] = {}
        # Started by attach() once the subclass is fully built.
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)

    @classmethod
    def attach(cls: type[R], app: SandboxApp, key: str) -> R:
        runner = app.services.get(key)
        if runner is None:
            with _attach_lock:
                runner = app.services.get(key)
                if runner is None:
                    runner = cls(app)
                    runner._thread.start()
                    app.services[key] = runner
                    app.reset_hooks.append(runner.reset)
                    app.services.setdefault("shutdown_hooks", []).append(runner.shutdown)
        runner.resume()
        return runner

    # -- clock and wake-ups ---------------------------------------------------------------

    def now(self) -> float:
        return self.store.now()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            delay = 1.0
            try:
                if not self._hold:
                    delay = self.tick()
            except Exception:
                log.exception("bulk runner tick failed")
            with self._cond:
                if not self._woken and not self._stop.is_set():
                    self._cond.wait(max(0.005, min(delay, 1.0)))
                self._woken = False

    def tick(self) -> float:
        """Advance jobs; return how long the worker may sleep (seconds)."""
        raise NotImplementedError

    # -- tasks ------------------------------------------------------------------------

    def spawn(self, key: str, work: Callable[[Task], Any]) -> Task:
        task = Task(key)

        def run() -> None:
            try:
                task.result = work(task)
            except BaseException as exc:  # reported on the job, never raised in a thread
                task.error = exc
            finally:
                task.done.set()
                self.wake()

        task.thread = threading.Thread(
            target=run, name=f"{self.thread_name}-{key[:8]}", daemon=True
        )
        self.tasks[key] = task
        task.thread.start()
        return task

    def discard(self, key: str) -> Task | None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel.set()
        return task

    def _cancel_all(self) -> None:
        tasks = list(self.tasks.values())
        self.tasks.clear()
        for task in tasks:
            task.cancel.set()
        for task in tasks:
            if task.thread is not None and task.thread is not threading.current_thread():
                task.thread.join(timeout=30)

    # -- lifecycle --------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self._hold = True
            self._cancel_all()
            self.on_reset()

    def on_reset(self) -> None:
        """Drop whatever the subclass keeps outside the database (files)."""

    def resume(self) -> None:
        if self._hold:
            self._hold = False
            self.wake()

    def shutdown(self) -> None:
        self._stop.set()
        self.wake()
        with self.lock:
            self._cancel_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
