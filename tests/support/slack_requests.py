"""Signed requests to the bot exactly as Slack sends them, built from the stand-in's workspace.

`SlackClientSim` plays Slack's side of the HTTP conversation with a running bot
(`POST {bot_url}/slack/events`): a person types a slash command, clicks a
button in a message or a modal, submits or closes a modal; Slack signs the
request, the bot acks. Trigger IDs and response URLs come from the stand-in, so
the bot's follow-up Web API calls are checked like Slack would check them, and
the ack is applied the way Slack applies it (a slash command's ack body becomes a
message, a view_submission's `response_action` closes/updates/pushes the modal).

Payload shapes follow Slack's documented payloads (slash command form fields,
`block_actions`, `view_submission`, `view_closed`, Events API `event_callback`);
they are built by the playground's `bot.playground.slack_sender.SlackSender`, which
this client extends with the tests' calling conventions, strict checks (what Slack's
client would refuse fails the test with an AssertionError) and a transport that
keeps response headers. Only the standard library is used: no client threads fight
the bot's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.playground.slack_sender import (
    REQUIRED,
    PayloadError,
    SlackSender,
    find_element,
    missing_inputs,
    signature,
    state_values,
)
from bot.playground.slack_standin import SlackStandIn

__all__ = ["VERIFICATION_TOKEN", "BotResponse", "SlackClientSim", "signature"]

VERIFICATION_TOKEN = "standin-verification-token"  # the deprecated `token` field Slack still sends


@dataclass
class BotResponse:
    """The bot's HTTP answer, with what was sent."""

    status: int
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any] | None = None  # the payload / form fields / event that was sent
    trigger_id: str | None = None
    response_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """What Slack's client would not send fails the test."""
    try:
        yield
    except PayloadError as error:
        raise AssertionError(str(error)) from error


class SlackClientSim(SlackSender):
    """Slack's side of the HTTP conversation with the bot, for end-to-end tests."""

    token = VERIFICATION_TOKEN
    default_domain = "standin"

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        standin: SlackStandIn,
        team_id: str = "T0CE",
        api_app_id: str = "A0CE",
        *,
        path: str = "/slack/events",
        timeout: float = 10.0,
    ):
        super().__init__(
            bot_url.rstrip("/") + path, signing_secret, standin, timeout=timeout, team_id=team_id, app_id=api_app_id
        )

    @property
    def api_app_id(self) -> str:
        return self.app_id

    # ------------------------------------------------------------- transport

    answers_unreachable = False  # signed_post(...) → BotResponse; a bot that is not there raises

    def _answer(self, status: int, headers: dict[str, str], body: bytes, started: float) -> BotResponse:
        return BotResponse(status, headers, body)

    def _post(self, body: bytes, content_type: str, payload: dict, headers: dict | None = None) -> BotResponse:
        response = super()._post(body, content_type, payload, headers)
        response.trigger_id = payload.get("trigger_id")
        response.response_url = payload.get("response_url")
        return response

    # -------------------------------------------------------------- commands

    def command(  # type: ignore[override]
        self, user_id: str, text: str, *, channel_id: str = "C0CE", command: str = "/ce"
    ) -> BotResponse:
        """A person runs `/ce text` in a channel; the ack body is shown as Slack shows it."""
        return super().command(user_id, command, text, channel_id=channel_id)

    # ---------------------------------------------------------------- clicks

    def click(
        self,
        user_id: str,
        *,
        message: dict | None = None,
        view: dict | None = None,
        action_id: str,
        channel_id: str | None = None,
        option: str | None = None,
    ) -> BotResponse:
        """A person clicks the element `action_id` in `message` (as recorded by the stand-in) or `view`.

        `option` picks an option (by value or text) of a select or overflow element."""
        if (message is None) == (view is None):
            raise ValueError("click needs exactly one of message= or view=")
        with _refused():
            block, element = find_element((message or view or {}).get("blocks") or [], None, action_id)
            if view is not None:
                return self._view_action(user_id, view, block, element, option, state_values(view, {}))
            assert message is not None
            where = self.standin.locate(message["ts"]) or {}
            channel = channel_id or where.get("channel")
            if not channel:
                raise AssertionError(f"message {message['ts']} is not in the stand-in; pass channel_id=")
            return self._message_action(
                user_id, message, channel, bool(where.get("is_ephemeral")), block, element, option
            )

    # ----------------------------------------------------------------- modals

    def submit(  # type: ignore[override]
        self, user_id: str, view: dict, values: dict[str, Any] | None = None
    ) -> BotResponse:
        """A person fills in and submits a modal recorded by the stand-in.

        `values` maps an input's label text (e.g. "Organization ID") or block_id to what is typed
        (a select takes an option value or text; a multi-select a list). Other inputs keep what
        was typed before or their initial value. Refuses, as Slack's client would, to submit a
        required input left empty. The ack is then applied: no body closes the view,
        `response_action` errors/update/push/clear act like Slack."""
        with _refused():
            state = state_values(view, values or {}, strict=True)
        for block_id, problem in missing_inputs(view, state).items():
            block = next(b for b in view.get("blocks") or [] if b.get("block_id") == block_id)
            label = (block.get("label") or {}).get("text") or block_id
            if problem == REQUIRED:
                raise AssertionError(f"Slack would not submit: the required input {label!r} is empty")
            raise AssertionError(f"Slack would not submit: {label!r}: {problem}")
        self.standin.remember_view_state(view["id"], {"values": state})
        return self._submission(user_id, view, state)[0]

    def close(self, user_id: str, view: dict) -> BotResponse | None:  # type: ignore[override]
        """A person closes a modal. Slack tells the app (`view_closed`) only if `notify_on_close`."""
        return self._closed(user_id, view)

    # ----------------------------------------------------------------- events

    def home_opened(self, user_id: str, **options: Any) -> BotResponse:  # type: ignore[override]
        """The person opens the app's Home tab (`app_home_opened`, with the published view if any)."""
        return self.event(self._home_event(user_id), **options)
