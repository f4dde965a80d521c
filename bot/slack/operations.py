"""Running connected organizations from Slack: `/ce list | status | enable | disable | disconnect | cancel`
and the buttons those answers carry (pages, Enable/Disable, Details, Disconnect, Re-check).

Every one acks at once (a malformed organization ID is answered in the ack,
with no Redis call) and is handed to the worker, which runs the rest: parse → one domain call
(`bot.connection.operations`) → render (`bot.slack.views.organizations`),
answered ephemerally through `respond`. Clicks from the App Home tab have no
response_url: they are answered in a small modal instead. `/ce disconnect` asks in a modal, whose
Disconnect is decided on the ack path (one atomic transition), as the other modals' submissions are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from slack_sdk.errors import SlackApiError

from bot.connection.ids import InvalidInput, parse_organization_id
from bot.connection.model import Connection, OrgStatus, State
from bot.connection.operations import Operations, baseline_checks
from bot.slack import operation_ids as ops_ids
from bot.slack.after_ack import after_ack, handed_over
from bot.slack.app import action_connection_id, respond_message, services_of, tell, view_connection_id
from bot.slack.command_text import CommandLine, parse_command
from bot.slack.response_urls import encode
from bot.slack.views import messages
from bot.slack.views import organizations as views
from bot.slack.views.modals import message_modal, notice_modal
from bot.slack.views.text import escape
from bot.store.connections import Listing

log = logging.getLogger(__name__)

VERBS = ("list", "status", "enable", "disable", "disconnect", "cancel")
NEEDS_ORGANIZATION = ("status", "enable", "disable", "disconnect")
MAX_PAGE = 10_000
LIST_PAGES_KEPT = 32  # list pages kept rendered and encoded, about 60 kB each


@dataclass(frozen=True)
class Operation:
    verb: str
    org_id: str = ""


def parse_operation(line: CommandLine) -> Operation | str:
    """What `/ce <verb> …` asks for, or why it can't be done (the ephemeral answer). Pure: no I/O."""
    verb, args = line.verb, line.args
    if verb == "list":
        return "`/ce list` takes nothing after it." if args else Operation("list")
    if verb == "cancel" and not args:
        return Operation("cancel")
    if verb in NEEDS_ORGANIZATION or verb == "cancel":
        if len(args) != 1:
            return f"Say which organization, for example `/ce {verb} o-a1b2c3d4e5`. Nothing was changed."
        try:
            return Operation(verb, parse_organization_id(args[0]))
        except InvalidInput as error:
            return f"{escape(error.message)} Nothing was changed."
    raise ValueError(f"not an operation: {verb}")


def register(router) -> None:
    router.action(ops_ids.LIST_NEXT, handed_over(show_page))
    router.action(ops_ids.LIST_PREV, handed_over(show_page))
    router.action(ops_ids.ENABLE, handed_over(enable_clicked))
    router.action(ops_ids.DISABLE, handed_over(disable_clicked))
    router.action(ops_ids.DETAILS, handed_over(details_clicked))
    router.action(ops_ids.DISCONNECT, handed_over(disconnect_clicked))
    router.view(ops_ids.DISCONNECT_MODAL, disconnect_submitted)
    router.action(ops_ids.RECHECK, handed_over(recheck_clicked))
    router.action(ops_ids.RECHECK_FAILED, handed_over(recheck_failed_clicked))


# -- helpers ---------------------------------------------------------------------------------------------


def operations_of(context) -> Operations:
    services = services_of(context)
    return Operations(services.store, services.config, flow=services.flow, clock=services.flow.clock)


def user_of(body: dict) -> str:
    return body.get("user_id") or (body.get("user") or {}).get("id", "")


def is_approver(context, user: str) -> bool:
    return services_of(context).approvers.includes(user)


def approvers_of(context):
    return services_of(context).approvers.ids


def answered_in_place(body: dict) -> bool:
    """A command, or a click in a message: answered where it was made (its response_url), not in a modal."""
    return bool(body.get("response_url") or body.get("command"))


def answer(body, client, respond, text: str) -> None:
    """An ephemeral answer where the person is; from the App Home (no response_url), a small modal."""
    if answered_in_place(body):
        tell(respond, text)
    elif body.get("trigger_id"):
        client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Cloud Entitlements", text))


def show(body, client, respond, message: dict, *, replace: bool = False, modal: dict | None = None) -> None:
    if answered_in_place(body):
        respond(**message, response_type="ephemeral", replace_original=replace)
    elif body.get("trigger_id"):
        client.views_open(trigger_id=body["trigger_id"], view=modal or message_modal("Cloud Entitlements", message["blocks"]))


