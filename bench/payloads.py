"""Signed Slack requests as raw HTTP/1.1 bytes, built before a measurement starts.

The shapes follow `tests/support/slack_requests.py` (Slack's documented
payloads): a slash command's form fields, a `block_actions` click on the
approval message's Approve button or on a `/ce list` row's Disable / Enable,
a `view_submission` of the IDs modal. The
message and modal are rendered by the bot's own views, so payload sizes are
what Slack would send back. Every server gets the same bytes.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urlencode

from bot.connection.model import Connection, OrgStatus, State
from bot.slack import ids
from bot.slack import operation_ids as ops_ids
from bot.slack.views.approval import approval_request
from bot.slack.views.modals import ids_modal
from bot.slack.views.organizations import list_page
from bot.store.connections import Listed
from bot.template.render import MANAGEMENT_ROLE_NAME, STACK_SET_NAME

VERIFICATION_TOKEN = "standin-verification-token"  # the deprecated `token` field Slack still sends

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
TEAM = "T0CE"
APP_ID = "A0CE"
CHANNEL = "C0CE"
REQUESTER = "U0REQ"
APPROVER = "U0APP"
APPROVERS = (APPROVER, "U0APP2")  # every server's CE_APPROVERS
PATH = "/slack/events"

# The AWS side of a benchmark connection
REGION = "us-east-1"
ROOT_ID = "r-ab12"
MANAGEMENT_ACCOUNT = "123456789012"


def role_arn(account: str) -> str:
    """The management role a connection's user deploys in `account`."""
    return f"arn:aws:iam::{account}:role/{MANAGEMENT_ROLE_NAME}"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def http_post(host: str, body: bytes, content_type: str, secret: str, timestamp: int | None = None) -> bytes:
    """One signed POST /slack/events, keep-alive, as raw bytes."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    head = (
        f"POST {PATH} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n"
        f"Content-Type: {content_type}\r\n"
        f"X-Slack-Request-Timestamp: {timestamp}\r\n"
        f"X-Slack-Signature: {signature(secret, timestamp, body)}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


def _form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user(user_id: str) -> dict:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM}


def command_body(text: str, base_url: str, user: str = REQUESTER) -> bytes:
    token = secrets.token_hex(8)
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "team_domain": "standin",
        "channel_id": CHANNEL,
        "channel_name": "ce-connections",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ce",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"{base_url}commands/{TEAM}/{token}",
        "trigger_id": f"{int(time.time())}.{token}",
    }
    return urlencode(fields).encode()


def pending_connection(conn_id: str, org_id: str, accounts: int = 50) -> Connection:
    now = time.time()
    return Connection(
        id=conn_id,
        state=State.PENDING_APPROVAL,
        requester=REQUESTER,
        channel=CHANNEL,
        created_at=now,
        updated_at=now,
        org_id=org_id,
        root_id=ROOT_ID,
        external_id="e" * 32,
        stack_set_name=STACK_SET_NAME,
        region=REGION,
        role_arn=role_arn(MANAGEMENT_ACCOUNT),
        management_account_id=MANAGEMENT_ACCOUNT,
        account_count=accounts,
    )


def connected_connection(conn_id: str, org_id: str, status: OrgStatus) -> Connection:
    """A connected organization, `status` (active or inactive), as `/ce list` shows it."""
    conn = pending_connection(conn_id, org_id)
    return dataclasses.replace(conn, state=State.CONNECTED, status=status.value, decided_by=APPROVER,
                               decided_at=conn.updated_at)  # fmt: skip


def approve_click_body(conn: Connection, base_url: str, approvers=(APPROVER,), user: str = APPROVER) -> bytes:
    """A click on Approve in the approval message posted for `conn` (in the connection's channel)."""
    message = approval_request(conn, approvers)
    ts = _message_ts()
    shown = {"type": "message", "ts": ts, "user": "U0CEBOT", "bot_id": "B0CEBOT", "app_id": APP_ID, **message}
    container = {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False}
    return _form(_block_actions(user, container, _clicked(message, ids.APPROVE), base_url, message=shown))


def toggle_click_body(conn: Connection, base_url: str, user: str = APPROVER) -> bytes:
    """A click on Disable (`conn` active) or Enable (inactive) in the first row of a `/ce list` page:
    an ephemeral message, of which Slack's payload carries no copy."""
    page = list_page([Listed(conn)])
    action_id = ops_ids.DISABLE if conn.status == OrgStatus.ACTIVE.value else ops_ids.ENABLE
    container = {"type": "message", "message_ts": _message_ts(), "channel_id": CHANNEL, "is_ephemeral": True}
    return _form(_block_actions(user, container, _clicked(page, action_id), base_url))


def _message_ts() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**6):06d}"


def _clicked(message: dict, action_id: str) -> dict:
    """The `actions` entry Slack sends for a click on the button `action_id` of `message`."""
    block, element = next(
        (b, e) for b in message["blocks"] if b.get("type") == "actions" for e in b["elements"] if e.get("action_id") == action_id
    )
    action = {
        "action_id": action_id,
        "block_id": block["block_id"],
        "type": "button",
        "text": copy.deepcopy(element.get("text")),
        "value": element["value"],
        "action_ts": f"{time.time():.6f}",
    }
    if "style" in element:
        action["style"] = element["style"]
    return action


def _block_actions(user: str, container: dict, action: dict, base_url: str, message: dict | None = None) -> dict:
    token = secrets.token_hex(8)
    payload = {
        "type": "block_actions",
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": f"{int(time.time())}.{token}",
        "team": {"id": TEAM, "domain": "standin"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": CHANNEL, "name": "ce-connections"},
        **({"message": message} if message is not None else {}),
        "state": {"values": {}},
        "response_url": f"{base_url}actions/{TEAM}/{token}",
        "actions": [action],
    }
    return payload


def view_submission_body(view: dict, typed: dict[str, str], user: str = REQUESTER) -> bytes:
    """`view` (as the bot opened it) submitted with `typed` (block_id -> text) in its text inputs."""
    view_id = "V" + secrets.token_hex(5).upper()
    values = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        if element["type"] == "static_select":
            entry = {"type": "static_select", "selected_option": copy.deepcopy(element.get("initial_option"))}
        else:
            entry = {"type": element["type"], "value": typed.get(block["block_id"])}
        values[block["block_id"]] = {element["action_id"]: entry}
    shown = {
        **copy.deepcopy(view),
        "id": view_id,
        "team_id": TEAM,
        "app_id": APP_ID,
        "bot_id": "B0CEBOT",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "root_view_id": view_id,
        "previous_view_id": None,
        "external_id": "",
        "state": {"values": values},
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "standin"},
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}",
        "view": shown,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form(payload)


def ids_submission_body(conn_id: str, org_id: str, root_id: str = ROOT_ID, user: str = REQUESTER) -> bytes:
    """The IDs modal of `conn_id`, submitted with `org_id` and `root_id` typed in."""
    return view_submission_body(ids_modal(conn_id), {ids.ORGANIZATION_ID_BLOCK: org_id, ids.ROOT_ID_BLOCK: root_id}, user)


FORM = "application/x-www-form-urlencoded"
