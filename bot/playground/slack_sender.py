"""Slack's side of the conversation with the app: signed requests built from the stand-in's workspace.

The playground page asks for "Alex clicks this button" or "Sam submits this
modal"; `SlackSender` turns that into exactly what Slack would POST to the
app's request URL (`/slack/events`): a slash command's form fields, a
`block_actions`, `view_submission` or `view_closed` payload, or an Events API
envelope, signed with the app's signing secret. Trigger IDs and response URLs
come from the stand-in, and the app's answer is applied the way Slack applies
it (a slash command's ack body becomes a message; a view submission's
`response_action` closes, updates or pushes the modal, or shows errors).

Everything a payload carries about a message or a view (blocks, button
values, private_metadata) is taken from the stand-in's record, never from the
page: only what a person can change (typed text, a chosen option) comes from
the page, as it would from Slack's own client.

Standard library only. `tests/support/slack_requests.py` builds on it for the tests:
the payload builders and helpers are shared, the tests' client only adds stricter
checks (``strict=True``) and a transport that keeps response headers.
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

VERIFICATION_TOKEN = "playground-verification-token"  # the deprecated `token` field Slack still sends
REQUIRED = "Please complete this required field."

TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
SINGLE_SELECTS = ("static_select", "external_select", "radio_buttons")
MULTI_SELECTS = ("multi_static_select", "multi_external_select", "checkboxes")
# element type → (state key, initial key) for pickers whose value is a single ID or string
PICKERS = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
}


class PayloadError(ValueError):
    """What the page asked for does not exist (no such message, view or element) or is not allowed."""


@dataclass
class Delivery:
    """The app's HTTP answer to one request Slack sent it."""

    status: int
    body: bytes
    payload: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200

    def json(self) -> Any:
        text = self.body.decode("utf-8", "replace").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def ack_of(answer: Any) -> Any:
    """The app's ack body (JSON, else text, else None) if it answered 200."""
    if answer.status != 200 or not answer.body.strip():
        return None
    try:
        return json.loads(answer.body)
    except ValueError:
        return answer.body.decode("utf-8", "replace").strip()