def show_list(body, client, respond, listing: Listing, *, replace: bool = False) -> None:
    """A page of `/ce list`. To a response_url it goes as `_list_message` made it: once per page as it
    stands, so the same page asked again, by anyone, is not rendered and encoded again."""
    if answered_in_place(body):
        respond.post(*_list_message(listing, replace))
    else:
        show(body, client, respond, views.list_page(listing), replace=replace)


@lru_cache(maxsize=LIST_PAGES_KEPT)
def _list_message(listing: Listing, replace: bool) -> tuple[dict, bytes]:
    """A list page as `respond` posts it, and its JSON (read-only: it is shared)."""
    message = respond_message(**views.list_page(listing), response_type="ephemeral", replace_original=replace)
    return message, encode(message)


def status_parts(context, conn: Connection) -> dict:
    store = services_of(context).store
    return {
        "accounts": store.accounts(conn.id),
        "health": store.health(conn.id),
        "history": store.organization_history(conn),
        "baseline": baseline_checks(conn),
    }


# -- /ce <operation>, after the ack ------------------------------------------------------------------------


@after_ack
def run_command(body, client, context, respond) -> None:
    """The after-ack half of `/ce`: only operations with well-formed arguments get here to do anything."""
    line = parse_command(body.get("text"))
    if line.verb not in VERBS:
        return
    operation = parse_operation(line)
    if not isinstance(operation, Operation):
        return  # already answered in the ack
    COMMANDS[operation.verb](operation, body, client, context, respond)


def list_command(operation, body, client, context, respond) -> None:
    show_list(body, client, respond, operations_of(context).list_page(0))


def status_command(operation, body, client, context, respond) -> None:
    conn = operations_of(context).latest(operation.org_id)
    if conn is None:
        tell(respond, views.unknown_organization(operation.org_id))
        return
    show(body, client, respond, views.status_message(conn, **status_parts(context, conn)))


def _toggle_command(status: OrgStatus):
    def toggle(operation, body, client, context, respond) -> None:
        user = user_of(body)
        result = operations_of(context).set_status(
            status, actor=user, is_approver=is_approver(context, user), org_id=operation.org_id
        )
        tell(respond, views.status_result_text(result, status, org_id=operation.org_id, approvers=approvers_of(context)))

    return toggle


def disconnect_command(operation, body, client, context, respond) -> None:
    """Checks first, so only someone who may disconnect is asked to confirm; the transition decides."""
    services = services_of(context)
    user = user_of(body)
    conn = operations_of(context).find(operation.org_id)
    if conn is None:
        tell(respond, views.unknown_organization(operation.org_id))
    elif conn.state is not State.CONNECTED:
        tell(respond, views.not_connected(conn))
    elif not is_approver(context, user):
        tell(respond, views.only_approvers_disconnect(approvers_of(context)))
    elif user == conn.requester and not services.config.allow_self_approval:
        tell(respond, views.FOUR_EYES_DISCONNECT)
    else:
        try:
            client.views_open(trigger_id=body["trigger_id"], view=views.disconnect_modal(conn))
        except SlackApiError:  # its trigger expired (the worker was late): the same question, as a message
            log.warning("could not open the disconnect confirmation: asked in a message instead", exc_info=True)
            show(body, client, respond, views.disconnect_confirmation(conn))


async def disconnect_submitted(ack, body, client, context) -> None:
    """The confirmation's Disconnect, on the ack path: one atomic transition (approvers only, not the
    requester), then the modal says it is done, with the clean-up steps, or why not."""
    services = services_of(context)
    user = body["user"]["id"]
    conn_id = view_connection_id(body["view"])
    is_approver = await services.approvers.includes_async(user)
    result = await services.ack_flow.disconnect(conn_id, actor=user, is_approver=is_approver)
    if result.ok:
        await ack(response_action="update", view=views.disconnected_modal(result.connection))
        return
    org_id = result.connection.org_id if result.connection else ""
    text = views.disconnect_refusal(result, org_id=org_id, approvers=services.approvers.ids, user=user)
    await ack(response_action="update", view=notice_modal("Disconnect", text))


def cancel_command(operation, body, client, context, respond) -> None:
    ops = operations_of(context)
    user = user_of(body)
    if operation.org_id:
        conn = ops.find(operation.org_id)
        if conn is None:
            tell(respond, views.unknown_organization(operation.org_id))
            return
        _cancel(ops, conn.id, user, context, respond, org_id=operation.org_id)
        return
    mine = ops.in_flight_of(user)
    if not mine:
        tell(respond, views.NO_CONNECTION_IN_FLIGHT)
    elif len(mine) == 1:
        _cancel(ops, mine[0].id, user, context, respond, org_id=mine[0].org_id)
    else:
        show(body, client, respond, views.choose_connection(mine))


