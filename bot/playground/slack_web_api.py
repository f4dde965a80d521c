"""Slack Web API methods answered from a `Workspace`, shaped like Slack's answers.

Each method is a function `(workspace, args) -> dict` registered in `METHODS`.
`args` arrive already decoded (form fields or JSON body, with `blocks`, `view`,
`files`… turned from JSON strings into lists/dicts). A refusal raises
`SlackError`. Transport, auth, recording and fault injection are the stand-in's
business (`slack_standin.py`).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from bot.playground.slack_workspace import SlackError, Workspace, flag

Method = Callable[[Workspace, dict], dict]
METHODS: dict[str, Method] = {}

# Arguments that Slack accepts as JSON-encoded strings inside form data.
JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")


def decode_args(args: dict[str, Any]) -> dict[str, Any]:
    """Turn JSON strings of structured arguments into data, as Slack does for form posts."""
    decoded = dict(args)
    for key in JSON_ARGS:
        value = decoded.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except json.JSONDecodeError:
                raise SlackError(
                    "invalid_blocks_format" if key == "blocks" else "invalid_arguments",
                    f"[ERROR] {key} is not valid JSON",
                ) from None
    return decoded


def method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name] = fn
        return fn

    return register


def _required(args: dict, key: str) -> Any:
    value = args.get(key)
    if value in (None, ""):
        raise SlackError("invalid_arguments", f"[ERROR] missing required field: {key}")
    return value


def _ok(**fields: Any) -> dict:
    return {"ok": True, **copy.deepcopy(fields)}


# ------------------------------------------------------------------------ auth


@method("api.test")
def api_test(ws: Workspace, args: dict) -> dict:
    return _ok(args={k: v for k, v in args.items() if isinstance(v, str)})


@method("auth.test")
def auth_test(ws: Workspace, args: dict) -> dict:
    return _ok(
        url=ws.base_url,
        team=ws.team["name"],
        user=ws.bot["name"],
        team_id=ws.team["id"],
        user_id=ws.bot["user_id"],
        bot_id=ws.bot["bot_id"],
        is_enterprise_install=False,
    )


# ------------------------------------------------------------------------ chat


@method("chat.postMessage")
def chat_post_message(ws: Workspace, args: dict) -> dict:
    channel, message = ws.post_message(
        _required(args, "channel"),
        text=args.get("text"),
        blocks=args.get("blocks"),
        attachments=args.get("attachments"),
        thread_ts=args.get("thread_ts") or None,
        reply_broadcast=flag(args.get("reply_broadcast")),
        metadata=args.get("metadata"),
    )
    return _ok(channel=channel, ts=message["ts"], message=message)


@method("chat.update")
def chat_update(ws: Workspace, args: dict) -> dict:
    channel, message = ws.update_message(
        _required(args, "channel"),
        _required(args, "ts"),
        text=args.get("text"),
        blocks=args.get("blocks"),
        attachments=args.get("attachments"),
    )
    return _ok(channel=channel, ts=message["ts"], text=message.get("text", ""), message=message)


@method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, args: dict) -> dict:
    message = ws.post_ephemeral(
        _required(args, "channel"),
        _required(args, "user"),
        text=args.get("text"),
        blocks=args.get("blocks"),
        attachments=args.get("attachments"),
        thread_ts=args.get("thread_ts") or None,
    )
    return _ok(message_ts=message["ts"])


@method("chat.delete")
def chat_delete(ws: Workspace, args: dict) -> dict:
    ts = _required(args, "ts")
    channel = ws.delete_message(_required(args, "channel"), ts)
    return _ok(channel=channel, ts=ts)


@method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, args: dict) -> dict:
    channel, ts = _required(args, "channel"), _required(args, "message_ts")
    message = ws.message(channel, ts)
    link = f"{ws.base_url}archives/{channel}/p{ts.replace('.', '')}"
    if message.get("thread_ts") and message["thread_ts"] != ts:
        link += f"?thread_ts={message['thread_ts']}&cid={channel}"
    return _ok(channel=channel, permalink=link)


# ----------------------------------------------------------------------- views


@method("views.open")
def views_open(ws: Workspace, args: dict) -> dict:
    view = ws.open_view(_required(args, "trigger_id"), _required(args, "view"))
    return _ok(view=view)


@method("views.push")
def views_push(ws: Workspace, args: dict) -> dict:
    view = ws.push_view(_required(args, "trigger_id"), _required(args, "view"))
    return _ok(view=view)


@method("views.update")
def views_update(ws: Workspace, args: dict) -> dict:
    view = ws.update_view(
        _required(args, "view"),
        view_id=args.get("view_id") or None,
        external_id=args.get("external_id") or None,
        hash=args.get("hash") or None,
    )
    return _ok(view=view)


@method("views.publish")
def views_publish(ws: Workspace, args: dict) -> dict:
    view = ws.publish_home(_required(args, "user_id"), _required(args, "view"), hash=args.get("hash") or None)
    return _ok(view=view)


# ----------------------------------------------------------------------- files


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ws: Workspace, args: dict) -> dict:
    file_id, token = ws.start_upload(
        args.get("filename"), args.get("length"), alt_txt=args.get("alt_txt"), snippet_type=args.get("snippet_type")
    )
    return _ok(upload_url=f"{ws.base_url}upload/v1/{token}", file_id=file_id)


@method("files.completeUploadExternal")
def files_complete_upload_external(ws: Workspace, args: dict) -> dict:
    channel = args.get("channel_id") or None
    if not channel and args.get("channels"):
        channel = str(args["channels"]).split(",")[0].strip() or None
    files = ws.complete_upload(
        _required(args, "files"),
        channel_id=channel,
        thread_ts=args.get("thread_ts") or None,
        initial_comment=args.get("initial_comment") or None,
        blocks=args.get("blocks"),
    )
    return _ok(files=files)


@method("files.info")
def files_info(ws: Workspace, args: dict) -> dict:
    return _ok(file=ws.file(_required(args, "file")), comments=[], response_metadata={"next_cursor": ""})


# --------------------------------------------------------------- conversations


@method("conversations.info")
def conversations_info(ws: Workspace, args: dict) -> dict:
    channel = _required(args, "channel")
    if channel.startswith(("U", "W")):
        raise SlackError("channel_not_found")
    return _ok(channel=ws.channel(channel)["info"])


@method("conversations.join")
def conversations_join(ws: Workspace, args: dict) -> dict:
    info = ws.channel(_required(args, "channel"))["info"]
    if info.get("is_im") or info.get("is_private"):
        raise SlackError("method_not_supported_for_channel_type")
    if info.get("is_archived"):
        raise SlackError("is_archived")
    already = info.get("is_member")
    info["is_member"] = True
    answer = _ok(channel=info)
    if already:
        answer["warning"] = "already_in_channel"
        answer["response_metadata"] = {"warnings": ["already_in_channel"]}
    return answer


@method("conversations.open")
def conversations_open(ws: Workspace, args: dict) -> dict:
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if args.get("channel"):
        return _ok(channel={"id": ws.channel(args["channel"])["info"]["id"]})
    if len(users) != 1:
        raise SlackError("invalid_arguments", "[ERROR] the stand-in opens DMs with one user only")
    return _ok(channel={"id": ws.channel(users[0])["info"]["id"]})


@method("conversations.history")
def conversations_history(ws: Workspace, args: dict) -> dict:
    limit = int(args.get("limit") or 100)
    messages = list(reversed(ws.history(_required(args, "channel"))))[:limit]
    return _ok(messages=messages, has_more=False, pin_count=0, response_metadata={"next_cursor": ""})


@method("conversations.replies")
def conversations_replies(ws: Workspace, args: dict) -> dict:
    thread = ws.replies(_required(args, "channel"), _required(args, "ts"))
    if not thread:
        raise SlackError("thread_not_found")
    return _ok(messages=thread, has_more=False, response_metadata={"next_cursor": ""})


# ----------------------------------------------------------------------- users


@method("users.info")
def users_info(ws: Workspace, args: dict) -> dict:
    return _ok(user=ws.user(_required(args, "user")))


@method("usergroups.users.list")
def usergroups_users_list(ws: Workspace, args: dict) -> dict:
    group = ws.usergroups.get(_required(args, "usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return _ok(users=group["users"])
