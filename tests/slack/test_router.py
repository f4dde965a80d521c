"""The router: one Bolt middleware for every request, handlers looked up by command, action_id,
callback_id or event type; a click or view nobody handles is acknowledged, anything else goes on to
Bolt, and a key is never handled twice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.router import Router
from tests.support.event_loop import run


def route(router: Router, body: dict) -> tuple[AsyncAck, object]:
    """The router's middleware as Bolt calls it: (the ack, what it answered, or [body] when it handed
    the request on to Bolt)."""
    ack, handed_on = AsyncAck(), []

    async def next_():
        handed_on.append(body)

    return ack, run(router._route(None, body, SimpleNamespace(client=None), ack, next_)) or handed_on


def test_each_kind_reaches_its_handler_and_the_unknown_is_acknowledged():
    router, seen = Router(), []

    def handler(name):
        async def handle(ack, body, client, context):
            seen.append(name)
            await ack(text=name)

        return handle

    router.action("approve", handler("approve"))
    router.view("ids", handler("ids"))
    router.command("/ce", handler("/ce"))
    router.event("app_home_opened", handler("home"))
    bodies = [
        {"type": "block_actions", "actions": [{"action_id": "approve"}]},
        {"type": "view_submission", "view": {"callback_id": "ids"}},
        {"command": "/ce"},
        {"type": "event_callback", "event": {"type": "app_home_opened"}},
        {"type": "block_actions", "actions": [{"action_id": "a link button"}]},
        {"type": "view_closed", "view": {"callback_id": "someone else's"}},
    ]
    answers = [route(router, body) for body in bodies]
    assert seen == ["approve", "ids", "/ce", "home"]
    assert [ack.response.body for ack, _ in answers] == ["approve", "ids", "/ce", "home", "", ""]
    assert all(ack.response.status == 200 and answer is ack.response for ack, answer in answers)
    for foreign in ({"command": "/other"}, {"type": "event_callback", "event": {"type": "member_joined_channel"}},
                    {"type": "shortcut", "callback_id": "x"}):  # fmt: skip
        ack, handed_on = route(router, foreign)
        assert handed_on == [foreign] and ack.response is None  # Bolt's to answer


def test_a_request_before_refuses_is_acknowledged_and_not_handled():
    seen = []

    async def refuse(request, body, context):
        return False

    async def handle(ack, body, client, context):
        seen.append(body)

    router = Router(before=refuse)
    router.command("/ce", handle)
    ack, answer = route(router, {"command": "/ce"})
    assert not seen and answer is ack.response and ack.response.status == 200


def test_two_handlers_for_one_key_are_refused():
    router = Router()

    async def one(ack, body, client, context): ...

    async def other(ack, body, client, context): ...

    router.action("approve", one)
    router.action("approve", one)  # the same again is harmless
    with pytest.raises(ValueError, match="approve"):
        router.action("approve", other)
