"""Helpers for the operations end-to-end tests: a connected organization, Redis snapshots, a bot on a
controllable clock, and reading what the bot answered."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import redis as redis_py

from bot.connection.model import State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.playground.sandbox_stack import deploy_rendered_template
from bot.slack import ids
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from tests.e2e.conftest import APPROVER, CHANNEL, SIGNING_SECRET
from tests.e2e.journey import Journey, has_button, text_of
from tests.support.bot_server import RunningBot, start_bot
from tests.support.redis_state import connection_of, dump
from tests.support.slack_requests import SlackClientSim

WAIT = 15.0


class Clock:
    """A clock the test moves by hand (epoch seconds); starts at the real time."""

    def __init__(self, now: float | None = None):
        self.now = time.time() if now is None else now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self.now += seconds
            return self.now


def start_bot_with(env: dict[str, str], *, clock=time.time, tick: float = 0.05) -> RunningBot:
    """The bot with the clock and the scheduler's tick under the test's control."""
    return start_bot(env, clock=clock, scheduler_tick=tick)


def sim(bot: RunningBot, standin) -> SlackClientSim:
    return SlackClientSim(bot.url, SIGNING_SECRET, standin)


def settle(redis_url: str, timeout: float = 5.0) -> dict:
    """Wait until the bot's background work is done (no job left, nothing changing), then snapshot."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        current = dump(redis_url)
        jobs = [k for k, v in current.items() if k.startswith("ce:jobs:") and v]
        if current == previous and not jobs:
            return current
        previous = current
        time.sleep(0.15)
    raise AssertionError("the bot never settled")


def redis_of(redis_url: str) -> redis_py.Redis:
    return redis_py.Redis.from_url(redis_url, decode_responses=True)


@dataclass
class Connected:
    journey: Journey
    conn_id: str
    org_id: str
    role_arn: str


def connect_organization(
    slack, standin, sandbox, redis_url, *, approver: str = APPROVER, approval_channel: str | None = None
) -> Connected:
    """The whole guided connection, as people do it in Slack, up to connected and announced."""
    journey = Journey(slack, standin)
    journey.start()
    assert journey.submit_ids(sandbox.org_id, sandbox.root_id).status == 200
    _, body = journey.template()
    role_arn = deploy_rendered_template(body.decode(), region="us-east-1")
    assert journey.submit_role(role_arn).status == 200
    checklist = journey.checklist_done(timeout=30)
    assert "passed every check" in text_of(checklist), text_of(checklist)
    request = journey.approval_request(approval_channel)
    slack.click(approver, message=request, action_id=ids.APPROVE)
    journey.wait_reply(lambda m: "is connected" in text_of(m), "the connected notice")
    conn = connection_of(redis_url, sandbox.org_id)
    assert conn["state"] == "connected"
    return Connected(journey, conn["id"], sandbox.org_id, role_arn)


def seed_connected(store: ConnectionStore, org_id: str, *, requester: str, approver: str, accounts: int = 3) -> str:
    """A connected organization written straight into Redis through the store (no AWS): for listings."""
    conn = store.create(requester=requester, channel=CHANNEL, ttl=3600)
    steps = [
        (Event.SUBMIT_IDS, requester, False, {"org_id": org_id, "root_id": "r-ab12", "region": "us-east-1"}, None),
        (Event.SUBMIT_ROLE, requester, False, {"role_arn": "arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole"}, None),
        (Event.VALIDATION_PASSED, SYSTEM_ACTOR, False, {"management_account_id": "123456789012"},
         [{"id": f"{i:012d}", "name": f"Account {i}", "email": "", "status": "ACTIVE"} for i in range(accounts)]),
        (Event.APPROVE, approver, True, {"status": "active"}, None),
    ]  # fmt: skip
    for event, actor, is_approver, fields, accts in steps:
        result = store.transition(
            conn.id, event, actor=actor, actor_is_approver=is_approver, fields=fields, accounts=accts, ttl=3600
        )
        assert result.ok, (event, result.refusal)
    return conn.id


def seed_in_flight(store: ConnectionStore, org_id: str, *, requester: str) -> str:
    conn = store.create(requester=requester, channel=CHANNEL, ttl=3600)
    result = store.transition(
        conn.id, Event.SUBMIT_IDS, actor=requester, fields={"org_id": org_id, "root_id": "r-ab12"}, ttl=3600
    )
    assert result.ok and result.connection.state is State.AWAITING_STACK
    return conn.id


def store_for(redis_url: str, clock=time.time) -> ConnectionStore:
    return ConnectionStore(connect(redis_url), clock=clock)


def ephemerals_with(standin, user: str, needle: str) -> list[dict]:
    return [m for m in standin.ephemerals(user) if needle in text_of(m)]


def wait_ephemeral(standin, user: str, needle: str, timeout: float = WAIT) -> dict:
    return standin.wait_until(
        lambda s: next((m for m in reversed(s.ephemerals(user)) if needle in text_of(m)), None),
        timeout,
        f"no ephemeral message for {user} saying {needle!r}; ephemerals: "
        + json.dumps([m.get("text", "")[:120] for m in standin.ephemerals(user)]),
    )


def wait_thread(standin, channel: str, thread_ts: str, needle: str, timeout: float = WAIT) -> dict:
    return standin.wait_until(
        lambda s: next((m for m in reversed(s.messages(channel, thread_ts)) if needle in text_of(m)), None),
        timeout,
        f"the thread never said {needle!r}",
    )


def button_in(message: dict, action_id: str) -> bool:
    return has_button(message, action_id) or any(
        (b.get("accessory") or {}).get("action_id") == action_id for b in message.get("blocks", [])
    )
