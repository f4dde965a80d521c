"""Processes the benchmark starts: each server in its own process, so its CPU time and memory are its own.

CPU time is read from /proc: the sum of every thread's time on CPU (`/proc/PID/task/*/schedstat`,
nanoseconds), falling back to utime+stime of `/proc/PID/stat` (10 ms ticks, but it keeps the time of
threads that ended) when a thread ended in between.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.payloads import REGION

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's stand-in credentials


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CE_", "REDIS_URL", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(AWS_CREDENTIALS, AWS_DEFAULT_REGION=REGION)
    env.update(extra or {})
    return env


# --- /proc -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuSample:
    threads_ns: dict[int, int]
    ticks: int

    def since(self, before: "CpuSample") -> float:
        """CPU seconds between two samples of one process."""
        if set(before.threads_ns) <= set(self.threads_ns):
            return sum(self.threads_ns[t] - before.threads_ns[t] for t in before.threads_ns) / 1e9 + sum(
                ns for t, ns in self.threads_ns.items() if t not in before.threads_ns
            ) / 1e9
        return (self.ticks - before.ticks) / CLOCK_TICKS


def cpu_sample(pid: int) -> CpuSample:
    threads = {}
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir():
        try:
            threads[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return CpuSample(threads, ticks)


def children(pid: int) -> list[int]:
    """The processes `pid` started (ce-bot serve's worker process)."""
    return [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _parent(stat) == pid]


def parent_of(pid: int) -> int | None:
    """`pid`'s parent, or None when `pid` is gone."""
    return _parent(Path(f"/proc/{pid}/stat"))


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- processes -------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    port: int = 0
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        try:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_all(processes, timeout: float = 10.0) -> None:
    """SIGTERM to every process first, then wait for each (they stop in parallel)."""
    processes = [p for p in processes if p.alive()]
    for proc in processes:
        try:
            proc.popen.send_signal(signal.SIGTERM)
        except OSError:
            pass
    for proc in processes:
        proc.stop(timeout)


def start_standin(workdir: Path, name: str, args: list[str], timeout: float = 120.0) -> Proc:
    """A `bench.standins` role; returns once it printed its JSON line."""
    log = workdir / f"{name}.log"
    popen = subprocess.Popen(
        [sys.executable, "-m", "bench.standins", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        env=python_env(),
        cwd=str(ROOT),
        text=True,
    )
    proc = Proc(name, popen, log)
    lines: list[str] = []  # the ready line, or "" if the process ended first
    reader = threading.Thread(target=lambda: lines.append(popen.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        proc.stop()  # a reader still waiting gets "" and ends
        raise RuntimeError(f"{name} did not start:\n{proc.log_tail()}")
    proc.info = json.loads(lines[0])
    return proc


def spawn_server(workdir: Path, name: str, argv: list[str], env: dict[str, str]) -> Proc:
    """Start a server listening on 127.0.0.1 at a free port (not waiting for it)."""
    port = free_port()
    log = workdir / f"{name}.log"
    popen = subprocess.Popen(
        [sys.executable, *argv],
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=python_env({**env, "HOST": "127.0.0.1", "PORT": str(port)}),
        cwd=str(ROOT),
    )
    return Proc(name, popen, log, port)


def start_server(workdir: Path, name: str, argv: list[str], env: dict[str, str], *, timeout: float = 30.0) -> Proc:
    """A server listening on 127.0.0.1 at a free port; returns once GET /healthz answers 200."""
    proc = spawn_server(workdir, name, argv, env)
    try:
        wait_healthy(proc, timeout=timeout)
    except Exception:
        proc.stop()
        raise
    return proc


def wait_healthy(proc: Proc, *, need_200: bool = True, timeout: float = 30.0) -> None:
    """Return once GET /healthz answered (200, or anything when not `need_200`)."""
    start = time.monotonic()
    while True:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(f"{proc.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as error:
            if not need_200:
                return
            error.close()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"{proc.name} not healthy within {timeout:.0f} s:\n{proc.log_tail()}")
        time.sleep(0.005)
