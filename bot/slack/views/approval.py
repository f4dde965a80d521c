"""The approval request: Approve / Reject for approvers, then who decided."""

from __future__ import annotations

from typing import Iterable

from bot.connection.model import Connection, State
from bot.slack import ids
from bot.slack.views.text import (
    actions,
    button,
    code,
    confirm_dialog,
    context,
    mention,
    mention_approver,
    section,
    when,
)


def _summary(conn: Connection) -> str:
    return (
        f"*Organization* {code(conn.org_id)} · *root* {code(conn.root_id)}\n"
        f"*Management account* {code(conn.management_account_id)} · *accounts* {conn.account_count}\n"
        f"*Role* {code(conn.role_arn)}\n"
        f"*Requested by* {mention(conn.requester)} {when(conn.created_at)}"
    )


def approval_request(conn: Connection, approvers: Iterable[str], thread_link: str = "") -> dict:
    who = " ".join(mention_approver(a) for a in sorted(approvers))
    head = f":raising_hand: *Approval needed:* connect {code(conn.org_id)} to Cloud Entitlements. {who}"
    blocks = [section(head), section(_summary(conn))]
    if thread_link:
        blocks.append(context(f"Every check passed. <{thread_link}|Open the connection's thread>"))
    else:
        blocks.append(context("Every check passed. Only an approver other than the requester can decide."))
    blocks.append(actions("decision", *decision_buttons(conn)))
    return {"text": f"Approval needed: connect {conn.org_id} to Cloud Entitlements", "blocks": blocks}


def decision_buttons(conn: Connection) -> list[dict]:
    """Approve (behind a confirmation) and Reject: the same wherever an approver decides."""
    return [
        button(
            "Approve",
            ids.APPROVE,
            conn.id,
            style="primary",
            confirm=confirm_dialog(
                "Approve this connection?",
                f"{conn.org_id} and its {conn.account_count} accounts become active in Cloud Entitlements.",
                "Approve",
            ),
        ),
        button("Reject", ids.REJECT, conn.id, style="danger"),
    ]


def decision_text(conn: Connection) -> str:
    if conn.state is State.CONNECTED:
        return f":white_check_mark: Approved by {mention(conn.decided_by)} {when(conn.decided_at)}"
    if conn.state is State.REJECTED:
        reason = code(conn.reject_reason) if conn.reject_reason else "no reason given"
        return f":no_entry: Rejected by {mention(conn.decided_by)} {when(conn.decided_at)}: {reason}"
    if conn.state is State.CANCELLED:
        return ":heavy_multiplication_x: The connection was cancelled before a decision."
    if conn.state is State.EXPIRED:
        return ":hourglass: The connection expired before a decision."
    return f"Connection is {conn.state.value.replace('_', ' ')}."


def approval_decided(conn: Connection) -> dict:
    """The approval message once decided: who decided, and no buttons."""
    text = decision_text(conn)
    return {
        "text": f"{conn.org_id}: {text}",
        "blocks": [section(f"*Connect {code(conn.org_id)} to Cloud Entitlements*"), section(_summary(conn)), section(text)],
    }
