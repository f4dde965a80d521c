"""Helpers for the job tests."""

from __future__ import annotations

import select
import threading
import time


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Recorder:
    """A handler that records each run (thread-safe), optionally failing or sleeping."""

    def __init__(self, *, fail_times: int = 0, sleep: float = 0.0, tag: str = ""):
        self.runs = []
        self.fail_times = fail_times
        self.sleep = sleep
        self.tag = tag
        self.lock = threading.Lock()

    def __call__(self, job) -> None:
        with self.lock:
            self.runs.append((job, self.tag, time.monotonic()))
            failing = len(self.runs) <= self.fail_times
        if self.sleep:
            time.sleep(self.sleep)
        if failing:
            raise RuntimeError("boom with token xoxb-123-456-secret")

    @property
    def ids(self):
        with self.lock:
            return [job.id for job, _, _ in self.runs]


def first_line(process, timeout: float = 10.0) -> str:
    """The next line `process` writes to its stdout (a pipe), waiting at most `timeout` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline().strip() if ready else ""
    assert line, f"no line from process {process.pid} within {timeout} s (exited: {process.poll()})"
    return line
