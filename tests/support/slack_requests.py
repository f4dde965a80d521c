"""Signed requests to the bot exactly as Slack sends them, built from the stand-in's workspace.

`SlackClientSim` plays Slack's side of the HTTP conversation with a running bot
(`POST {bot_url}/slack/events`): a person types a slash command, clicks a
button in a message or a modal, submits or closes a modal; Slack signs the
request, the bot acks. Trigger IDs and response URLs come from the stand-in, so
the bot's follow-up Web API calls are checked like Slack would check them, and
the ack is applied the way Slack applies it (a slash command's ack body becomes a
message, a view_submission's `response_action` closes/updates/pushes the modal).

Payload shapes follow Slack's documented payloads (slash command form fields,
`block_actions`, `view_submission`, `view_closed`, Events API `event_callback`).
Only the standard library is used: no client threads fight the bot's.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.playground.slack_standin import SlackStandIn

VERIFICATION_TOKEN = "standin-verification-token"  # the deprecated `token` field Slack still sends

_TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
_SINGLE_SELECTS = ("static_select", "external_select", "radio_buttons")
_MULTI_SELECTS = ("multi_static_select", "multi_external_select", "checkboxes")
# element type → (state key, initial key) for pickers whose value is a single ID or string
_PICKERS = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
}


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


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackClientSim:
    """Slack's side of the HTTP conversation with the bot, for end-to-end tests."""

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
        self.url = bot_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.timeout = timeout

    # ------------------------------------------------------------- transport

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> BotResponse:
        """POST `body` signed like Slack; `headers` add or (with None) remove headers."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature(self.signing_secret if secret is None else secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        for name, value in (headers or {}).items():
            for existing in [k for k in sent if k.lower() == name.lower()]:
                del sent[existing]
            if value is not None:
                sent[name] = value
        request = urllib.request.Request(self.url, data=body, headers=sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return BotResponse(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return BotResponse(error.code, dict(error.headers.items()), error.read())

    def _post_payload(self, payload: dict) -> BotResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        response = self.signed_post(body, "application/x-www-form-urlencoded")
        response.payload = payload
        response.trigger_id = payload.get("trigger_id")
        response.response_url = payload.get("response_url")
        return response

    # ------------------------------------------------------------ who's who

    def _team(self) -> dict:
        domain = self.standin.workspace.team.get("domain", "standin")
        return {"id": self.team_id, "domain": domain}

    def _user(self, user_id: str) -> dict:
        name = self.standin.user(user_id)["name"]
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel(self, channel_id: str) -> dict:
        info = self.standin.channel(channel_id)
        return {"id": channel_id, "name": info.get("name") or ("directmessage" if info.get("is_im") else channel_id)}

    # -------------------------------------------------------------- commands

    def command(
        self, user_id: str, text: str, *, channel_id: str = "C0CE", command: str = "/ce"
    ) -> BotResponse:
        """A person runs `/ce text` in a channel; the ack body is shown as Slack shows it."""
        channel = self._channel(channel_id)
        user = self._user(user_id)
        response_url = self.standin.new_response_url(channel_id, user_id)
        trigger_id = self.standin.new_trigger_id(user_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self._team()["domain"],
            "channel_id": channel_id,
            "channel_name": channel["name"],
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        response = self.signed_post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        response.payload, response.trigger_id, response.response_url = fields, trigger_id, response_url
        if response.status == 200 and response.body.strip():
            # Slack shows a slash command's ack body to the user (or the channel, if in_channel).
            try:
                ack: Any = response.json()
            except ValueError:
                ack = response.text
            if ack and (not isinstance(ack, dict) or ack.get("text") or ack.get("blocks")):
                self.standin.apply_response(response_url, ack)
        return response

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
        blocks = (message or view or {}).get("blocks") or []
        block, element = _find_element(blocks, action_id)
        action = _action(block, element, option)
        trigger_id = self.standin.new_trigger_id(user_id)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
        }
        if message is not None:
            where = self.standin.locate(message["ts"]) or {}
            channel = channel_id or where.get("channel")
            if not channel:
                raise AssertionError(f"message {message['ts']} is not in the stand-in; pass channel_id=")
            is_ephemeral = bool(where.get("is_ephemeral"))
            thread_ts = message.get("thread_ts")
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": is_ephemeral,
            }
            if thread_ts:
                container["thread_ts"] = thread_ts
            payload["container"] = container
            payload["trigger_id"] = trigger_id
            payload["team"] = self._team()
            payload["enterprise"] = None
            payload["is_enterprise_install"] = False
            payload["channel"] = self._channel(channel)
            if not is_ephemeral:  # Slack leaves the message out for ephemeral ones
                payload["message"] = _as_message(message)
            payload["state"] = {"values": {}}
            payload["response_url"] = self.standin.new_response_url(
                channel, user_id, message_ts=message["ts"], thread_ts=thread_ts, is_ephemeral=is_ephemeral
            )
        else:
            assert view is not None
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["trigger_id"] = trigger_id
            payload["team"] = self._team()
            payload["enterprise"] = None
            payload["is_enterprise_install"] = False
            shown = _as_view(view)
            shown["state"] = {"values": _state_values(view, {})}
            payload["view"] = shown
        payload["actions"] = [action]
        return self._post_payload(payload)

    # ----------------------------------------------------------------- modals

    def submit(self, user_id: str, view: dict, values: dict[str, Any] | None = None) -> BotResponse:
        """A person fills in and submits a modal recorded by the stand-in.

        `values` maps an input's label text (e.g. "Organization ID") or block_id to what is typed
        (a select takes an option value or text; a multi-select a list). Other inputs keep what
        was typed before or their initial value. Refuses, as Slack's client would, to submit a
        required input left empty. The ack is then applied: no body closes the view,
        `response_action` errors/update/push/clear act like Slack."""
        state = _state_values(view, values or {})
        _check_required(view, state)
        self.standin.remember_view_state(view["id"], {"values": state})
        shown = _as_view(view)
        shown["state"] = {"values": state}
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.standin.new_trigger_id(user_id),
            "view": shown,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        response = self._post_payload(payload)
        if response.status == 200:
            try:
                ack = response.json() if response.body.strip() else None
            except ValueError:
                ack = None
            self.standin.apply_view_ack(user_id, view["id"], ack if isinstance(ack, dict) else None)
        return response

    def close(self, user_id: str, view: dict) -> BotResponse | None:
        """A person closes a modal. Slack tells the app (`view_closed`) only if `notify_on_close`."""
        cleared = self.standin.close_view(user_id, view["id"])
        if not view.get("notify_on_close"):
            return None
        shown = _as_view(view)
        shown["state"] = {"values": _state_values(view, {})}
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "view": shown,
            "is_cleared": cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload)

    # ----------------------------------------------------------------- events

    def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> BotResponse:
        """An Events API `event_callback` envelope (JSON), optionally as Slack's retry."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.standin.workspace.bot["user_id"],
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }
        headers: dict[str, str | None] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        response = self.signed_post(json.dumps(envelope).encode(), "application/json", headers=headers)
        response.payload = envelope
        return response

    def home_opened(self, user_id: str, **options: Any) -> BotResponse:
        """The person opens the app's Home tab (`app_home_opened`, with the published view if any)."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id[1:],
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.standin.home(user_id)
        if home is not None:
            event["view"] = home
        return self.event(event, **options)


# --------------------------------------------------------------- helpers


def _as_message(message: dict) -> dict:
    """The message as Slack puts it in a block_actions payload (no stand-in bookkeeping)."""
    shown = copy.deepcopy(message)
    for key in ("channel", "is_ephemeral"):
        shown.pop(key, None)
    return shown


def _as_view(view: dict) -> dict:
    return copy.deepcopy(view)


def _elements(block: dict) -> list[dict]:
    if block.get("type") == "actions":
        return [e for e in block.get("elements") or [] if isinstance(e, dict)]
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    return []


def _find_element(blocks: list[dict], action_id: str) -> tuple[dict, dict]:
    for block in blocks:
        for element in _elements(block):
            if element.get("action_id") == action_id:
                if block.get("type") == "input" and not block.get("dispatch_action"):
                    raise AssertionError(
                        f"{action_id!r} is in an input block without dispatch_action: Slack sends no block_actions"
                    )
                return block, element
    present = sorted({e.get("action_id") for b in blocks for e in _elements(b) if e.get("action_id")})
    raise AssertionError(f"no element with action_id {action_id!r}; there are: {present}")


def _options(element: dict) -> list[dict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _pick(element: dict, wanted: Any) -> dict:
    for candidate in _options(element):
        if wanted in (candidate.get("value"), (candidate.get("text") or {}).get("text")):
            return copy.deepcopy(candidate)
    choices = [o.get("value") for o in _options(element)]
    raise AssertionError(f"no option {wanted!r} in {element.get('action_id')!r}; options: {choices}")


def _action(block: dict, element: dict, option: str | None) -> dict:
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "type": element.get("type"),
        "action_ts": f"{time.time():.6f}",
    }
    kind = element.get("type")
    if kind == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif kind in _SINGLE_SELECTS or kind == "overflow":
        if option is None:
            raise AssertionError(f"{element['action_id']!r} is a {kind}: say which option=")
        action["selected_option"] = _pick(element, option)
        if "placeholder" in element:
            action["placeholder"] = copy.deepcopy(element["placeholder"])
    elif kind in _PICKERS:
        if option is None:
            raise AssertionError(f"{element['action_id']!r} is a {kind}: say which option=")
        action[_PICKERS[kind][0]] = option
    elif kind in _TEXT_INPUTS:
        action["value"] = option
    return action


def _input_blocks(view: dict) -> list[dict]:
    return [b for b in view.get("blocks") or [] if b.get("type") == "input" and isinstance(b.get("element"), dict)]


def _state_values(view: dict, typed: dict[str, Any]) -> dict[str, dict]:
    """view.state.values as Slack builds it: every input block, typed or kept or initial value."""
    inputs = _input_blocks(view)
    wanted = dict(typed)
    previous = ((view.get("state") or {}).get("values")) or {}
    values: dict[str, dict] = {}
    for block in inputs:
        element = block["element"]
        block_id, action_id, kind = block["block_id"], element["action_id"], element.get("type")
        label = (block.get("label") or {}).get("text")
        key = next((k for k in (block_id, label) if k is not None and k in wanted), None)
        if key is None and label is not None:
            key = next((k for k in wanted if k.strip().lower() == label.strip().lower()), None)
        earlier = previous.get(block_id, {}).get(action_id)
        if key is not None:
            entry = _typed_entry(element, wanted.pop(key))
        elif earlier is not None and earlier.get("type") == kind:
            entry = copy.deepcopy(earlier)
        else:
            entry = _initial_entry(element)
        values[block_id] = {action_id: entry}
    if wanted:
        labels = [((b.get("label") or {}).get("text"), b["block_id"]) for b in inputs]
        raise AssertionError(f"no input for {sorted(wanted)}; inputs (label, block_id): {labels}")
    return values


def _typed_entry(element: dict, value: Any) -> dict:
    kind = element.get("type")
    if kind in _TEXT_INPUTS:
        text = None if value is None else str(value)
        limit = element.get("max_length")
        if text is not None and limit is not None and len(text) > int(limit):
            raise AssertionError(
                f"Slack would not accept {len(text)} characters in {element['action_id']!r} (max {limit})"
            )
        return {"type": kind, "value": text}
    if kind in _SINGLE_SELECTS:
        return {"type": kind, "selected_option": None if value is None else _pick(element, value)}
    if kind in _MULTI_SELECTS:
        chosen = [value] if isinstance(value, str) else list(value or [])
        return {"type": kind, "selected_options": [_pick(element, v) for v in chosen]}
    if kind in _PICKERS:
        return {"type": kind, _PICKERS[kind][0]: value}
    raise AssertionError(f"the simulator cannot type into a {kind} element yet")


def _initial_entry(element: dict) -> dict:
    kind = element.get("type")
    if kind in _TEXT_INPUTS:
        return {"type": kind, "value": element.get("initial_value")}
    if kind in _SINGLE_SELECTS:
        return {"type": kind, "selected_option": copy.deepcopy(element.get("initial_option"))}
    if kind in _MULTI_SELECTS:
        return {"type": kind, "selected_options": copy.deepcopy(element.get("initial_options") or [])}
    if kind in _PICKERS:
        state_key, initial_key = _PICKERS[kind]
        return {"type": kind, state_key: element.get(initial_key)}
    return {"type": kind}


def _is_empty(entry: dict) -> bool:
    meaningful = [v for k, v in entry.items() if k != "type"]
    return all(v in (None, "", []) for v in meaningful)


def _check_required(view: dict, values: dict[str, dict]) -> None:
    for block in _input_blocks(view):
        if block.get("optional"):
            continue
        entry = values[block["block_id"]][block["element"]["action_id"]]
        if _is_empty(entry):
            label = (block.get("label") or {}).get("text") or block["block_id"]
            raise AssertionError(f"Slack would not submit: the required input {label!r} is empty")
        element = block["element"]
        minimum = element.get("min_length")
        if minimum is not None and len(entry.get("value") or "") < int(minimum):
            raise AssertionError(f"Slack would not submit: {element['action_id']!r} needs {minimum}+ characters")
