"""The fake Slack workspace behind the Web API stand-in.

Everything Slack would hold for one workspace and one app: users, channels with
their messages and threads, ephemeral messages per user, open modal stacks per
user, the published App Home per user, uploaded files with their bytes, user
groups, and the short-lived things Slack issues (trigger IDs, response URLs,
upload URLs).

The state is plain data (dicts, lists, strings, numbers) shaped the way Slack
shapes it on the wire, so a test can compare it with what Slack would send and
the playground can render it as JSON. File bytes live apart from the file
objects.

Not thread-safe by itself: `SlackStandIn` holds one lock around every use.
Refusals raise `SlackError`, which the stand-in turns into Slack's
`{"ok": false, "error": ...}` answer.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
import time
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_BUTTON_VALUE = 2000
MAX_PRIVATE_METADATA = 3000
MAX_TITLE = 24
MAX_VIEW_STACK = 3
MAX_TEXT = 40000
TRIGGER_TTL = 3.0

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits

# Element types that carry an action_id (Slack generates one when it is missing).
_INTERACTIVE = {
    "button", "checkboxes", "datepicker", "datetimepicker", "timepicker", "overflow",
    "radio_buttons", "plain_text_input", "email_text_input", "url_text_input",
    "number_input", "rich_text_input", "file_input", "static_select", "external_select",
    "users_select", "conversations_select", "channels_select", "multi_static_select",
    "multi_external_select", "multi_users_select", "multi_conversations_select",
    "multi_channels_select", "workflow_button",
}

# filename extension → (filetype, pretty_type, mimetype) as Slack reports them
_FILE_TYPES = {
    "yaml": ("yaml", "YAML", "text/plain"),
    "yml": ("yaml", "YAML", "text/plain"),
    "json": ("json", "JSON", "application/json"),
    "txt": ("text", "Plain Text", "text/plain"),
    "csv": ("csv", "CSV", "text/csv"),
    "md": ("markdown", "Markdown (raw)", "text/plain"),
    "py": ("python", "Python", "text/plain"),
    "png": ("png", "PNG", "image/png"),
    "pdf": ("pdf", "PDF", "application/pdf"),
}


class SlackError(Exception):
    """A refusal the way Slack words it: `error` code, optional detail messages, HTTP status."""

    def __init__(self, error: str, *messages: str, status: int = 200):
        super().__init__(error if not messages else f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = list(messages)
        self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def new_id(prefix: str, n: int = 10) -> str:
    """A Slack-looking ID: `F07ABCD1234`, `V0123ABCDEF`…"""
    return prefix + _random(_UPPER, n)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def file_types(filename: str) -> tuple[str, str, str]:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _FILE_TYPES.get(ext, (ext or "binary", (ext or "binary").upper(), "application/octet-stream"))


class Workspace:
    """One Slack workspace with one installed app (the bot)."""

    def __init__(
        self,
        *,
        team_id: str = "T0CE",
        team_name: str = "CE Playground",
        team_domain: str = "ce-playground",
        app_id: str = "A0CE",
        bot_user_id: str = "U0CEBOT",
        bot_id: str = "B0CEBOT",
        bot_name: str = "ce-bot",
    ):
        self.team = {"id": team_id, "name": team_name, "domain": team_domain}
        self.bot = {"user_id": bot_user_id, "bot_id": bot_id, "app_id": app_id, "name": bot_name}
        self.base_url = "http://127.0.0.1/"  # set by the stand-in once it listens
        self.trigger_ttl = TRIGGER_TTL
        self._last_ts_us = 0
        self.clear()
        self.add_user(bot_user_id, bot_name, real_name=bot_name, is_bot=True)
        self.add_channel("C0CE", "ce-connections")

    # ------------------------------------------------------------------ state

    def clear(self, *, keep_directory: bool = False) -> None:
        """Forget messages, views, files, triggers; keep users, channels and groups if asked."""
        if not keep_directory:
            self.users: dict[str, dict] = {}
            self.channels: dict[str, dict] = {}
            self.usergroups: dict[str, dict] = {}
        else:
            for channel in self.channels.values():
                channel["messages"] = []
        self.ephemerals: dict[str, list[dict]] = {}
        self.views: dict[str, list[dict]] = {}
        self.view_errors: dict[str, dict] = {}
        self.homes: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.file_data: dict[str, bytes] = {}
        self.pending_uploads: dict[str, dict] = {}  # upload token → {file_id, filename, length…}
        self.triggers: dict[str, dict] = {}
        self.response_urls: dict[str, dict] = {}

    def snapshot(self) -> dict[str, Any]:
        """The whole workspace as JSON-able data (file bytes excluded; sizes are in the files)."""
        return copy.deepcopy(
            {
                "team": self.team,
                "bot": self.bot,
                "users": list(self.users.values()),
                "channels": [
                    {"info": c["info"], "messages": c["messages"]} for c in self.channels.values()
                ],
                "ephemerals": self.ephemerals,
                "views": self.views,
                "view_errors": self.view_errors,
                "homes": self.homes,
                "files": list(self.files.values()),
                "usergroups": list(self.usergroups.values()),
            }
        )

    def next_ts(self) -> str:
        """Slack's message timestamp: epoch seconds with 6 decimals, unique and increasing."""
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    # -------------------------------------------------------------- directory

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        tz: str = "Europe/London",
    ) -> dict:
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        user = {
            "id": user_id,
            "team_id": self.team["id"],
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {
                "real_name": real_name,
                "display_name": name,
                "real_name_normalized": real_name,
                "display_name_normalized": name,
                "email": email or f"{name}@example.com",
                "image_48": "",
                "team": self.team["id"],
            },
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        if is_bot:
            user["profile"]["bot_id"] = self.bot["bot_id"]
            user["profile"].pop("email")
        self.users[user_id] = user
        return user

    def user(self, user_id: str) -> dict:
        """A known user; a well-formed unknown ID (U…/W…) joins the workspace on first sight."""
        if user_id in self.users:
            return self.users[user_id]
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            raise SlackError("user_not_found")
        return self.add_user(user_id)

    def add_channel(
        self, channel_id: str, name: str | None = None, *, is_private: bool = False, bot_is_member: bool = True
    ) -> dict:
        name = name or channel_id.lower()
        info = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "created": int(time.time()),
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "name_normalized": name,
            "creator": "",
            "is_member": bot_is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        self.channels[channel_id] = {"info": info, "messages": []}
        return self.channels[channel_id]

    def _add_im(self, user_id: str) -> dict:
        channel_id = "D" + user_id[1:]
        if channel_id not in self.channels:
            info = {
                "id": channel_id,
                "created": int(time.time()),
                "is_im": True,
                "is_org_shared": False,
                "user": user_id,
                "is_user_deleted": False,
                "priority": 0,
            }
            self.channels[channel_id] = {"info": info, "messages": []}
        return self.channels[channel_id]

    def channel(self, channel_id: Any) -> dict:
        """A channel record `{"info", "messages"}` by ID or `#name`; a user ID means the app's DM with that user.

        A well-formed unknown channel ID (C…/G…) is created on first use with the bot as a member,
        so tests need not declare every channel; declare one with `add_channel` to change that.
        """
        if not isinstance(channel_id, str) or not channel_id:
            raise SlackError("channel_not_found")
        if channel_id in self.channels:
            return self.channels[channel_id]
        if channel_id.startswith("#"):
            for record in self.channels.values():
                if record["info"].get("name") == channel_id[1:]:
                    return record
            raise SlackError("channel_not_found")
        if _USER_ID.match(channel_id):
            self.user(channel_id)
            return self._add_im(channel_id)
        if _CHANNEL_ID.match(channel_id):
            if channel_id.startswith("D"):
                raise SlackError("channel_not_found")
            return self.add_channel(channel_id, is_private=channel_id.startswith("G"))
        raise SlackError("channel_not_found")

    def set_usergroup(self, group_id: str, users: list[str], *, handle: str | None = None) -> dict:
        group = {
            "id": group_id,
            "team_id": self.team["id"],
            "handle": handle or group_id.lower(),
            "name": handle or group_id,
            "is_usergroup": True,
            "users": list(users),
            "user_count": len(users),
            "date_delete": 0,
        }
        self.usergroups[group_id] = group
        return group

    # --------------------------------------------------------------- messages

    def _find(self, channel_id: str, ts: str) -> tuple[dict, int]:
        record = self.channel(channel_id)
        for i, message in enumerate(record["messages"]):
            if message.get("ts") == ts:
                return record, i
        raise SlackError("message_not_found")

    def message(self, channel_id: str, ts: str) -> dict:
        record, i = self._find(channel_id, ts)
        return record["messages"][i]

    def locate(self, ts: str) -> dict | None:
        """Where a message with this ts lives: {channel, is_ephemeral, user?, thread_ts?}."""
        for channel_id, record in self.channels.items():
            for message in record["messages"]:
                if message.get("ts") == ts:
                    return {"channel": channel_id, "is_ephemeral": False, "thread_ts": message.get("thread_ts")}
        for user_id, messages in self.ephemerals.items():
            for message in messages:
                if message.get("ts") == ts:
                    return {
                        "channel": message["channel"],
                        "is_ephemeral": True,
                        "user": user_id,
                        "thread_ts": message.get("thread_ts"),
                    }
        return None

    def _bot_fields(self) -> dict:
        return {
            "user": self.bot["user_id"],
            "bot_id": self.bot["bot_id"],
            "app_id": self.bot["app_id"],
            "bot_profile": {
                "id": self.bot["bot_id"],
                "app_id": self.bot["app_id"],
                "name": self.bot["name"],
                "deleted": False,
                "team_id": self.team["id"],
            },
        }

    def _content(self, text: Any, blocks: Any, attachments: Any, *, required: bool = True) -> dict:
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        content: dict[str, Any] = {}
        if text is not None:
            content["text"] = str(text)
        if blocks is not None:
            content["blocks"] = with_ids(blocks, limit=MAX_MESSAGE_BLOCKS, error="invalid_blocks")
        if attachments is not None:
            if not isinstance(attachments, list):
                raise SlackError("invalid_attachments")
            content["attachments"] = copy.deepcopy(attachments)
        return content

    def post_message(
        self,
        channel_id: str,
        *,
        text: Any = None,
        blocks: Any = None,
        attachments: Any = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        metadata: Any = None,
        user_id: str | None = None,
        files: list[dict] | None = None,
    ) -> tuple[str, dict]:
        """Post as the bot (or as `user_id`, for a person typing in the playground)."""
        record = self.channel(channel_id)
        info = record["info"]
        if user_id is None and not info.get("is_im") and not info.get("is_member"):
            raise SlackError("not_in_channel")
        if info.get("is_archived"):
            raise SlackError("is_archived")
        message: dict[str, Any] = {"type": "message", "ts": self.next_ts()}
        message.update(self._content(text, blocks, attachments, required=not files))
        message.setdefault("text", "")
        if user_id is None:
            message.update(self._bot_fields())
        else:
            self.user(user_id)
            message["user"] = user_id
        message["team"] = self.team["id"]
        if metadata:
            message["metadata"] = copy.deepcopy(metadata)
        if files:
            message["files"] = copy.deepcopy(files)
            message["upload"] = True
            message["display_as_bot"] = False
        if thread_ts:
            parent = next((m for m in record["messages"] if m.get("ts") == thread_ts), None)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                thread_ts = parent["thread_ts"]  # a reply to a reply lands in the same thread
                parent = next((m for m in record["messages"] if m.get("ts") == thread_ts), None)
            message["thread_ts"] = thread_ts
            if parent is not None:
                message["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if message["user"] not in users:
                    users.append(message["user"])
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = message["ts"]
            if reply_broadcast:
                message["subtype"] = "thread_broadcast"
        record["messages"].append(message)
        return info["id"], message

    def update_message(
        self, channel_id: str, ts: str, *, text: Any = None, blocks: Any = None, attachments: Any = None
    ) -> tuple[str, dict]:
        record, i = self._find(channel_id, ts)
        message = record["messages"][i]
        if message.get("bot_id") != self.bot["bot_id"]:
            raise SlackError("cant_update_message")
        if text is None and blocks is None and attachments is None:
            raise SlackError("no_text")
        # Like chat.update: fields left out keep their value; an empty list removes blocks.
        message.update(self._content(text, blocks, attachments, required=False))
        if blocks == []:
            message.pop("blocks", None)
        message["edited"] = {"user": self.bot["user_id"], "ts": self.next_ts()}
        return record["info"]["id"], message

    def delete_message(self, channel_id: str, ts: str, *, as_bot: bool = True) -> str:
        record, i = self._find(channel_id, ts)
        message = record["messages"][i]
        if as_bot and message.get("bot_id") != self.bot["bot_id"]:
            raise SlackError("cant_delete_message")
        if message.get("reply_count"):
            # a parent with replies stays as a tombstone, as in Slack
            record["messages"][i] = {
                "type": "message",
                "subtype": "tombstone",
                "text": "This message was deleted.",
                "user": "USLACKBOT",
                "hidden": True,
                "ts": ts,
                "thread_ts": ts,
                "reply_count": message["reply_count"],
                "reply_users": message.get("reply_users", []),
                "reply_users_count": message.get("reply_users_count", 0),
                "latest_reply": message.get("latest_reply"),
            }
            return record["info"]["id"]
        del record["messages"][i]
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            parent = next((m for m in record["messages"] if m.get("ts") == thread_ts), None)
            if parent is not None:
                replies = [m for m in record["messages"] if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]
                parent["reply_count"] = len(replies)
                parent["latest_reply"] = replies[-1]["ts"] if replies else None
                if not replies:
                    for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
                        parent.pop(key, None)
        return record["info"]["id"]

    def history(self, channel_id: str) -> list[dict]:
        """What the channel shows: top-level messages and broadcast replies, oldest first."""
        return [
            m
            for m in self.channel(channel_id)["messages"]
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]

    def replies(self, channel_id: str, thread_ts: str) -> list[dict]:
        """The thread: its parent first, then the replies, oldest first."""
        return [
            m
            for m in self.channel(channel_id)["messages"]
            if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
        ]

    def post_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        *,
        text: Any = None,
        blocks: Any = None,
        attachments: Any = None,
        thread_ts: str | None = None,
    ) -> dict:
        record = self.channel(channel_id)
        self.user(user_id)
        message: dict[str, Any] = {"type": "message", "subtype": "ephemeral", "ts": self.next_ts()}
        message.update(self._content(text, blocks, attachments))
        message.setdefault("text", "")
        message.update(self._bot_fields())
        message["channel"] = record["info"]["id"]
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.ephemerals.setdefault(user_id, []).append(message)
        return message

    def _ephemeral(self, user_id: str, ts: str) -> tuple[list[dict], int]:
        messages = self.ephemerals.get(user_id, [])
        for i, message in enumerate(messages):
            if message["ts"] == ts:
                return messages, i
        raise SlackError("message_not_found")

    # --------------------------------------------------------------- triggers

    def issue_trigger(self, user_id: str | None, *, age: float = 0.0) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = {"user": user_id, "issued": time.monotonic() - age, "used": False}
        return trigger_id

    def exchange_trigger(self, trigger_id: Any) -> str | None:
        """The user the trigger was issued for; a trigger is single use and lives `trigger_ttl` s."""
        trigger = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger["used"]:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger["issued"] > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger["used"] = True
        return trigger["user"]

    # ------------------------------------------------------------------ views

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{_random(_ALNUM, 8)}"

    def _build_view(self, spec: Any, *, view_id: str, root_view_id: str | None, previous_view_id: str | None) -> dict:
        if not isinstance(spec, dict):
            raise SlackError("invalid_arguments", "[ERROR] missing required field: view")
        kind = spec.get("type")
        if kind not in ("modal", "home"):
            raise SlackError("invalid_arguments", "[ERROR] must provide a valid view type [json-pointer:/view/type]")
        blocks = with_ids(
            spec.get("blocks") or [], limit=MAX_VIEW_BLOCKS, error="invalid_arguments", pointer="/view/blocks"
        )
        metadata = spec.get("private_metadata") or ""
        if len(str(metadata)) > MAX_PRIVATE_METADATA:
            raise SlackError(
                "invalid_arguments",
                f"[ERROR] must be less than {MAX_PRIVATE_METADATA} characters [json-pointer:/view/private_metadata]",
            )
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team["id"],
            "type": kind,
            "blocks": blocks,
            "private_metadata": str(metadata),
            "callback_id": spec.get("callback_id") or "",
            "state": {"values": {}},
            "hash": self._new_hash(),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": self.bot["app_id"],
            "external_id": spec.get("external_id") or "",
            "app_installed_team_id": self.team["id"],
            "bot_id": self.bot["bot_id"],
        }
        if kind == "modal":
            title = spec.get("title")
            if not isinstance(title, dict) or not title.get("text"):
                raise SlackError(
                    "invalid_arguments", "[ERROR] missing required field: title [json-pointer:/view/title]"
                )
            for field in ("title", "submit", "close"):
                value = spec.get(field)
                if isinstance(value, dict) and len(_text_of(value)) > MAX_TITLE:
                    raise SlackError(
                        "invalid_arguments",
                        f"[ERROR] must be less than {MAX_TITLE + 1} characters [json-pointer:/view/{field}/text]",
                    )
            if any(b.get("type") == "input" for b in blocks) and not spec.get("submit"):
                raise SlackError(
                    "invalid_arguments",
                    "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]",
                )
            view["title"] = copy.deepcopy(title)
            view["close"] = copy.deepcopy(spec.get("close"))
            view["submit"] = copy.deepcopy(spec.get("submit"))
        elif spec.get("title"):
            view["title"] = copy.deepcopy(spec["title"])
        return view

    def _check_external_id(self, external_id: str, *, except_view: str | None = None) -> None:
        if not external_id:
            return
        for view in self._all_views():
            if view.get("external_id") == external_id and view["id"] != except_view:
                raise SlackError("duplicate_external_id")

    def _all_views(self) -> list[dict]:
        return [v for stack in self.views.values() for v in stack] + list(self.homes.values())

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> tuple[str, dict]:
        """(user, view) for an open modal or a published Home."""
        for user_id, stack in self.views.items():
            for view in stack:
                if (view_id and view["id"] == view_id) or (external_id and view.get("external_id") == external_id):
                    return user_id, view
        for user_id, view in self.homes.items():
            if (view_id and view["id"] == view_id) or (external_id and view.get("external_id") == external_id):
                return user_id, view
        raise SlackError("not_found")

    def open_view(self, trigger_id: Any, spec: Any) -> dict:
        user_id = self.exchange_trigger(trigger_id) or "UNKNOWN"
        if not isinstance(spec, dict) or spec.get("type") != "modal":
            raise SlackError("invalid_arguments", "[ERROR] views.open only opens modals [json-pointer:/view/type]")
        self._check_external_id(spec.get("external_id") or "")
        view = self._build_view(spec, view_id=new_id("V"), root_view_id=None, previous_view_id=None)
        self.views[user_id] = [view]
        return view

    def push_view(self, trigger_id: Any, spec: Any) -> dict:
        user_id = self.exchange_trigger(trigger_id) or "UNKNOWN"
        stack = self.views.get(user_id) or []
        if not stack:
            raise SlackError("not_found", "[ERROR] no open modal to push onto")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        return self._push(user_id, spec)

    def _push(self, user_id: str, spec: Any) -> dict:
        stack = self.views[user_id]
        if not isinstance(spec, dict) or spec.get("type") != "modal":
            raise SlackError("invalid_arguments", "[ERROR] only modals can be pushed [json-pointer:/view/type]")
        self._check_external_id(spec.get("external_id") or "")
        view = self._build_view(
            spec, view_id=new_id("V"), root_view_id=stack[0]["id"], previous_view_id=stack[-1]["id"]
        )
        stack.append(view)
        return view

    def update_view(
        self, spec: Any, *, view_id: str | None = None, external_id: str | None = None, hash: str | None = None
    ) -> dict:
        if not view_id and not external_id:
            raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
        user_id, current = self.find_view(view_id, external_id)
        if hash and hash != current["hash"]:
            raise SlackError("hash_conflict")
        if isinstance(spec, dict) and spec.get("type") != current["type"]:
            raise SlackError("invalid_arguments", "[ERROR] the view type cannot change [json-pointer:/view/type]")
        if isinstance(spec, dict):
            self._check_external_id(spec.get("external_id") or "", except_view=current["id"])
        view = self._build_view(
            spec,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        view["state"] = current.get("state", {"values": {}})
        self._replace_view(user_id, current["id"], view)
        return view

    def _replace_view(self, user_id: str, view_id: str, view: dict) -> None:
        stack = self.views.get(user_id, [])
        for i, existing in enumerate(stack):
            if existing["id"] == view_id:
                stack[i] = view
                return
        if self.homes.get(user_id, {}).get("id") == view_id:
            self.homes[user_id] = view

    def publish_home(self, user_id: Any, spec: Any, *, hash: str | None = None) -> dict:
        if not isinstance(user_id, str) or not user_id:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: user_id")
        self.user(user_id)
        if not isinstance(spec, dict) or spec.get("type") != "home":
            raise SlackError(
                "invalid_arguments", "[ERROR] views.publish only publishes home views [json-pointer:/view/type]"
            )
        current = self.homes.get(user_id)
        if current is not None and hash and hash != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current else new_id("V")
        view = self._build_view(spec, view_id=view_id, root_view_id=None, previous_view_id=None)
        self.homes[user_id] = view
        return view

    def close_view(self, user_id: str, view_id: str) -> bool:
        """The user closed a modal: it (and anything above it) goes; `clear_on_close` closes the stack.

        Returns whether the whole stack was cleared (`is_cleared` in `view_closed`)."""
        stack = self.views.get(user_id, [])
        for i, view in enumerate(stack):
            if view["id"] == view_id:
                cleared = bool(view.get("clear_on_close")) or i == 0
                self.views[user_id] = [] if view.get("clear_on_close") else stack[:i]
                self.view_errors.pop(view_id, None)
                return cleared
        return False

    def remember_state(self, view_id: str, state: dict) -> None:
        """Keep what the user typed in an open view (Slack keeps it across updates)."""
        for view in self._all_views():
            if view["id"] == view_id:
                view["state"] = copy.deepcopy(state)

    def apply_view_ack(self, user_id: str, view_id: str, response: dict | None) -> None:
        """What Slack does with the app's answer to a view_submission."""
        stack = self.views.get(user_id, [])
        index = next((i for i, v in enumerate(stack) if v["id"] == view_id), None)
        if index is None:
            return
        action = (response or {}).get("response_action")
        if action == "errors":
            self.view_errors[view_id] = copy.deepcopy(response.get("errors") or {})
            return
        self.view_errors.pop(view_id, None)
        if action == "update":
            current = stack[index]
            view = self._build_view(
                response.get("view"),
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
            stack[index] = view
        elif action == "push":
            if len(stack) >= MAX_VIEW_STACK:
                raise SlackError("push_limit_reached")
            self.views[user_id] = stack[: index + 1]
            self._push(user_id, response.get("view"))
        elif action == "clear":
            self.views[user_id] = []
        else:
            self.views[user_id] = stack[:index]

    # ------------------------------------------------------------------ files

    def start_upload(
        self, filename: Any, length: Any, *, alt_txt: Any = None, snippet_type: Any = None
    ) -> tuple[str, str]:
        if not filename:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: filename")
        try:
            size = int(length)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", "[ERROR] missing required field: length") from None
        if size < 0:
            raise SlackError("invalid_arguments", "[ERROR] length must be positive")
        file_id = new_id("F")
        token = secrets.token_urlsafe(16)
        self.pending_uploads[token] = {
            "file_id": file_id,
            "filename": str(filename),
            "length": size,
            "alt_txt": alt_txt,
            "snippet_type": snippet_type,
            "data": None,
        }
        return file_id, token

    def receive_upload(self, token: str, data: bytes) -> str:
        pending = self.pending_uploads.get(token)
        if pending is None:
            raise SlackError("invalid_upload_url", status=404)
        pending["data"] = data
        return pending["file_id"]

    def _file_object(self, pending: dict, title: str | None) -> dict:
        file_id, name = pending["file_id"], pending["filename"]
        filetype, pretty, mimetype = file_types(name)
        now = int(time.time())
        base = self.base_url
        team = self.team["id"]
        obj = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title or name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty,
            "user": self.bot["user_id"],
            "user_team": team,
            "editable": False,
            "size": len(pending["data"]),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}files-pri/{team}-{file_id}/{name}",
            "url_private_download": f"{base}files-pri/{team}-{file_id}/download/{name}",
            "permalink": f"{base}files/{self.bot['user_id']}/{file_id}/{name}",
            "permalink_public": f"{base}{team}-{file_id}-{secrets.token_hex(5)}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [],
            "groups": [],
            "ims": [],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if pending.get("alt_txt"):
            obj["alt_txt"] = pending["alt_txt"]
        return obj

    def complete_upload(
        self,
        files: Any,
        *,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        initial_comment: str | None = None,
        blocks: Any = None,
    ) -> list[dict]:
        """Finish uploads; with a channel, one message carrying the files appears there.

        Returns the file objects as Slack does right after completion: `shares` still empty
        (Slack shares the file asynchronously; `files.info` shows the shares)."""
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: files")
        if thread_ts and not channel_id:
            raise SlackError("invalid_arguments", "[ERROR] thread_ts requires channel_id")
        by_id = {p["file_id"]: (token, p) for token, p in self.pending_uploads.items()}
        ready: list[tuple[str, dict, str | None]] = []
        for item in files:
            if not isinstance(item, dict) or item.get("id") not in by_id:
                raise SlackError("file_not_found")
            token, pending = by_id[item["id"]]
            if pending["data"] is None:
                raise SlackError("file_not_found", "[ERROR] nothing was uploaded to the upload URL of this file")
            ready.append((token, pending, item.get("title")))
        if channel_id:
            record = self.channel(channel_id)
            if not record["info"].get("is_im") and not record["info"].get("is_member"):
                raise SlackError("not_in_channel")
        completed = []
        for token, pending, title in ready:
            obj = self._file_object(pending, title)
            self.files[obj["id"]] = obj
            self.file_data[obj["id"]] = pending["data"]
            del self.pending_uploads[token]
            completed.append(copy.deepcopy(obj))
        if channel_id:
            cid, message = self.post_message(
                channel_id,
                text=initial_comment or "",
                blocks=blocks,
                thread_ts=thread_ts,
                files=[self.files[f["id"]] for f in completed],
            )
            info = self.channel(cid)["info"]
            share = {
                "reply_users": [],
                "reply_users_count": 0,
                "reply_count": 0,
                "ts": message["ts"],
                "channel_name": info.get("name", ""),
                "team_id": self.team["id"],
                "share_user_id": self.bot["user_id"],
                "source": "UNKNOWN",
            }
            if message.get("thread_ts"):
                share["thread_ts"] = message["thread_ts"]
            kind = "private" if info.get("is_private") or info.get("is_im") else "public"
            for f in completed:
                obj = self.files[f["id"]]
                obj["shares"] = {kind: {cid: [dict(share)]}}
                obj["channels" if kind == "public" else ("ims" if info.get("is_im") else "groups")] = [cid]
                obj["is_public"] = kind == "public"
            message["files"] = copy.deepcopy([self.files[f["id"]] for f in completed])
        return completed

    def file(self, file_id: Any) -> dict:
        if file_id not in self.files:
            raise SlackError("file_not_found")
        return self.files[file_id]

    # ---------------------------------------------------------- response URLs

    def issue_response_url(
        self,
        channel_id: str,
        user_id: str,
        *,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url path (relative to the stand-in's base URL) and its context."""
        kind = "actions" if message_ts else "commands"
        path = f"{kind}/{self.team['id']}/{secrets.randbelow(10**12)}/{secrets.token_urlsafe(18)}"
        self.response_urls[path] = {
            "channel": channel_id,
            "user": user_id,
            "message_ts": message_ts,
            "thread_ts": thread_ts,
            "is_ephemeral": is_ephemeral,
        }
        return path

    def respond(self, path: str, payload: Any) -> dict:
        """Apply a message sent to a response_url (or an ack body of a slash command).

        `replace_original` / `delete_original` act on the message the action came from (an
        ephemeral one stays ephemeral); otherwise `response_type` picks a new ephemeral
        message for the user (default) or a message in the channel (`in_channel`).
        Returns what happened: {"action": "replaced"|"deleted"|"ephemeral"|"in_channel", "ts"}.
        """
        context = self.response_urls.get(path)
        if context is None:
            raise SlackError("invalid_url", status=404)
        if isinstance(payload, str):
            payload = {"text": payload}
        if not isinstance(payload, dict):
            raise SlackError("invalid_payload", status=400)
        channel_id, user_id, original = context["channel"], context["user"], context["message_ts"]
        thread_ts = payload.get("thread_ts") or context["thread_ts"]
        if flag(payload.get("delete_original")):
            if original:
                if context["is_ephemeral"]:
                    messages, i = self._ephemeral(user_id, original)
                    del messages[i]
                else:
                    self.delete_message(channel_id, original, as_bot=False)
            return {"action": "deleted", "ts": original}
        text, blocks, attachments = payload.get("text"), payload.get("blocks"), payload.get("attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text", status=400)
        if flag(payload.get("replace_original")) and original:
            content = self._content(text, blocks, attachments)
            if context["is_ephemeral"]:
                messages, i = self._ephemeral(user_id, original)
                target = messages[i]
            else:
                target = self.message(channel_id, original)
            for key in ("text", "blocks", "attachments"):
                target.pop(key, None)
            target.update(content)
            target.setdefault("text", "")
            return {"action": "replaced", "ts": original}
        if payload.get("response_type") == "in_channel":
            _, message = self.post_message(
                channel_id, text=text, blocks=blocks, attachments=attachments, thread_ts=thread_ts
            )
            return {"action": "in_channel", "ts": message["ts"]}
        message = self.post_ephemeral(
            channel_id, user_id, text=text, blocks=blocks, attachments=attachments, thread_ts=thread_ts
        )
        return {"action": "ephemeral", "ts": message["ts"]}


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def with_ids(blocks: Any, *, limit: int, error: str, pointer: str = "/blocks") -> list[dict]:
    """Validate blocks the way Slack does and fill in missing block_id / action_id."""
    if not isinstance(blocks, list):
        raise SlackError(error, f"[ERROR] must be an array [json-pointer:{pointer}]")
    if len(blocks) > limit:
        raise SlackError(error, f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    blocks = copy.deepcopy(blocks)
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError(error, f"[ERROR] missing required field: type [json-pointer:{where}]")
        block_id = block.setdefault("block_id", _random(_ALNUM, 5))
        if block_id in seen:
            raise SlackError(error, f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
        seen.add(block_id)
        elements: list[tuple[str, Any]] = []
        if block["type"] == "actions":
            elements = [(f"{where}/elements/{j}", e) for j, e in enumerate(block.get("elements") or [])]
        elif block["type"] == "section" and isinstance(block.get("accessory"), dict):
            elements = [(f"{where}/accessory", block["accessory"])]
        elif block["type"] == "input":
            if not isinstance(block.get("element"), dict) or not isinstance(block.get("label"), dict):
                raise SlackError(error, f"[ERROR] input blocks need a label and an element [json-pointer:{where}]")
            elements = [(f"{where}/element", block["element"])]
        actions: set[str] = set()
        for at, element in elements:
            if not isinstance(element, dict) or element.get("type") not in _INTERACTIVE:
                continue
            action_id = element.setdefault("action_id", _random(_ALNUM, 5))
            if action_id in actions:
                raise SlackError(error, f"[ERROR] duplicate action_id {action_id!r} [json-pointer:{at}/action_id]")
            actions.add(action_id)
            if element["type"] == "button" and len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
                raise SlackError(
                    error, f"[ERROR] must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{at}/value]"
                )
    return blocks
