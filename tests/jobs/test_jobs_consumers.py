"""Consumer names that say which process runs a job: a worker in the same place (host, container) can tell a
dead one from a slow one; nothing is ever concluded about a name from elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_testkit import first_line, wait_for

from bot.jobs.consumers import consumer_name, known_dead

REPO = Path(__file__).resolve().parents[2]
NAMED = "from bot.jobs.consumers import consumer_name; print(consumer_name(), flush=True); import time; time.sleep(60)"


@pytest.fixture
def named_process():
    """A process that prints the consumer name a worker of it would have, then sleeps."""
    child = subprocess.Popen([sys.executable, "-c", NAMED], cwd=REPO, stdout=subprocess.PIPE, text=True)
    yield child, first_line(child)
    child.kill()
    child.wait()


def with_field(name: str, index: int, value: str) -> str:
    """`name` with one of its fields (host, pid, start, place, nonce) replaced."""
    fields = name.rsplit("-", 4)
    fields[index] = value
    return "-".join(fields)


def test_a_running_or_frozen_process_is_not_dead(named_process):
    child, name = named_process
    assert not known_dead(name)
    os.kill(child.pid, signal.SIGSTOP)  # frozen, or starved of CPU: alive all the same
    assert not known_dead(name)
    os.kill(child.pid, signal.SIGCONT)


def test_a_killed_process_is_dead_before_and_after_it_is_reaped(named_process):
    child, name = named_process
    child.kill()
    assert wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    assert known_dead(name)  # a zombie runs nothing
    child.wait()
    assert known_dead(name)


def test_a_pid_used_again_is_not_the_same_process():
    mine = consumer_name()
    assert not known_dead(mine)
    start = int(mine.rsplit("-", 4)[2])
    assert known_dead(with_field(mine, 2, str(start - 1)))  # this pid, held by a process started earlier


def test_names_from_elsewhere_are_never_judged(named_process):
    child, name = named_process
    child.kill()
    child.wait()
    place = name.rsplit("-", 4)[3]
    assert not known_dead(with_field(name, 3, "0" * len(place)))  # another host, container or boot
    for other in ("a", "proc-b", "host-123-abc123", "host-0-1-2-3", with_field(name, 1, "0")):
        assert not known_dead(other)


def test_each_worker_has_a_name_of_its_own():
    assert consumer_name() != consumer_name()  # two workers of one queue in one process (replicas in tests)