class SlackSender:
    """Sends the app what Slack sends when a person acts in the (stand-in) workspace."""

    token = VERIFICATION_TOKEN
    default_domain = "playground"

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        standin: SlackStandIn,
        *,
        timeout: float = 10.0,
        team_id: str | None = None,
        app_id: str | None = None,
    ):
        self.url = app_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.timeout = timeout
        self._team_id = team_id  # None: the stand-in workspace's
        self._app_id = app_id

    # ------------------------------------------------------------- transport

    answers_unreachable = True  # an app that cannot be reached is an answer with status 0, not an error

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> Any:
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
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return self._answer(answer.status, dict(answer.headers.items()), answer.read(), started)
        except urllib.error.HTTPError as error:
            with error:
                return self._answer(error.code, dict(error.headers.items()), error.read(), started)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            if not self.answers_unreachable:
                raise
            return self._answer(0, {}, str(error).encode(), started)

    def _answer(self, status: int, headers: dict[str, str], body: bytes, started: float) -> Any:
        return Delivery(status, body, elapsed=time.monotonic() - started)

    def _post(self, body: bytes, content_type: str, payload: dict, headers: dict | None = None) -> Any:
        answer = self.signed_post(body, content_type, headers=headers)
        answer.payload = payload
        return answer

    def _post_payload(self, payload: dict) -> Any:
        return self._post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded", payload)

    # ------------------------------------------------------------ who's who

    @property
    def team_id(self) -> str:
        return self._team_id or self.standin.workspace.team["id"]

    @property
    def app_id(self) -> str:
        return self._app_id or self.standin.workspace.bot["app_id"]

    def _team(self) -> dict:
        return {"id": self.team_id, "domain": self.standin.workspace.team.get("domain", self.default_domain)}

    def _user(self, user_id: str) -> dict:
        name = self.standin.user(user_id)["name"]
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel(self, channel_id: str) -> dict:
        info = self.standin.channel(channel_id)
        return {"id": channel_id, "name": info.get("name") or ("directmessage" if info.get("is_im") else channel_id)}

    # -------------------------------------------------------------- commands

    def command(self, user_id: str, command: str, text: str, *, channel_id: str) -> Delivery:
        """A person runs `command text` in a channel; the ack body is shown as Slack shows it."""
        channel = self._channel(channel_id)
        user = self._user(user_id)
        response_url = self.standin.new_response_url(channel_id, user_id)
        fields = {
            "token": self.token,
            "team_id": self.team_id,
            "team_domain": self._team()["domain"],
            "channel_id": channel_id,
            "channel_name": channel["name"],
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.standin.new_trigger_id(user_id),
        }
        delivery = self._post(urlencode(fields).encode(), "application/x-www-form-urlencoded", fields)
        ack = ack_of(delivery)
        if ack and (not isinstance(ack, dict) or ack.get("text") or ack.get("blocks")):
            # Slack shows a slash command's ack body to the user (or the channel, if in_channel).
            self.standin.apply_response(response_url, ack)
        return delivery

    # ---------------------------------------------------------------- clicks

    def click_message(
        self, user_id: str, ts: str, *, block_id: str, action_id: str, option: str | None = None
    ) -> Delivery:
        """A person clicks an element of a message (in a channel, a thread, or an ephemeral they see)."""
        where = self.standin.locate(ts)
        if where is None:
            raise PayloadError("no such message")
        if where["is_ephemeral"]:
            if where.get("user") != user_id:
                raise PayloadError("that message is only visible to someone else")
            message = next((m for m in self.standin.ephemerals(user_id) if m["ts"] == ts), None)
        else:
            message = self.standin.message(where["channel"], ts)
        if message is None:
            raise PayloadError("no such message")
        block, element = find_element(message.get("blocks") or [], block_id, action_id)
        is_ephemeral = bool(where["is_ephemeral"])
        return self._message_action(user_id, message, where["channel"], is_ephemeral, block, element, option)

    def _block_actions(self, user_id: str, container: dict) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": self.token,
            "container": container,
            "trigger_id": self.standin.new_trigger_id(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _message_action(
        self,
        user_id: str,
        message: dict,
        channel: str,
        is_ephemeral: bool,
        block: dict,
        element: dict,
        option: str | None,
    ) -> Any:
        """block_actions for a click on `element` of `message` (as recorded) in `channel`."""
        ts, thread_ts = message["ts"], message.get("thread_ts")
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        action = action_of(block, element, option)
        payload = self._block_actions(user_id, container)
        payload["channel"] = self._channel(channel)
        if not is_ephemeral:  # Slack leaves the message out for ephemeral ones
            shown = copy.deepcopy(message)
            for key in ("channel", "is_ephemeral"):  # stand-in bookkeeping
                shown.pop(key, None)
            payload["message"] = shown
        payload["state"] = {"values": {}}
        payload["response_url"] = self.standin.new_response_url(
            channel, user_id, message_ts=ts, thread_ts=thread_ts, is_ephemeral=is_ephemeral
        )
        payload["actions"] = [action]
        return self._post_payload(payload)

    def click_view(
        self,
        user_id: str,
        view_id: str,
        *,
        block_id: str,
        action_id: str,
        option: str | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Delivery:
        """A person clicks an element in an open modal or in their App Home."""
        view = self._users_view(user_id, view_id)
        block, element = find_element(view.get("blocks") or [], block_id, action_id)
        return self._view_action(user_id, view, block, element, option, state_values(view, typed or {}))

    def _view_action(
        self, user_id: str, view: dict, block: dict, element: dict, option: str | None, state: dict
    ) -> Any:
        """block_actions for a click on `element` of an open `view` whose inputs hold `state`."""
        action = action_of(block, element, option)
        payload = self._block_actions(user_id, {"type": "view", "view_id": view["id"]})
        payload["view"] = _shown(view, state)
        payload["actions"] = [action]
        return self._post_payload(payload)

    def _users_view(self, user_id: str, view_id: str) -> dict:
        stack = self.standin.open_views(user_id)
        view = next((v for v in stack if v["id"] == view_id), None)
        if view is None:
            home = self.standin.home(user_id)
            if home is not None and home["id"] == view_id:
                view = home
        if view is None:
            raise PayloadError("that view is not open for this user")
        return view

    # ----------------------------------------------------------------- modals

    def submit(self, user_id: str, view_id: str, typed: dict[str, Any]) -> tuple[Delivery | None, dict[str, str]]:
        """A person submits their top modal with what they typed (block_id → text or option value).

        Returns (delivery, errors). Like Slack's client, a required input left empty is refused
        before anything is sent (delivery None, errors by block_id). Otherwise the app's ack is
        applied: no body closes the view, `response_action` errors/update/push/clear act like Slack."""
        stack = self.standin.open_views(user_id)
        if not stack or stack[-1]["id"] != view_id:
            raise PayloadError("that modal is not the one on top for this user")
        view = stack[-1]
        state = state_values(view, typed)
        self.standin.remember_view_state(view_id, {"values": state})
        missing = missing_inputs(view, state)
        if missing:
            return None, missing
        delivery, ack = self._submission(user_id, view, state)
        errors: dict[str, str] = {}
        if ack and ack.get("response_action") == "errors":
            errors = {str(k): str(v) for k, v in (ack.get("errors") or {}).items()}
        return delivery, errors

    def _view_payload(self, kind: str, user_id: str, view: dict, state: dict) -> dict[str, Any]:
        return {
            "type": kind,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": self.token,
            "view": _shown(view, state),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _submission(self, user_id: str, view: dict, state: dict) -> tuple[Any, dict | None]:
        """view_submission of `view` holding `state`; the ack (a dict, or None) is applied like Slack does."""
        payload = self._view_payload("view_submission", user_id, view, state)
        payload["trigger_id"] = self.standin.new_trigger_id(user_id)
        payload["response_urls"] = []
        delivery = self._post_payload(payload)
        ack = None
        if delivery.status == 200:
            ack = ack_of(delivery)
            ack = ack if isinstance(ack, dict) else None
            self.standin.apply_view_ack(user_id, view["id"], ack)
        return delivery, ack

    def close(self, user_id: str, view_id: str) -> Delivery | None:
        """A person closes a modal. Slack tells the app (`view_closed`) only if `notify_on_close`."""
        return self._closed(user_id, self._users_view(user_id, view_id))

    def _closed(self, user_id: str, view: dict) -> Any:
        cleared = self.standin.close_view(user_id, view["id"])
        if not view.get("notify_on_close"):
            return None
        payload = self._view_payload("view_closed", user_id, view, state_values(view, {}))
        payload["is_cleared"] = cleared
        return self._post_payload(payload)

    # ----------------------------------------------------------------- events

    def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """An Events API `event_callback` envelope (JSON), optionally as Slack's retry."""
        envelope = {
            "token": self.token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
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
        return self._post(json.dumps(envelope).encode(), "application/json", envelope, headers)

    def home_opened(self, user_id: str) -> Delivery:
        """The person opens the app's Home tab (`app_home_opened`, with the published view if any)."""
        self.standin.user(user_id)
        return self.event(self._home_event(user_id))

    def _home_event(self, user_id: str) -> dict[str, Any]:
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
        return event


# --------------------------------------------------------------- helpers
#
# `strict=False` is the playground page (a form: empty means not filled in, over-long text is cut
# like Slack's client cuts it, unknown keys are ignored); `strict=True` is a test saying exactly
# what a person does, and refuses anything Slack's client would not let them do.


def _shown(view: dict, state: dict) -> dict:
    """The view as a payload carries it, with its inputs' state."""
    shown = copy.deepcopy(view)
    shown["state"] = {"values": state}
    return shown


def _label(block: dict) -> str | None:
    return (block.get("label") or {}).get("text")


def elements_of(block: dict) -> list[dict]:
    if block.get("type") == "actions":
        return [e for e in block.get("elements") or [] if isinstance(e, dict)]
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    return []


def find_element(blocks: list[dict], block_id: str | None, action_id: str) -> tuple[dict, dict]:
    """The block and element `action_id` (in block `block_id`, or in any block if None)."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in elements_of(block):
            if element.get("action_id") == action_id:
                if block.get("type") == "input" and not block.get("dispatch_action"):
                    raise PayloadError(
                        f"{action_id!r} is in an input block without dispatch_action: "
                        "it sends nothing until the modal is submitted"
                    )
                return block, element
    present = sorted({e.get("action_id") for b in blocks for e in elements_of(b) if e.get("action_id")})
    where = "" if block_id is None else f" in block {block_id!r}"
    raise PayloadError(f"no element with action_id {action_id!r}{where}; there are: {present}")


def options_of(element: dict) -> list[dict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def pick(element: dict, wanted: Any) -> dict:
    """The option whose value (or, failing that, text) is `wanted`."""
    options = options_of(element)
    for candidate in options:
        if wanted == candidate.get("value"):
            return copy.deepcopy(candidate)
    for candidate in options:
        if wanted == (candidate.get("text") or {}).get("text"):
            return copy.deepcopy(candidate)
    choices = [o.get("value") for o in options]
    raise PayloadError(f"no option {wanted!r} in {element.get('action_id')!r}; options: {choices}")


def action_of(block: dict, element: dict, option: str | None) -> dict:
    """The `actions[0]` Slack sends for a click on `element` (values from the record, not the page)."""
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "type": element.get("type"),
        "action_ts": f"{time.time():.6f}",
    }
    kind = element.get("type")
    if kind in ("button", "workflow_button"):
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif kind in SINGLE_SELECTS or kind == "overflow" or kind in PICKERS:
        if option is None:
            raise PayloadError(f"{element['action_id']!r} is a {kind}: choose an option")
        if kind in PICKERS:
            action[PICKERS[kind][0]] = option
        else:
            action["selected_option"] = pick(element, option)
            if "placeholder" in element:
                action["placeholder"] = copy.deepcopy(element["placeholder"])
    elif kind in TEXT_INPUTS:
        action["value"] = option
    else:
        raise PayloadError(f"cannot click a {kind} element")
    return action


def input_blocks(view: dict) -> list[dict]:
    return [b for b in view.get("blocks") or [] if b.get("type") == "input" and isinstance(b.get("element"), dict)]


def state_values(view: dict, typed: dict[str, Any], *, strict: bool = False) -> dict[str, dict]:
    """view.state.values as Slack builds it: every input block, with what was typed, or kept, or initial.

    `typed` maps a block_id or an input's label (any case) to what is typed or chosen."""
    inputs = input_blocks(view)
    wanted = dict(typed)
    previous = ((view.get("state") or {}).get("values")) or {}
    values: dict[str, dict] = {}
    for block in inputs:
        element = block["element"]
        block_id, action_id, label = block["block_id"], element["action_id"], _label(block)
        key = next((k for k in (block_id, label) if k is not None and k in wanted), None)
        if key is None and label is not None:
            key = next((k for k in wanted if isinstance(k, str) and k.strip().lower() == label.strip().lower()), None)
        earlier = previous.get(block_id, {}).get(action_id)
        if key is not None:
            entry = typed_entry(element, wanted.pop(key), strict=strict)
        elif earlier is not None and earlier.get("type") == element.get("type"):
            entry = copy.deepcopy(earlier)
        else:
            entry = initial_entry(element)
        values[block_id] = {action_id: entry}
    if wanted and strict:
        labels = [(_label(b), b["block_id"]) for b in inputs]
        raise PayloadError(f"no input for {sorted(wanted)}; inputs (label, block_id): {labels}")
    return values


def typed_entry(element: dict, value: Any, *, strict: bool = False) -> dict:
    kind = element.get("type")
    if not strict and value == "":
        value = None  # a form field left empty
    if kind in TEXT_INPUTS:
        text = None if value is None else str(value)
        limit = element.get("max_length")
        if text is not None and limit is not None and len(text) > int(limit):
            if strict:
                raise PayloadError(
                    f"Slack would not accept {len(text)} characters in {element['action_id']!r} (max {limit})"
                )
            text = text[: int(limit)]  # Slack's client stops typing at max_length
        return {"type": kind, "value": text}
    if kind in SINGLE_SELECTS:
        return {"type": kind, "selected_option": None if value is None else pick(element, value)}
    if kind in MULTI_SELECTS:
        chosen = [value] if isinstance(value, str) else list(value or [])
        return {"type": kind, "selected_options": [pick(element, v) for v in chosen]}
    if kind in PICKERS:
        return {"type": kind, PICKERS[kind][0]: value}
    if strict:
        raise PayloadError(f"cannot type into a {kind} element")
    return initial_entry(element)


def initial_entry(element: dict) -> dict:
    kind = element.get("type")
    if kind in TEXT_INPUTS:
        return {"type": kind, "value": element.get("initial_value")}
    if kind in SINGLE_SELECTS:
        return {"type": kind, "selected_option": copy.deepcopy(element.get("initial_option"))}
    if kind in MULTI_SELECTS:
        return {"type": kind, "selected_options": copy.deepcopy(element.get("initial_options") or [])}
    if kind in PICKERS:
        state_key, initial_key = PICKERS[kind]
        return {"type": kind, state_key: element.get(initial_key)}
    return {"type": kind}


def missing_inputs(view: dict, values: dict[str, dict]) -> dict[str, str]:
    """What Slack's client refuses to submit: required inputs left empty, text under min_length."""
    errors: dict[str, str] = {}
    for block in input_blocks(view):
        element = block["element"]
        entry = values[block["block_id"]][element["action_id"]]
        empty = all(v in (None, "", []) for k, v in entry.items() if k != "type")
        if empty:
            if not block.get("optional"):
                errors[block["block_id"]] = REQUIRED
            continue
        minimum = element.get("min_length")
        if minimum is not None and len(entry.get("value") or "") < int(minimum):
            errors[block["block_id"]] = f"Please enter at least {int(minimum)} characters."
    return errors
