"""The router: one Bolt listener per kind of request, handlers looked up by command, action_id,
callback_id or event type; what nobody handles is acknowledged, and a key is never handled twice."""

from __future__ import annotations

import pytest

from bot.slack.router import Router
from tests.support.event_loop import run


class Ack:
    def __init__(self):
        self.calls = []

    async def __call__(self, **kwargs):
        self.calls.append(kwargs)


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

    async def deliver():
        acks = [Ack() for _ in range(6)]
        await router._on_action(acks[0], {"actions": [{"action_id": "approve"}]}, None, {})
        await router._on_view(acks[1], {"view": {"callback_id": "ids"}}, None, {})
        await router._on_command(acks[2], {"command": "/ce"}, None, {})
        await router._on_event(acks[3], {"event": {"type": "app_home_opened"}}, None, {})
        await router._on_action(acks[4], {"actions": [{"action_id": "a link button"}]}, None, {})
        await router._on_view(acks[5], {"view": {"callback_id": "someone else's"}}, None, {})
        return acks

    acks = run(deliver())
    assert seen == ["approve", "ids", "/ce", "home"]
    assert [a.calls for a in acks] == [[{"text": "approve"}], [{"text": "ids"}], [{"text": "/ce"}], [{"text": "home"}], [{}], [{}]]


def test_two_handlers_for_one_key_are_refused():
    router = Router()

    async def one(ack, body, client, context): ...

    async def other(ack, body, client, context): ...

    router.action("approve", one)
    router.action("approve", one)  # the same again is harmless
    with pytest.raises(ValueError, match="approve"):
        router.action("approve", other)
