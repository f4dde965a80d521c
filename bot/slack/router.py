"""One Bolt listener per kind of request, and a table per kind: which handler answers what.

Bolt tries its listeners one after another and, for each, builds the
arguments of its matchers: with a listener per button, a click on the last
one registered would pay for every matcher before it on its ack path. So the
surfaces register their handlers here, by command, action_id, callback_id or
event type, and `attach` gives Bolt one listener per kind that looks the
handler up in a dict.

Every handler is a coroutine taking (ack, body, client, context). `before`, when given, runs first
with (request, body, context) and may say False: the request is then acknowledged and not handled.
"""

from __future__ import annotations

import re
from typing import Awaitable, Callable

Handler = Callable[..., Awaitable[None]]
Before = Callable[..., Awaitable[bool]]
ANY = re.compile(".*")


class Router:
    def __init__(self, before: Before | None = None):
        self.before = before
        self.commands: dict[str, Handler] = {}
        self.actions: dict[str, Handler] = {}
        self.views: dict[str, Handler] = {}
        self.events: dict[str, Handler] = {}

    def command(self, name: str, handler: Handler) -> None:
        _add(self.commands, name, handler)

    def action(self, action_id: str, handler: Handler) -> None:
        _add(self.actions, action_id, handler)

    def view(self, callback_id: str, handler: Handler) -> None:
        _add(self.views, callback_id, handler)

    def event(self, event_type: str, handler: Handler) -> None:
        _add(self.events, event_type, handler)

    def attach(self, app) -> None:
        # Clicks and submissions first: their acks are the ones that wait on Redis.
        if self.actions:
            app.action(ANY)(self._on_action)
        if self.views:
            app.view(ANY)(self._on_view)
        for name in self.commands:
            app.command(name)(self._on_command)
        for event_type in self.events:
            app.event(event_type)(self._on_event)

    async def _on_command(self, ack, body, client, context, request=None) -> None:
        await self._run(self.commands[body["command"]], ack, body, client, context, request)

    async def _on_action(self, ack, body, client, context, request=None) -> None:
        action_id = (body.get("actions") or [{}])[0].get("action_id", "")
        await self._run(self.actions.get(action_id, _just_ack), ack, body, client, context, request)

    async def _on_view(self, ack, body, client, context, request=None) -> None:
        callback_id = (body.get("view") or {}).get("callback_id", "")
        await self._run(self.views.get(callback_id, _just_ack), ack, body, client, context, request)

    async def _on_event(self, ack, body, client, context, request=None) -> None:
        await self._run(self.events[body["event"]["type"]], ack, body, client, context, request)

    async def _run(self, handler: Handler, ack, body, client, context, request) -> None:
        if self.before is not None and not await self.before(request, body, context):
            await ack()
            return
        await handler(ack=ack, body=body, client=client, context=context)


async def _just_ack(ack, body, client, context) -> None:
    """A button of ours that needs nothing (a link button), or a view nobody handles: acknowledged."""
    await ack()


def _add(table: dict[str, Handler], key: str, handler: Handler) -> None:
    if key in table and table[key] is not handler:
        raise ValueError(f"two handlers for {key!r}")
    table[key] = handler
