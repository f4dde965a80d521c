"""The real bot (Runtime + `bot.server`'s ASGI app under uvicorn) in the test's process, on a free port,
configured only through an environment, as `ce-bot serve` is."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from unittest import mock

import uvicorn

from bot import config as configuration

TRUSTED_ACCOUNT = "111122223333"  # the account the test bots' roles trust (CE_TRUSTED_ACCOUNT_ID)


def serve_env(
    *, token: str, secret: str, api_url: str, redis_url: str, data_dir, approvers: str, **extra: str | None
) -> dict[str, str]:
    """A test bot's environment, as `ce-bot serve` reads it; an `extra` of None leaves a variable out."""
    env = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": api_url,
        "REDIS_URL": redis_url,
        "CE_TRUSTED_ACCOUNT_ID": TRUSTED_ACCOUNT,
        "CE_APPROVERS": approvers,
        "CE_ASSUME_ROLE_TIMEOUT": "2",
        "CE_DATA_DIR": str(data_dir),
        "AWS_REGION": "us-east-1",
        **extra,
    }
    return {k: v for k, v in env.items() if v is not None}


def offline_env(data_dir) -> dict[str, str]:
    """A bot's environment whose Slack and Redis are nowhere (ports nobody listens on): for building a
    runtime without serving."""
    return serve_env(token="xoxb-offline", secret="s" * 32, api_url="http://127.0.0.1:9/api/",
                     redis_url="redis://127.0.0.1:1/0", data_dir=data_dir, approvers="U0APPROVER")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningBot:
    url: str
    runtime: Any
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_bot(
    env: dict[str, str],
    *,
    clock: Callable[[], float] = time.time,
    scheduler_tick: float = 1.0,
    claim_idle: dict[str, float] | None = None,
    block: float = 0.1,
) -> RunningBot:
    """`claim_idle` shortens how long a job waits before another worker takes it over (seconds by
    queue); `block` is the workers' blocking read, short so that the bot stops fast."""
    import bot.runtime as runtime_module
    from bot.server import create_http_app

    config = configuration.load("serve", environ=env)
    with mock.patch.dict(runtime_module.CLAIM_IDLE, claim_idle or {}):
        runtime = runtime_module.Runtime(config, clock=clock, scheduler_tick=scheduler_tick)
        workers = runtime.jobs.workers  # built while CLAIM_IDLE is patched
    for worker in workers:
        worker.block_ms = max(1, int(block * 1000))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_http_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the bot did not start")
        time.sleep(0.02)
    return RunningBot(f"http://127.0.0.1:{port}", runtime, server, thread)
