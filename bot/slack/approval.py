"""Approve / Reject buttons on the approval request.

Only approvers decide, never the requester (unless self-approval is
allowed); the decision is one atomic transition, so two approvers clicking
together yield exactly one decision and the other is told who decided.
Approve decides on the ack path (the transition enqueues the announcement);
Reject is handed to the worker, which asks for a reason in a modal.
"""

from __future__ import annotations

from bot.connection.model import State
from bot.slack import ids
from bot.slack.after_ack import after_ack, handed_over
from bot.slack.app import action_connection_id, services_of, tell, tell_soon
from bot.slack.views import messages
from bot.slack.views.modals import reject_modal
from bot.store.connections import Refusal, TransitionResult


def register(router) -> None:
    router.action(ids.APPROVE, approve)
    router.action(ids.REJECT, handed_over(open_reject_modal))


async def approve(ack, body, client, context) -> None:
    services = services_of(context)
    user = body["user"]["id"]
    is_approver = await services.approvers.includes_async(user)
    result = await services.ack_flow.approve(action_connection_id(body), actor=user, is_approver=is_approver)
    await ack()
    if not result.ok:
        tell_soon(body, client, refusal_text(result, user, services.approvers.ids))


@after_ack
def open_reject_modal(body, client, context, respond) -> None:
    """Check before asking for a reason: nobody should type a reason only to be refused."""
    services = services_of(context)
    user = body["user"]["id"]
    conn = services.store.get(action_connection_id(body))
    if conn is None:
        tell(respond, messages.NOT_FOUND)
    elif not may_decide(services, conn, user):
        tell(respond, messages.only_approvers(conn, user, services.approvers.ids))
    elif conn.state is not State.PENDING_APPROVAL:
        tell(respond, messages.moved_on(conn))
    else:
        client.views_open(trigger_id=body["trigger_id"], view=reject_modal(conn))


def may_decide(services, conn, user: str) -> bool:
    if not services.approvers.includes(user):
        return False
    return services.config.allow_self_approval or user != conn.requester


def refusal_text(result: TransitionResult, user: str, approvers) -> str:
    if result.refusal is Refusal.NOT_FOUND:
        return messages.NOT_FOUND
    if result.refusal is Refusal.NOT_ALLOWED:
        return messages.only_approvers(result.connection, user, approvers)
    return messages.moved_on(result.connection)
