"""`ce-bot socket` as operators run it: a process configured only by its environment, talking to Slack
through Socket Mode (`apps.connections.open`, then one WebSocket), with its `ce-bot worker` child.

Slack's side is `tests/support/socket_mode.py`: the Web API stand-in, which also opens Socket Mode
connections and carries envelopes over them. Every delivery here goes through the WebSocket, and
every ack is read from it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import redis as redis_py

from bot.slack import ids
from bot.slack.views import messages
from tests.e2e.conftest import APPROVER, BOT_TOKEN, CHANNEL, REQUESTER, TRUSTED_ACCOUNT
from tests.e2e.journey import has_button
from tests.support.processes import parent_of, worker_children
from tests.support.socket_mode import CONNECTIONS_OPEN, SocketModeSlack, SocketModeStandIn

APP_TOKEN = "xapp-1-A0CE-e2e-token"
SECOND_REQUESTER = "U0REQ2"
WAIT = 15.0  # generous deadlines; every wait ends as soon as its condition holds


@dataclass
class SocketBot:
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def until(self, probe: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        """Wait until `probe()` is truthy and return it; fail at once, with the bot's output, if the bot exits."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found:
                return found
            code = self.process.poll()
            if code is not None:
                pytest.fail(f"ce-bot socket exited with {code} while waiting for {what}; its output:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout}s; the bot's output:\n{self.output()}")
            time.sleep(0.05)

    def terminate(self) -> int:
        """SIGTERM, as a process manager stops it; its exit code (it must stop within WAIT)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ce-bot socket did not stop within {WAIT}s of SIGTERM; its output:\n{self.output()}")


@pytest.fixture
def socket_standin():
    with SocketModeStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def launch(socket_standin, redis_url, tmp_path):
    """Starts `python -m bot.cli socket` as an operator would; whatever was started is killed afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CE_", "REDIS_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=socket_standin.api_url,
        REDIS_URL=redis_url,
        CE_TRUSTED_ACCOUNT_ID=TRUSTED_ACCOUNT,
        CE_APPROVERS=APPROVER,
        CE_DATA_DIR=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    started: list[SocketBot] = []

    def start() -> SocketBot:
        log = tmp_path / f"ce-bot-{len(started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "socket"],
                env=env,
                cwd=tmp_path,  # no .env of the developer's is read
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,  # the worker child inherits both
            )
        started.append(SocketBot(process, log))
        return started[-1]

    yield start
    for bot in started:
        workers = worker_children(bot.pid)
        if bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait(10)
        for pid in workers + worker_children(bot.pid):  # it stops by itself within a second; not left to chance
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def socket_bot(launch, socket_standin):
    """`ce-bot socket`, connected."""
    bot = launch()
    bot.until(lambda: socket_standin.open_connections, "a Socket Mode connection")
    return bot


@pytest.fixture
def slack(socket_standin):
    """Slack's side of the conversation, over the WebSocket (this module's, not the HTTP one of conftest)."""
    return SocketModeSlack(socket_standin, timeout=WAIT)


def test_it_connects_with_the_app_level_token(socket_bot, socket_standin):
    opened = socket_standin.calls_to(CONNECTIONS_OPEN)
    assert opened and all(call.ok for call in opened)
    assert socket_standin.connections == 1
    assert socket_standin.unexpected == []  # nothing but acks is ever sent back


def test_help_is_answered_in_the_ack(socket_bot, socket_standin, slack):
    response = slack.command(REQUESTER, "help")
    ack = response.extra["ack"]
    assert set(ack) == {"envelope_id", "payload"}
    assert ack["payload"]["response_type"] == "ephemeral"
    assert ack["payload"]["text"] == messages.usage()
    assert "/ce connect aws-org" in ack["payload"]["text"]


