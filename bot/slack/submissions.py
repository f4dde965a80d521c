"""Modal submissions: organization and root IDs, role ARN, rejection reason.

These are the ack paths that change state: parse, one atomic transition
(awaited on the event loop), then `ack()` closes the modal or `ack(response_action="errors")` shows why
not on the field, and nothing changes; a submission after the decision turns the modal into a
notice of who decided. The transition takes the modal's view ID, so a view already submitted with
success (a replay) is refused; one without a well-formed view ID cannot be told from a replay.
"""

from __future__ import annotations

from bot.connection.ids import InvalidInput
from bot.connection.model import State
from bot.slack import ids
from bot.slack.app import services_of, view_connection_id
from bot.slack.views import messages
from bot.slack.views.modals import notice_modal
from bot.store.connections import Refusal, TransitionResult, is_view_id

REQUESTER = "the person who started this connection"
APPROVER = "an approver other than the requester"
DECIDED = frozenset({State.CONNECTED, State.REJECTED})


def register(router) -> None:
    router.view(ids.IDS_MODAL, submit_ids)
    router.view(ids.ROLE_MODAL, submit_role)
    router.view(ids.REJECT_MODAL, submit_reject)


def typed(view: dict, block_id: str) -> str:
    """What the user typed or chose in an input block ("" when absent)."""
    value = view.get("state", {}).get("values", {}).get(block_id, {}).get(ids.INPUT_ACTION) or {}
    if value.get("type") == "static_select":
        return (value.get("selected_option") or {}).get("value", "")
    return value.get("value") or ""


async def submit_ids(ack, body, client, context) -> None:
    view = body["view"]
    flow = services_of(context).ack_flow
    await _answer(
        ack,
        ids.ORGANIZATION_ID_BLOCK,
        REQUESTER,
        lambda conn_id, view_id: flow.submit_ids(
            conn_id,
            actor=body["user"]["id"],
            organization_id=typed(view, ids.ORGANIZATION_ID_BLOCK),
            root_id=typed(view, ids.ROOT_ID_BLOCK),
            view_id=view_id,
        ),
        view,
    )


async def submit_role(ack, body, client, context) -> None:
    view = body["view"]
    flow = services_of(context).ack_flow
    await _answer(
        ack,
        ids.ROLE_ARN_BLOCK,
        REQUESTER,
        lambda conn_id, view_id: flow.submit_role(
            conn_id,
            actor=body["user"]["id"],
            role_arn=typed(view, ids.ROLE_ARN_BLOCK),
            region=typed(view, ids.REGION_BLOCK),
            view_id=view_id,
        ),
        view,
    )


async def submit_reject(ack, body, client, context) -> None:
    view = body["view"]
    services = services_of(context)
    user = body["user"]["id"]
    is_approver = await services.approvers.includes_async(user)
    await _answer(
        ack,
        ids.REASON_BLOCK,
        APPROVER,
        lambda conn_id, view_id: services.ack_flow.reject(
            conn_id, actor=user, is_approver=is_approver, reason=typed(view, ids.REASON_BLOCK), view_id=view_id
        ),
        view,
    )


async def _answer(ack, main_block: str, who: str, submit, view: dict) -> None:
    conn_id, view_id = view_connection_id(view), view.get("id")
    if not conn_id:
        await ack(response_action="errors", errors={main_block: messages.modal_refusal("not_found", None, who=who)})
        return
    if not is_view_id(view_id):
        await ack(response_action="errors", errors={main_block: messages.modal_refusal("replayed", None, who=who)})
        return
    try:
        result: TransitionResult = await submit(conn_id, view_id)
    except InvalidInput as error:
        await ack(response_action="errors", errors=error.errors)
        return
    if result.ok:
        await ack()
    elif result.refusal is Refusal.ORG_TAKEN:
        org = result.holder.org_id if result.holder else typed(view, ids.ORGANIZATION_ID_BLOCK).strip()
        await ack(response_action="errors", errors={main_block: messages.organization_taken(org, result.holder)})
    elif result.refusal is Refusal.WRONG_STATE and result.connection.state in DECIDED:
        # Nothing is left to submit, and a field error cannot show a mention: the modal says who decided.
        title = (view.get("title") or {}).get("text") or "Cloud Entitlements"
        await ack(response_action="update", view=notice_modal(title, messages.moved_on(result.connection)))
    else:
        text = messages.modal_refusal(result.refusal.value, result.connection, who=who)
        await ack(response_action="errors", errors={main_block: text})
