"""Taking over the job of another worker process: at once when it is known to be dead, after its lease
when nothing is known, never while it runs (however slowly) and keeps its lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_testkit import Recorder, first_line, wait_for

from bot.jobs.queue import Job, JobQueue
from bot.jobs.worker import Worker
from bot.store.client import connect

REPO = Path(__file__).resolve().parents[2]
CONN = "0123456789abcdef"
# A `ce-bot worker` reduced to one queue: its handler prints the job's ID, then works for a while.
WORKER = """
import sys, time
from bot.jobs.worker import Worker
from bot.store.client import connect
url, lease, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def work(job):
    print(job.id, flush=True)
    time.sleep(seconds)
Worker(connect(url), "slack", {"k": work}, threads=1, claim_idle=lease, block=0.1).start()
time.sleep(60)
"""


@pytest.fixture
def worker_process(redis_url):
    """Start a worker process (lease, seconds each job takes) that has taken the one job queued: returns it
    and the job's ID."""
    started = []

    def start(lease: float, seconds: float) -> tuple[subprocess.Popen, str]:
        entry_id = JobQueue(connect(redis_url), "slack").enqueue(Job("slack", "k", CONN))
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, str(lease), str(seconds)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        assert first_line(process) == entry_id
        return process, entry_id

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.fixture
def worker(redis_url):
    """A worker of this process for the same queue, started after the other: its first pass is a start-up's."""
    started = []

    def start(lease: float) -> Recorder:
        handler = Recorder()
        started.append(Worker(connect(redis_url), "slack", {"k": handler}, threads=1, claim_idle=lease, block=0.1))
        started[-1].start()
        return handler

    yield start
    for each in started:
        each.stop(timeout=2)


def settled(redis) -> bool:
    return redis.xlen("ce:jobs:slack") == 0 and JobQueue(redis, "slack").pending() == 0


def test_the_job_of_a_killed_worker_is_taken_over_at_once_not_after_its_lease(worker_process, worker, redis):
    process, entry_id = worker_process(lease=30.0, seconds=60.0)
    process.kill()  # kill -9 in the middle of the job
    process.wait()
    killed_at = time.monotonic()

    handler = worker(lease=30.0)
    assert wait_for(lambda: handler.runs, timeout=3)
    [(job, _, ran_at)] = handler.runs
    assert job.id == entry_id and job.attempt == 2  # its delivery counted: the interactive queue tells its person
    assert ran_at - killed_at < 3
    assert wait_for(lambda: settled(redis))
    assert len(redis.xinfo_consumers("ce:jobs:slack", "workers")) == 1  # the dead one is forgotten


def test_a_live_slow_worker_keeps_its_job(worker_process, worker, redis):
    process, _ = worker_process(lease=0.5, seconds=2.0)  # a job four leases long, renewed as it runs
    handler = worker(lease=0.5)
    assert wait_for(lambda: settled(redis), timeout=5)  # done by its worker
    assert handler.runs == []


def test_a_frozen_worker_keeps_its_job_until_its_lease_runs_out(worker_process, worker, redis):
    """A stopped (or CPU-starved) process is alive: nothing is known, so only its lease can lapse."""
    lease = 1.5
    process, entry_id = worker_process(lease=lease, seconds=60.0)
    os.kill(process.pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    handler = worker(lease=lease)
    assert wait_for(lambda: handler.runs, timeout=5)
    [(job, _, ran_at)] = handler.runs
    assert job.id == entry_id
    assert ran_at - stopped_at > lease - lease / 10 - 0.05  # its last renewal came at most a tenth of it before
    os.kill(process.pid, signal.SIGCONT)


def test_every_queue_of_the_bot_is_taken_over_within_about_30_s():
    """When nothing is known of a job's worker (another host): its lease, then the next pass that finds it."""
    from bot.runtime import CLAIM_IDLE

    for queue, lease in CLAIM_IDLE.items():
        each = Worker(connect("redis://127.0.0.1:1"), queue, {}, claim_idle=lease)
        assert lease + each.claim_interval <= 33.0
        assert each.heartbeat_interval <= lease / 10  # a running job's lease is renewed ten times within it
