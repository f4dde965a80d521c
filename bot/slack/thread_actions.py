"""Buttons in a connection's thread: enter the IDs, enter the role ARN, start over, cancel.

Each is handed to the worker and acked at once. Modals open first thing in
the worker (the trigger_id lives 3 s), only after the connection and the
clicking user were checked against Redis.
"""

from __future__ import annotations

from bot.connection.model import State
from bot.slack import ids
from bot.slack.after_ack import after_ack, handed_over
from bot.slack.app import action_connection_id, services_of, tell
from bot.slack.views import messages
from bot.slack.views.modals import ids_modal, role_modal
from bot.store.connections import Refusal


def register(router) -> None:
    router.action(ids.ENTER_IDS, handed_over(open_ids_modal))
    router.action(ids.ENTER_ROLE, handed_over(open_role_modal))
    router.action(ids.START_OVER, handed_over(start_over))
    router.action(ids.CANCEL, handed_over(cancel))


def _requesters_connection(body, context, respond, states: tuple[State, ...]):
    """The connection the button names, if the clicker started it and it is at one of `states`."""
    conn = services_of(context).store.get(action_connection_id(body))
    if conn is None:
        tell(respond, messages.NOT_FOUND)
        return None
    if body["user"]["id"] != conn.requester:
        tell(respond, messages.only_requester(conn))
        return None
    if conn.state not in states:
        tell(respond, messages.moved_on(conn))
        return None
    return conn


@after_ack
def open_ids_modal(body, client, context, respond) -> None:
    conn = _requesters_connection(body, context, respond, (State.STARTED,))
    if conn:
        client.views_open(trigger_id=body["trigger_id"], view=ids_modal(conn.id))


@after_ack
def open_role_modal(body, client, context, respond) -> None:
    conn = _requesters_connection(body, context, respond, (State.AWAITING_STACK, State.VALIDATION_FAILED))
    if conn:
        client.views_open(trigger_id=body["trigger_id"], view=role_modal(conn))


@after_ack
def cancel(body, client, context, respond) -> None:
    _cancel(body, context, respond, detail="cancelled from Slack")


@after_ack
def start_over(body, client, context, respond) -> None:
    """Cancel this connection and start a new one in the same channel."""
    conn = _cancel(body, context, respond, detail="started over")
    if conn:
        services_of(context).flow.start(requester=body["user"]["id"], channel=conn.channel)


def _cancel(body, context, respond, *, detail: str):
    services = services_of(context)
    user = body["user"]["id"]
    result = services.flow.cancel(
        action_connection_id(body), actor=user, is_approver=services.approvers.includes(user), detail=detail
    )
    if result.ok:
        return result.connection
    if result.refusal is Refusal.NOT_FOUND:
        tell(respond, messages.NOT_FOUND)
    elif result.refusal is Refusal.NOT_ALLOWED:
        tell(respond, messages.only_requester(result.connection))
    else:
        tell(respond, messages.moved_on(result.connection))
    return None
