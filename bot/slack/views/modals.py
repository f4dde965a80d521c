"""Modals: organization and root IDs, role ARN (with the stack's region), rejection reason."""

from __future__ import annotations

from bot.connection.model import Connection
from bot.connection.regions import offered
from bot.slack import ids
from bot.slack.views.text import code, plain, section


def _text_input(block_id: str, label: str, *, placeholder: str, hint: str, max_length: int, multiline=False) -> dict:
    element = {
        "type": "plain_text_input",
        "action_id": ids.INPUT_ACTION,
        "placeholder": {"type": "plain_text", "text": placeholder},
        "max_length": max_length,
    }
    if multiline:
        element["multiline"] = True
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "hint": {"type": "plain_text", "text": hint},
        "element": element,
    }


def _modal(callback_id: str, conn_id: str, title: str, submit: str, blocks: list[dict]) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": conn_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def ids_modal(conn_id: str) -> dict:
    return _modal(
        ids.IDS_MODAL,
        conn_id,
        "Organization IDs",
        "Next",
        [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Both IDs are in the *management account* → AWS Organizations → *AWS accounts* "
                    "(the root ID is next to *Root*) and *Settings* (organization ID).",
                },
            },
            _text_input(
                ids.ORGANIZATION_ID_BLOCK,
                "Organization ID",
                placeholder="o-a1b2c3d4e5",
                hint="o- followed by 10 to 32 lowercase letters or digits.",
                max_length=34,
            ),
            _text_input(
                ids.ROOT_ID_BLOCK,
                "Root ID",
                placeholder="r-ab12",
                hint="r- followed by 4 to 32 lowercase letters or digits. Every account under the root is covered.",
                max_length=34,
            ),
        ],
    )


def role_modal(conn: Connection) -> dict:
    region_option = lambda r: {"text": {"type": "plain_text", "text": r}, "value": r}  # noqa: E731
    return _modal(
        ids.ROLE_MODAL,
        conn.id,
        "Role ARN",
        "Validate",
        [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Organization {code(conn.org_id)}: paste *RoleArn* from the stack's *Outputs* tab.",
                },
            },
            _text_input(
                ids.ROLE_ARN_BLOCK,
                "Role ARN",
                placeholder="arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole",
                hint="The role the stack created in the management account.",
                max_length=2048,
            ),
            {
                "type": "input",
                "block_id": ids.REGION_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Region of the stack"},
                "hint": {"type": "plain_text", "text": "Where you created the stack; its StackSet lives there too."},
                "element": {
                    "type": "static_select",
                    "action_id": ids.INPUT_ACTION,
                    "initial_option": region_option(conn.region),
                    "options": [region_option(r) for r in offered(conn.region)],
                },
            },
        ],
    )


def reject_modal(conn: Connection) -> dict:
    return _modal(
        ids.REJECT_MODAL,
        conn.id,
        "Reject connection",
        "Reject",
        [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"Reject connecting {code(conn.org_id)}? The requester sees your reason."},
            },
            _text_input(
                ids.REASON_BLOCK,
                "Reason",
                placeholder="Why is this connection rejected?",
                hint="Shown in the connection's thread.",
                max_length=500,
                multiline=True,
            ),
        ],
    )


def message_modal(title: str, blocks: list[dict], *, close: str = "Close") -> dict:
    """A modal that only shows `blocks` (Slack takes 100 at most, and a 24-character title)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": plain(title, 24)},
        "close": {"type": "plain_text", "text": close},
        "blocks": blocks[:100],
    }


def notice_modal(title: str, text: str) -> dict:
    """A modal that only says something; `text` is mrkdwn the bot wrote (user text already escaped)."""
    return message_modal(title, [section(text)])
