"""Redis MONITOR in a thread: every command any client sends, to count what one interaction costs.

Commands run inside Lua scripts (client type `lua`) are not round trips and are left out, and so are
the job workers' idle polling (XREADGROUP, XAUTOCLAIM, XCLAIM, XINFO, XPENDING), which goes on whether
or not anything happens.
"""

from __future__ import annotations

import threading

import redis as redis_py

POLLING = frozenset({"XREADGROUP", "XAUTOCLAIM", "XCLAIM", "XINFO", "XPENDING"})


class Monitor:
    def __init__(self, url: str):
        self.url = url
        self.entries: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._monitor = None

    def __enter__(self) -> "Monitor":
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        connection = getattr(self._monitor, "connection", None)
        if connection is not None:
            try:
                connection.disconnect()  # wakes the reader up
            except Exception:  # noqa: BLE001
                pass
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        # No socket timeout: redis-py drops a connection that timed out, and MONITOR with it.
        client = redis_py.Redis.from_url(self.url, decode_responses=True)
        try:
            with client.monitor() as monitor:
                self._monitor = monitor
                self._ready.set()
                while not self._stop.is_set():
                    entry = monitor.next_command()
                    if entry.get("client_type") == "lua":
                        continue
                    name = (entry.get("command") or "").split(" ", 1)[0].upper()
                    if name in POLLING:
                        continue
                    with self._lock:
                        self.entries.append(name)
        except Exception:  # noqa: BLE001 - the connection closing under it ends the thread
            pass
        finally:
            self._ready.set()
            client.close()

    def mark(self) -> int:
        with self._lock:
            return len(self.entries)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return list(self.entries[mark:])
