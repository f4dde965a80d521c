"""ce-bot served as `ce-bot serve` serves it, with a counting wrapper on its ack-path Redis client.

Every command the ack paths' client (`bot.store.ack_redis.AckRedis`) sends (one round trip each) is
counted in the request's context. `AsyncApp.async_dispatch` is wrapped so that what a
request sends while Bolt dispatches it (middleware, the listener, its ack: the ack path with
`process_before_response=True`) is appended as one JSON line to $BENCH_TRIPS_FILE. What follows the
ack runs in the worker process (the harness watches it with MONITOR).

Run as `python -m bench.counting` with ce-bot's environment.
"""

from __future__ import annotations

import contextvars
import json
import os

from bot.store.ack_redis import AckRedis

_sent: contextvars.ContextVar[list | None] = contextvars.ContextVar("sent", default=None)


def install() -> None:
    original = AckRedis.execute

    async def counting(self, *args):
        sent = _sent.get()
        if sent is not None:
            sent.append(str(args[0]).upper())
        return await original(self, *args)

    AckRedis.execute = counting


def wrap_dispatch(app, path: str) -> None:
    dispatch = app.async_dispatch

    async def counted(request):
        sent = []
        token = _sent.set(sent)
        try:
            return await dispatch(request)
        finally:
            _sent.reset(token)
            record = {"round_trips": len(sent), "commands": sent}
            with open(path, "a") as out:
                out.write(json.dumps(record) + "\n")

    app.async_dispatch = counted


def main() -> None:
    import uvicorn

    from bot.cli import web_runtime
    from bot.server import create_http_app

    install()
    config, runtime = web_runtime("serve")
    wrap_dispatch(runtime.app, os.environ["BENCH_TRIPS_FILE"])
    uvicorn.run(create_http_app(runtime), host=os.environ.get("HOST", "127.0.0.1"), port=config.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
