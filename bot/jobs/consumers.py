"""Consumer names that say which process runs a job, so that a worker can tell a dead one from a slow one.

A worker's name is `{host}-{pid}-{start}-{place}-{nonce}`:
- `start`: when the process started (clock ticks since boot, from /proc): a pid used again is held by a
  process started at another time;
- `place`: a digest of the kernel's boot ID and of the pid and time namespaces, the only place where
  that pid and that start mean something (one host, one container);
- `nonce`: two workers of one queue in one process (replicas in tests) are two consumers.

Only a worker in the same place judges a name, and it judges it dead only when the kernel says so: no
process has that pid, or the one that has it started at another time, or is a zombie. A frozen or
CPU-starved process is alive. Nothing is concluded about a name from elsewhere (another host or
container), nor when /proc says nothing: that job waits for its lease to run out (`bot/jobs/worker.py`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import socket
from pathlib import Path

_DEAD_STATES = ("Z", "X")  # a zombie (killed, not yet reaped) or on its way out: it runs nothing


def consumer_name() -> str:
    """A new consumer name for a worker of this process."""
    pid = os.getpid()
    place = _place()
    start = _stat(pid)[19] if place else "0"  # /proc's field 22: start time
    return f"{socket.gethostname()}-{pid}-{start}-{place or 'unknown'}-{secrets.token_hex(3)}"


def known_dead(name: str) -> bool:
    """True only when `name` is a consumer of this place whose process certainly runs no more."""
    fields = name.rsplit("-", 4)
    place = _place()
    if place is None or len(fields) != 5 or fields[3] != place or not (fields[1].isdigit() and fields[2].isdigit()):
        return False
    pid = int(fields[1])
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the pid exists
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: /proc may still tell whether it is that worker
    try:
        stat = _stat(pid)
    except OSError:
        return False  # hidden from us (hidepid): it may be that very worker
    return stat[19] != fields[2] or stat[0] in _DEAD_STATES


@functools.cache
def _place() -> str | None:
    """This process's place, or None when /proc cannot say it (then no name is ever judged here)."""
    try:
        if _stat_text("self").split(" ", 1)[0] != str(os.getpid()):
            return None  # a /proc of another pid namespace
        parts = [Path("/proc/sys/kernel/random/boot_id").read_text().strip(), os.readlink("/proc/self/ns/pid")]
        try:
            parts.append(os.readlink("/proc/self/ns/time"))  # /proc's start times are shifted by it
        except FileNotFoundError:
            pass  # a kernel without time namespaces (before 5.6)
    except OSError:
        return None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name: state, parent, … (index 19: start time)."""
    return _stat_text(str(pid)).rsplit(")", 1)[1].split()


def _stat_text(pid: str) -> str:
    return Path(f"/proc/{pid}/stat").read_text()
