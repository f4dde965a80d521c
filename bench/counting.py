"""ce-bot served as `ce-bot serve` serves it, with a counting wrapper on its Redis connections.

Every packed write to a Redis socket (one command, or one whole pipeline: one round trip each, health
check PINGs included) is counted per thread. `App.dispatch` is wrapped so that what the request
thread sends while Bolt dispatches (middleware, the listener, its ack: the ack path with
`process_before_response=True`) is appended as one JSON line to $BENCH_TRIPS_FILE. Lazy listeners and
job workers run on other threads and are not counted here (the harness watches them with MONITOR).

Run as `python -m bench.counting` with ce-bot's environment.
"""

from __future__ import annotations

import json
import os
import threading
import time

import redis.connection

_local = threading.local()
_write_lock = threading.Lock()


def _command_name(packed) -> str:
    first = packed[0] if isinstance(packed, (list, tuple)) else packed
    if isinstance(first, memoryview):
        first = first.tobytes()
    try:
        parts = bytes(first[:256]).split(b"\r\n")
        return parts[2].decode().upper()
    except (IndexError, UnicodeDecodeError, TypeError):
        return "?"


def install() -> None:
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent = getattr(_local, "sent", None)
        if sent is not None:
            sent.append(_command_name(command))
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting


def wrap_dispatch(app, path: str) -> None:
    dispatch = app.dispatch

    def counted(request):
        _local.sent = []
        start = time.perf_counter()
        try:
            return dispatch(request)
        finally:
            sent, _local.sent = _local.sent, None
            record = {"ms": (time.perf_counter() - start) * 1000, "round_trips": len(sent), "commands": sent}
            with _write_lock, open(path, "a") as out:
                out.write(json.dumps(record) + "\n")

    app.dispatch = counted


def main() -> None:
    import uvicorn

    from bot import config as configuration
    from bot.runtime import Runtime
    from bot.server import create_http_app

    install()
    config = configuration.load("serve")
    runtime = Runtime(config)
    wrap_dispatch(runtime.app, os.environ["BENCH_TRIPS_FILE"])
    uvicorn.run(create_http_app(runtime), host=os.environ.get("HOST", "127.0.0.1"), port=config.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
