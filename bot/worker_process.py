"""The worker as a child process of the web (or Socket Mode) process.

`ce-bot serve` answers Slack from one event loop and runs no job itself: the
job workers and the scheduler (validations with boto3, Slack posts, health
re-checks) run in `ce-bot worker`, started here as a child, so they never
hold the GIL an ack is waiting for and the second core is used. The child
joins the parent's Redis (the embedded one's unix socket included); it is
restarted when it dies, stopped with the parent, and stops by itself when
the parent is gone (killed with -9).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

from bot.child_process import terminate

log = logging.getLogger(__name__)

# The worker started by `ce-bot serve` yields the CPU to it: an ack waiting on a busy core is a user
# waiting, a job finishing a few milliseconds later is not. SCHED_IDLE (Linux) runs it only on a core
# nothing else wants, and a waking ack preempts it at once: measured, /ce list at N = 1 went from 2.8×
# to 2.3× the fastest bare Bolt (niceness 19 had changed nothing over 10). Elsewhere, niceness.
WORKER_NICENESS = 10
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_AFTER = 60.0  # a child that ran this long had no start-up problem: restart quickly again
STOP_TIMEOUT = 15.0


class WorkerProcess:
    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self._stopping = threading.Event()
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-process", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None:
            terminate(child, STOP_TIMEOUT, "the worker process")
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, "REDIS_URL": self.redis_url}
        command = [sys.executable, "-m", "bot.cli", "worker", "--parent", str(os.getpid())]
        child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        # at once, not once it runs: its start-up (a second of imports) would compete with this
        # process's own start-up and first acks
        yield_to_acks(child.pid)
        return child

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._child = self._spawn()
                child = self._child
            started = time.monotonic()
            code = child.wait()
            if self._stopping.is_set():
                return
            failures = 0 if time.monotonic() - started > HEALTHY_AFTER else failures + 1
            delay = RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)]
            log.error("the worker process exited with %s; starting another in %.0f s", code, delay)
            self._stopping.wait(delay)


def yield_to_acks(pid: int) -> None:
    """Process `pid` (just spawned: one thread), and the threads it starts later, runs only when no ack
    needs the CPU."""
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass  # not allowed here (a restricted container), or already gone: niceness still works
    try:
        os.setpriority(os.PRIO_PROCESS, pid, max(os.getpriority(os.PRIO_PROCESS, pid), WORKER_NICENESS))
    except OSError:
        pass  # already gone