def test_connect_is_acked_and_the_worker_child_posts_the_thread(socket_bot, socket_standin, slack):
    assert socket_bot.until(lambda: worker_children(socket_bot.pid), "the ce-bot worker child")

    def parent_of_thread(user: str):
        return next(
            (
                call
                for call in socket_standin.calls_to("chat.postMessage")
                if call.ok
                and call.args.get("channel") == CHANNEL
                and not call.args.get("thread_ts")
                and f"<@{user}>" in str(call.args)
            ),
            None,
        )

    # Two people, one after the other: each `/ce connect` is a delivery of its own.
    for user in (REQUESTER, SECOND_REQUESTER):
        response = slack.command(user, "connect aws-org", channel_id=CHANNEL)
        assert response.extra["ack"] == {"envelope_id": response.extra["envelope_id"]}  # acked, nothing to show
        posted = socket_bot.until(lambda: parent_of_thread(user), f"the parent message of {user}'s connection")
        assert "Connecting" in posted.response["message"]["text"]

    # A button in the thread reaches the worker too: the IDs modal opens with the click's trigger_id.
    thread_ts = parent_of_thread(REQUESTER).response["ts"]
    message = socket_bot.until(
        lambda: next((m for m in socket_standin.messages(CHANNEL, thread_ts) if has_button(m, ids.ENTER_IDS)), None),
        "the Enter IDs button in the thread",
    )
    response = slack.click(REQUESTER, message=message, action_id=ids.ENTER_IDS)
    assert response.extra["ack"] == {"envelope_id": response.extra["envelope_id"]}
    socket_bot.until(lambda: socket_standin.open_views(REQUESTER), "the IDs modal")
    assert socket_standin.internal_errors == []


def test_each_home_opened_event_is_handled(socket_bot, socket_standin, slack):
    for user in (REQUESTER, APPROVER):
        response = slack.home_opened(user)
        assert response.extra["ack"] == {"envelope_id": response.extra["envelope_id"]}
        socket_bot.until(lambda: socket_standin.home(user), f"{user}'s App Home")


def test_sigterm_stops_the_bot_and_its_worker_child(socket_bot, socket_standin, slack):
    workers = socket_bot.until(lambda: worker_children(socket_bot.pid), "the ce-bot worker child")
    assert all(parent_of(pid) == socket_bot.pid for pid in workers)
    slack.home_opened(REQUESTER)  # the child is at work, not still starting
    socket_bot.until(lambda: socket_standin.home(REQUESTER), "the App Home published by the worker child")

    assert socket_bot.terminate() == 0, socket_bot.output()
    assert worker_children(socket_bot.pid) == []  # stopped (and reaped) by it, not left to notice it is gone
    assert "Traceback" not in socket_bot.output()
    assert socket_standin.wait_disconnected(WAIT) == 0


def test_sigterm_stops_it_while_it_cannot_connect(launch, socket_standin):
    socket_standin.fail_next(CONNECTIONS_OPEN, error="invalid_auth", status=200, times=1000)  # e.g. a revoked app token
    bot = launch()
    bot.until(lambda: socket_standin.calls_to(CONNECTIONS_OPEN), "a refused apps.connections.open")
    assert bot.terminate() == 0, bot.output()
    assert worker_children(bot.pid) == []
    assert socket_standin.connections == 0


def test_a_submission_carries_its_view_id_as_over_http(socket_bot, socket_standin, slack, redis_url):
    """The payload of a Socket Mode envelope is the HTTP one: the view's ID reaches the transition, so a
    submission accepted once is never accepted again."""
    slack.command(REQUESTER, "connect aws-org", channel_id=CHANNEL)

    def enter_ids_button():
        roots = [c.response["ts"] for c in socket_standin.calls_to("chat.postMessage") if c.ok and not c.args.get("thread_ts")]
        return next((m for ts in roots for m in socket_standin.messages(CHANNEL, ts) if has_button(m, ids.ENTER_IDS)), None)

    slack.click(REQUESTER, message=socket_bot.until(enter_ids_button, "the Enter IDs button"), action_id=ids.ENTER_IDS)
    view = socket_bot.until(lambda: socket_standin.open_views(REQUESTER), "the IDs modal")[-1]
    values = {"Organization ID": "o-socketmode01", "Root ID": "r-sock"}
    accepted = slack.submit(REQUESTER, view, values)
    assert accepted.extra["ack"] == {"envelope_id": accepted.extra["envelope_id"]}  # closed: accepted

    redis = redis_py.Redis.from_url(redis_url, decode_responses=True)
    conn_id = redis.get("ce:org:o-socketmode01")
    assert conn_id and redis.get(f"ce:seen:view:{view['id']}") == conn_id
    unidentified = slack.submit(REQUESTER, {**view, "id": ""}, values).extra["ack"]["payload"]
    assert "already submitted" in unidentified["errors"][ids.ORGANIZATION_ID_BLOCK]
