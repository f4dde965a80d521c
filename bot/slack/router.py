"""One Bolt middleware for every request, and a table per kind: which handler answers what.

Bolt tries its listeners one after another and, for each, builds the
arguments of its matcher (about 35 µs a build on 2 slow cores): a slash
command registered after the click and view listeners paid for three
matchers and its listener, four builds, where a bare app pays two. So the
surfaces register their handlers here, by command, action_id, callback_id or
event type, and `attach` gives Bolt one global middleware, after Bolt's own
(signature check, authorization, url_verification), that looks the handler up
and runs it: one build per request. What no handler takes goes on to Bolt.
Slack's SSL check is acknowledged here too, once its signature is verified
(Bolt's own answer to it comes before the check).

Every handler is a coroutine taking (ack, body, client, context). `before`, when given, runs first
with (request, body, context) and may say False: the request is then acknowledged and not handled.
An exception goes to the app's error handler, as a listener's does.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from slack_bolt.request.payload_utils import is_action, is_event, is_slash_command, is_view

Handler = Callable[..., Awaitable[None]]
Before = Callable[..., Awaitable[bool]]


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
        app.use(self._route)

    async def _route(self, req, body, context, ack, next_):
        handler = self.handler_for(body)
        if handler is None:
            return await next_()  # not ours: Bolt answers as for any request nobody listens to
        if self.before is None or await self.before(req, body, context):
            await handler(ack=ack, body=body, client=context.client, context=context)
        if ack.response is None:
            await ack()  # as Bolt does for a listener that did not (every handler here acks)
        return ack.response

    def handler_for(self, body) -> Handler | None:
        """The handler of a request, as Bolt's matchers would pick its listener: a command by name, an
        event by type, and any click or view (an unknown one is acknowledged by `_just_ack`, as is an
        SSL check)."""
        if not isinstance(body, dict):
            return None
        if is_slash_command(body):
            return self.commands.get(body["command"])
        if is_action(body):
            action_id = (body.get("actions") or [{}])[0].get("action_id", "")
            return self.actions.get(action_id, _just_ack) if self.actions else None
        if is_view(body):
            return self.views.get(body["view"]["callback_id"], _just_ack) if self.views else None
        if is_event(body):
            return self.events.get(body["event"]["type"])
        if body.get("ssl_check") == "1":
            return _just_ack
        return None


async def _just_ack(ack, body, client, context) -> None:
    """A button of ours that needs nothing (a link button), a view nobody handles, an SSL check: acknowledged."""
    await ack()


def _add(table: dict[str, Handler], key: str, handler: Handler) -> None:
    if key in table and table[key] is not handler:
        raise ValueError(f"two handlers for {key!r}")
    table[key] = handler
