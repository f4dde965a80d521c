"""Small text helpers shared by the views: escaping, mentions, dates."""

from __future__ import annotations

import time


def escape(text: str) -> str:
    """Slack mrkdwn escaping, so user text can't become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    return f"<@{user_id}>" if user_id else "someone"


def mention_approver(approver_id: str) -> str:
    """An approver may be a user (U…/W…) or a user group (S…)."""
    return f"<!subteam^{approver_id}>" if approver_id.startswith("S") else f"<@{approver_id}>"


def when(epoch: float) -> str:
    """A date Slack shows in each reader's time zone, with a UTC fallback."""
    seconds = int(epoch)
    fallback = "%04d-%02d-%02d %02d:%02d UTC" % time.gmtime(seconds)[:5]
    return f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{fallback}>"


def code(text: str) -> str:
    """`text` as inline code: escaped, and with no backtick or line break that could end the span early
    (inside it, `*bold*` and the like stay as typed). The way to show user text back."""
    if not text:
        return "—"
    return "`" + escape(" ".join(text.splitlines())).replace("`", "\u02cb") + "`"


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def button(text: str, action_id: str, value: str, *, style: str = "", confirm: dict | None = None) -> dict:
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, *elements: dict) -> dict:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def confirm_dialog(title: str, text: str, confirm: str, deny: str = "Go back", *, danger: bool = False) -> dict:
    dialog = {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": {"type": "mrkdwn", "text": text[:300]},
        "confirm": {"type": "plain_text", "text": confirm[:30]},
        "deny": {"type": "plain_text", "text": deny[:30]},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def plain(text: str, limit: int) -> str:
    """plain_text fields have hard limits; cut with an ellipsis rather than fail."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
