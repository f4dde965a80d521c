"""The `ce-bot` command: `serve` (HTTP mode), `socket` (Socket Mode), `run` (whichever fits)."""

from __future__ import annotations

import argparse
import os
import sys

from bot import config as configuration
from bot import logs
from bot.config import ConfigError
from bot.store.embedded import EmbeddedRedisError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ce-bot", description="Connect AWS Organizations to Cloud Entitlements from Slack.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="HTTP mode on $PORT: POST /slack/events, GET /healthz")
    commands.add_parser("socket", help="Socket Mode with SLACK_APP_TOKEN (no public URL needed)")
    worker = commands.add_parser("worker", help="run the jobs and the scheduler only, on the Redis at $REDIS_URL (ce-bot serve starts one)")
    worker.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # stop when this process is gone
    commands.add_parser("run", help="Socket Mode or HTTP mode when Slack tokens are set, else the local playground")
    audit = commands.add_parser("audit", help="print the audit log as JSON lines, e.g. --since 2026-12-01 or --since 24h")
    audit.add_argument("--since", help="ISO date or date-time (UTC unless an offset is given), or a duration: 90s, 30m, 24h, 7d")
    audit.add_argument("--until", help="same forms as --since; default: now")
    commands.add_parser("doctor", help="check the configuration, Slack token, Redis and AWS credentials (no secret printed)")
    args = parser.parse_args(argv)
    if args.command == "audit":
        from bot import audit as audit_log

        return audit_log.main(args)
    logs.setup()  # LOG_LEVEL; CE_LOG_JSON for JSON lines; secrets masked in every record
    if args.command == "doctor":
        from bot import doctor

        return doctor.main()
    try:
        if args.command == "worker":
            return run_worker(args.parent)
        return {"serve": serve, "socket": socket_mode, "run": run}[args.command]()
    except ConfigError as error:
        print(f"ce-bot: configuration error: {error}", file=sys.stderr)
        return 2
    except EmbeddedRedisError as error:
        print(f"ce-bot: {error}", file=sys.stderr)
        return 1


def serve() -> int:
    import uvicorn

    from bot.server import create_http_app

    config, runtime = web_runtime("serve")
    host = os.environ.get("HOST", "0.0.0.0")
    uvicorn.run(create_http_app(runtime), host=host, port=config.port, log_level="warning", access_log=False)
    return 0


def socket_mode() -> int:
    import asyncio

    config, runtime = web_runtime("socket")
    runtime.start()
    try:
        asyncio.run(run_socket_mode(runtime.app, config.slack_app_token))
    finally:
        runtime.stop()
    return 0


async def run_socket_mode(app, app_token: str) -> None:
    """Socket Mode until SIGTERM or SIGINT, then the WebSocket is closed (the caller stops the worker).

    The handler is built here, on the running loop: its aiohttp session and message task need one.
    A signal also stops it while it is still connecting (the client retries a refused connection forever)."""
    import asyncio
    import signal

    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    handler = AsyncSocketModeHandler(app, app_token)
    connecting = asyncio.create_task(handler.connect_async())
    try:
        await stop.wait()
    finally:
        connecting.cancel()
        await handler.close_async()


def run_worker(parent: int | None) -> int:
    """The job workers and the scheduler, until SIGTERM (or, started by `ce-bot serve`, until it is gone)."""
    import logging
    import signal
    import threading

    import boto3  # noqa: F401 - now, not in the first validation (the web process never imports it)

    from bot.runtime import Runtime

    config = configuration.load("worker")
    if not config.redis_url:
        raise ConfigError("REDIS_URL", "is not set (ce-bot worker joins the Redis of a running ce-bot)")
    runtime = Runtime(config)
    logs.instrument(runtime)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runtime.start()
    try:
        while not stop.wait(1.0):
            if parent and os.getppid() != parent:
                logging.getLogger(__name__).warning("the process that started this worker is gone: stopping")
                break
    finally:
        runtime.stop()
    return 0


def web_runtime(mode: str):
    """The configuration and the runtime of a process that answers Slack (`serve`, `socket`): its jobs
    run in a worker child. What start-up built (modules, the app) is then kept
    out of every later garbage collection: a full collection walking it paused acks for tens of ms."""
    import gc

    from bot.runtime import Runtime

    config = configuration.load(mode)
    runtime = Runtime(config, worker_process=True)  # its jobs run (and are instrumented) in the worker child
    runtime.app  # noqa: B018 - built now, to be frozen with the rest
    gc.collect()
    gc.freeze()
    return config, runtime


def run() -> int:
    env = configuration.environment()
    if env.get("SLACK_BOT_TOKEN"):
        return socket_mode() if env.get("SLACK_APP_TOKEN") else serve()
    from bot.playground.main import run_playground

    return run_playground()


if __name__ == "__main__":
    sys.exit(main())