def _cancel(ops: Operations, conn_id: str, user: str, context, respond, *, org_id: str) -> None:
    result = ops.cancel(conn_id, actor=user, is_approver=is_approver(context, user))
    tell(respond, views.cancelled_text(result.connection) if result.ok else views.cancel_refusal(result, org_id=org_id))


COMMANDS = {
    "list": list_command,
    "status": status_command,
    "enable": _toggle_command(OrgStatus.ACTIVE),
    "disable": _toggle_command(OrgStatus.INACTIVE),
    "disconnect": disconnect_command,
    "cancel": cancel_command,
}


# -- buttons ----------------------------------------------------------------------------------------------


def _action(body: dict) -> dict:
    return (body.get("actions") or [{}])[0]


@after_ack
def show_page(body, client, context, respond) -> None:
    value = str(_action(body).get("value", ""))
    if not value.isdigit() or int(value) >= MAX_PAGE:
        answer(body, client, respond, "That page doesn't exist. Type `/ce list` again.")
        return
    show_list(body, client, respond, operations_of(context).list_page(int(value)), replace=True)


@after_ack
def enable_clicked(body, client, context, respond) -> None:
    _toggle_clicked(body, client, context, respond, OrgStatus.ACTIVE)


@after_ack
def disable_clicked(body, client, context, respond) -> None:
    _toggle_clicked(body, client, context, respond, OrgStatus.INACTIVE)


def _toggle_clicked(body, client, context, respond, status: OrgStatus) -> None:
    conn_id = action_connection_id(body)
    if not conn_id:
        answer(body, client, respond, messages.NOT_FOUND)
        return
    ops = operations_of(context)
    user = user_of(body)
    result = ops.set_status(status, actor=user, is_approver=is_approver(context, user), conn_id=conn_id)
    if result.connection is not None and answered_in_place(body) and result.outcome.value in ("ok", "unchanged"):
        _redraw(body, client, context, respond, ops, result.connection)
    org_id = result.connection.org_id if result.connection else ""
    answer(body, client, respond, views.status_result_text(result, status, org_id=org_id, approvers=approvers_of(context)))


def _redraw(body, client, context, respond, ops: Operations, conn: Connection) -> None:
    """Show the message the button sat in as it now stands (a list page or a status message)."""
    block_id = str(_action(body).get("block_id", ""))
    if block_id.startswith(ops_ids.LIST_ROW + ":"):
        show_list(body, client, respond, ops.list_page(around=conn.id), replace=True)
    elif block_id == ops_ids.STATUS_ACTIONS:
        respond(**views.status_message(conn, **status_parts(context, conn)), response_type="ephemeral", replace_original=True)


@after_ack
def details_clicked(body, client, context, respond) -> None:
    conn = services_of(context).store.get(action_connection_id(body))
    if conn is None:
        answer(body, client, respond, messages.NOT_FOUND)
        return
    parts = status_parts(context, conn)
    show(body, client, respond, views.status_message(conn, **parts), modal=views.status_modal(conn, **parts))


@after_ack
def disconnect_clicked(body, client, context, respond) -> None:
    conn_id = action_connection_id(body)
    user = user_of(body)
    result = operations_of(context).disconnect(conn_id, actor=user, is_approver=is_approver(context, user))
    if result.ok:
        show(body, client, respond, views.disconnected_message(result.connection), replace=True)
        return
    org_id = result.connection.org_id if result.connection else ""
    answer(body, client, respond, views.disconnect_refusal(result, org_id=org_id, approvers=approvers_of(context), user=user))


@after_ack
def recheck_clicked(body, client, context, respond) -> None:
    _recheck(body, client, context, respond, failed_only=False)


@after_ack
def recheck_failed_clicked(body, client, context, respond) -> None:
    _recheck(body, client, context, respond, failed_only=True)


def _recheck(body, client, context, respond, *, failed_only: bool) -> None:
    conn = services_of(context).store.get(action_connection_id(body))
    if conn is None:
        answer(body, client, respond, messages.NOT_FOUND)
        return
    if conn.state is not State.CONNECTED:
        answer(body, client, respond, views.cannot_recheck(conn))
        return
    operations_of(context).request_recheck(
        conn.id, actor=user_of(body), failed_only=failed_only, response_url=body.get("response_url", "")
    )
    answer(body, client, respond, views.recheck_started(conn, failed_only))
