"""Short messages: usage, refusals and errors, in plain words."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Iterable

from bot.connection.model import Connection, State
from bot.slack.views.text import code, mention, mention_approver, when
from bot.slack.views.thread import STEP

USAGE = (
    "*Cloud Entitlements bot* — connect AWS Organizations from Slack.\n"
    "• `/ce connect aws-org` — start a guided connection in this channel: IDs, a CloudFormation "
    "template made for you, the role ARN, validation, then an approver's decision\n"
    "• `/ce list` — every organization: status, member accounts, who connected and approved it, last health "
    "check, with Enable/Disable and Details buttons\n"
    "• `/ce status &lt;org-id&gt;` — one organization: member accounts, last check results, history\n"
    "• `/ce enable &lt;org-id&gt;` / `/ce disable &lt;org-id&gt;` — the organization's status; member accounts follow "
    "(approvers only)\n"
    "• `/ce disconnect &lt;org-id&gt;` — remove the organization, after a confirmation, with the clean-up steps "
    "for AWS (approvers only)\n"
    "• `/ce cancel [&lt;org-id&gt;]` — stop a connection in flight (yours, or any if you are an approver)\n"
    "• `/ce help` — this message"
)


def usage(unknown: str = "") -> str:
    if unknown:
        return f"I don't know {code(unknown[:100])}.\n\n{USAGE}"
    return USAGE


STORE_UNAVAILABLE = (
    ":warning: The bot's state store is unavailable right now, so nothing was changed. Try again in a minute."
)
STORE_TIMED_OUT = (
    ":warning: The bot's state store is unavailable right now: it did not answer in time, so I can't tell "
    "whether this went through. Look again in a minute, then try again if nothing changed."
)
TOO_LATE = (
    ":warning: That reached me too late (the bot was busy or restarting), so I did nothing. "
    "Click or type it again."
)
INTERRUPTED = (
    ":warning: I was interrupted while doing that (the bot restarted). Check with `/ce list` or "
    "`/ce status <org-id>`, and click or type it again if it did not happen."
)
SOMETHING_WENT_WRONG = ":warning: Something went wrong on our side and nothing was changed. Try again in a minute."
NOT_FOUND = "I can't find that connection any more. Start a new one with `/ce connect aws-org`."


def moved_on(conn: Connection) -> str:
    """Why an action no longer applies: the connection has moved on."""
    if conn.state is State.CONNECTED:
        return f"{code(conn.org_id)} was already approved by {mention(conn.decided_by)} {when(conn.decided_at)}."
    if conn.state is State.REJECTED:
        reason = code(conn.reject_reason) if conn.reject_reason else "no reason given"
        return f"This connection was already rejected by {mention(conn.decided_by)} {when(conn.decided_at)}: {reason}"
    if conn.state is State.CANCELLED:
        return "This connection was cancelled. Start a new one with `/ce connect aws-org`."
    if conn.state is State.EXPIRED:
        return "This connection expired. Start a new one with `/ce connect aws-org`."
    if conn.state is State.VALIDATING:
        return "Validation is running; the checklist in the thread shows its progress."
    return f"This connection has moved on: {STEP[conn.state]}."


def only_requester(conn: Connection) -> str:
    return f"Only {mention(conn.requester)}, who started this connection, can do that."


def only_approvers(conn: Connection, user_id: str, approvers: Iterable[str]) -> str:
    if user_id == conn.requester:
        return "You started this connection, so another approver has to decide (four-eyes)."
    names = ", ".join(mention_approver(a) for a in sorted(approvers))
    return f"Only approvers can decide on a connection: {names}."


def organization_taken(org_id: str, holder: Connection | None) -> str:
    """A modal field error: plain text (Slack shows no mentions or dates there)."""
    if holder is not None and holder.state is State.CONNECTED:
        return f"{org_id} is already connected to Cloud Entitlements. Disconnect it before connecting it again."
    if holder is not None:
        started = datetime.fromtimestamp(holder.created_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"{org_id} is already being connected (started {started}). Finish or cancel that connection first."
    return f"{org_id} is already connected or being connected."


def _plain_step(conn: Connection) -> str:
    return re.sub(r":[a-z_]+: ", "", STEP[conn.state])


def modal_refusal(refusal: str, conn: Connection | None, *, who: str) -> str:
    """Why a modal's submission was refused, in plain text (modal errors show no formatting).

    `who` says who may do this step, e.g. "the person who started this connection".
    """
    if refusal == "replayed":
        return "This form was already submitted. Close it; the connection's thread shows where it stands."
    if refusal == "not_found" or conn is None:
        return "This connection no longer exists. Start a new one with /ce connect aws-org."
    if refusal == "not_allowed":
        return f"Only {who} can do this."
    return f"This connection has moved on ({_plain_step(conn)}). Close this window."
