"""Views of connected organizations: the list, one organization's status, toggles, disconnect, health notices.

Pure functions: domain objects in, Block Kit out. Every message stays within
Slack's 50 blocks and every section within 3,000 characters.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from bot.aws.validation import CheckResult, CheckStatus
from bot.connection.health import Health, HealthChange
from bot.connection.model import Connection, OrgStatus, State
from bot.connection.operations import RecheckOutcome
from bot.slack import operation_ids as ops_ids
from bot.slack.views.checklist import check_line
from bot.slack.views.modals import message_modal
from bot.slack.views.text import (
    actions,
    button,
    code,
    confirm_dialog,
    context,
    escape,
    mention,
    mention_approver,
    plain,
    section,
    when,
)
from bot.slack.views.thread import STEP
from bot.store.connections import AuditEntry, Listed, Listing, StatusOutcome, StatusResult
from bot.template import render

PAGE_SIZE = 20  # two blocks per organization: 40 of a message's 50
SECTION_LIMIT = 2900  # a section's text may hold 3,000 characters
ACCOUNTS_SHOWN = 120
HISTORY_SHOWN = 15
UNCOVERED_SHOWN = 20

ACTIVE = ":large_green_circle: active"
INACTIVE = ":red_circle: inactive"


# -- small pieces --------------------------------------------------------------------------------------


def status_badge(conn: Connection) -> str:
    return ACTIVE if conn.status == OrgStatus.ACTIVE.value else INACTIVE


def health_badge(checked_at: float, problems: int, conn: Connection) -> str:
    if not checked_at:
        return f":white_check_mark: validated {when(conn.validated_at)}" if conn.validated_at else "not checked yet"
    if problems:
        noun = "problem" if problems == 1 else "problems"
        return f":warning: {problems} {noun} at the last check {when(checked_at)}"
    return f":white_check_mark: healthy at the last check {when(checked_at)}"


def org_label(conn: Connection) -> str:
    return code(conn.org_id) if conn.org_id else "_organization not entered yet_"


def _fit(lines: Sequence[str], limit: int = SECTION_LIMIT, more: str = "…and {n} more") -> str:
    """Join lines, cutting where the section would overflow and saying how many were left out."""
    out, size = [], 0
    for i, line in enumerate(lines):
        if size + len(line) + 1 > limit - 40:
            out.append(more.format(n=len(lines) - i))
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def _plain_step(conn: Connection) -> str:
    step = STEP[conn.state]
    return step.split(" ", 1)[1] if step.startswith(":") else step


def _toggle_button(conn: Connection) -> dict:
    if conn.status == OrgStatus.ACTIVE.value:
        return button(
            "Disable",
            ops_ids.DISABLE,
            conn.id,
            confirm=confirm_dialog(
                f"Disable {conn.org_id}?",
                f"The organization and its {conn.account_count} member accounts become inactive in Cloud "
                "Entitlements until an approver enables it again.",
                "Disable",
                danger=True,
            ),
        )
    return button("Enable", ops_ids.ENABLE, conn.id, style="primary")


# -- /ce list --------------------------------------------------------------------------------------------


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


def page_of(listed: Sequence[Listed], conn_id: str, page_size: int = PAGE_SIZE) -> int:
    for i, item in enumerate(listed):
        if item.connection.id == conn_id:
            return i // page_size
    return 0


def list_row(item: Listed) -> str:
    conn = item.connection
    if conn.state is State.CONNECTED:
        return (
            f"*{org_label(conn)}* · {status_badge(conn)} · {conn.account_count} member accounts\n"
            f"Connected by {mention(conn.requester)}, approved by {mention(conn.decided_by)} {when(conn.decided_at)}"
            f" · {health_badge(item.checked_at, item.problems, conn)}"
        )
    expiry = f" · expires {when(conn.expires_at)}" if conn.expires_at else ""
    return (
        f"*{org_label(conn)}* · :hourglass_flowing_sand: in flight: {escape(_plain_step(conn))}\n"
        f"Started by {mention(conn.requester)} {when(conn.created_at)}{expiry}"
    )


def list_page(listed: Sequence[Listed] | Listing, page: int = 0, *, page_size: int = PAGE_SIZE) -> dict:
    """One page of `/ce list`: at most `page_size` organizations, with Previous/Next page buttons.

    `listed` is the page as the store read it (a `Listing`), or a whole list to cut the page from."""
    listing = listed if isinstance(listed, Listing) else Listing.of(listed, page, page_size)
    connected, active, in_flight = listing.connected, listing.active, listing.in_flight
    if not listing.total:
        text = "No organization is connected or being connected yet. Start with `/ce connect aws-org`."
        return {"text": text, "blocks": [section(text)]}
    pages, page = listing.pages, listing.page
    head = (
        f":office: *Organizations in Cloud Entitlements*: {connected} connected ({active} active, "
        f"{connected - active} inactive), {in_flight} in flight"
    )
    blocks = [section(head)]
    for row, item in enumerate(listing.rows[: listing.page_size]):
        conn = item.connection
        blocks.append(section(list_row(item)))
        elements = [_toggle_button(conn)] if conn.state is State.CONNECTED else []
        elements.append(button("Details", ops_ids.DETAILS, conn.id))
        blocks.append(actions(f"{ops_ids.LIST_ROW}:{page}:{row}", *elements))
    footer = f"Page {page + 1} of {pages} · member accounts follow their organization's status · `/ce status &lt;org-id&gt;` for one"
    blocks.append(context(footer))
    nav = []
    if page > 0:
        nav.append(button("Previous page", ops_ids.LIST_PREV, str(page - 1)))
    if page < pages - 1:
        nav.append(button("Next page", ops_ids.LIST_NEXT, str(page + 1), style="primary"))
    if nav:
        blocks.append(actions("pages", *nav))
    return {"text": f"Organizations in Cloud Entitlements (page {page + 1} of {pages})", "blocks": blocks}


# -- /ce status ------------------------------------------------------------------------------------------


def _check_lines(checks: Iterable[CheckResult]) -> list[str]:
    return [check_line(c) for c in checks]


def _account_line(account: dict, uncovered: dict[str, str]) -> str:
    name = escape(str(account.get("name") or ""))
    line = f"`{escape(str(account.get('id', '')))}` {name} · {escape(str(account.get('status') or '?'))}"
    if account.get("id") in uncovered:
        line += f" · :no_entry_sign: not covered: {escape(uncovered[account['id']])}"
    return line


def history_line(entry: AuditEntry) -> str:
    change = f"{entry.from_state} → {entry.to_state}" if entry.from_state else entry.to_state
    actor = "the bot" if entry.actor == "system" else mention(entry.actor)
    detail = f" · {escape(plain(entry.detail, 140))}" if entry.detail else ""
    return f"{when(entry.at)} · {actor} · *{escape(entry.event)}* ({escape(change)}){detail}"


def status_blocks(
    conn: Connection,
    *,
    accounts: Sequence[dict],
    health: Health | None,
    history: Sequence[AuditEntry],
    baseline: Sequence[CheckResult] = (),
) -> list[dict]:
    connected = conn.state is State.CONNECTED
    if connected:
        head = f":office: *{org_label(conn)}* · {status_badge(conn)} · {conn.account_count} member accounts"
    else:
        head = f":office: *{org_label(conn)}* · {escape(STEP[conn.state])}"
    facts = [
        f"*Root* {code(conn.root_id)} · *management account* {code(conn.management_account_id)} · *region* {code(conn.region)}",
        f"*Role* {code(conn.role_arn)}",
        f"*Requested by* {mention(conn.requester)} {when(conn.created_at)}",
    ]
    if conn.decided_by:
        decision = "Rejected by" if conn.state is State.REJECTED else "Approved by"
        facts.append(f"*{decision}* {mention(conn.decided_by)} {when(conn.decided_at)}")
    blocks = [section(head), section("\n".join(facts))]

    uncovered: dict[str, str] = {}
    if health is not None:
        what = "re-tested what had failed" if health.failed_only else "every check"
        title = f"*Last health check* {when(health.checked_at)} ({what}): " + (
            "healthy" if health.ok else _plural(health.problems, "problem", "problems")
        )
        blocks.append(section(_fit([title, *_check_lines(health.checks)])))
        uncovered = {u.id: u.reason for u in health.uncovered}
        if health.uncovered:
            lines = [f"*Member accounts not covered* ({len(health.uncovered_active)} active):"]
            lines += [
                f"• `{escape(u.id)}` {escape(u.name)}: {escape(u.reason)}" for u in health.uncovered[:UNCOVERED_SHOWN]
            ]
            if len(health.uncovered) > UNCOVERED_SHOWN:
                lines.append(f"…and {len(health.uncovered) - UNCOVERED_SHOWN} more")
            blocks.append(section(_fit(lines)))
    elif baseline:
        title = f"*Validation* {when(conn.validated_at)} (when it was connected; not re-checked since)"
        blocks.append(section(_fit([title, *_check_lines(baseline)])))

    if accounts:
        follows = f"{conn.status}, following the organization" if conn.status else "not connected yet"
        lines = [_account_line(a, uncovered) for a in accounts[:ACCOUNTS_SHOWN]]
        head_line = f"*Member accounts* ({len(accounts)}) · {follows}:"
        for i in range(0, len(lines), 35):
            chunk = lines[i : i + 35]
            blocks.append(section(_fit([head_line, *chunk] if i == 0 else chunk)))
        if len(accounts) > ACCOUNTS_SHOWN:
            blocks.append(context(f"…and {len(accounts) - ACCOUNTS_SHOWN} more member accounts."))

    if history:
        lines = ["*History*"] + [history_line(e) for e in list(history)[-HISTORY_SHOWN:]]
        blocks.append(section(_fit(lines)))

    if connected:
        elements = [_toggle_button(conn), button("Re-check", ops_ids.RECHECK, conn.id)]
        if health is not None and not health.ok:
            elements.append(button("Re-check failed only", ops_ids.RECHECK_FAILED, conn.id))
        elements.append(disconnect_button(conn))
        blocks.append(actions(ops_ids.STATUS_ACTIONS, *elements))
    elif conn.state.is_open:
        blocks.append(context(f"To stop this connection: `/ce cancel {conn.org_id}`." if conn.org_id else ""))
    elif conn.state.is_final:
        blocks.append(context("It is no longer connected. To connect it again: `/ce connect aws-org`."))
    return [b for b in blocks if not (b["type"] == "context" and not b["elements"][0]["text"])]


def status_message(conn: Connection, **parts) -> dict:
    return {"text": f"{conn.org_id or 'Connection'}: {conn.state.value}", "blocks": status_blocks(conn, **parts)}


def status_modal(conn: Connection, **parts) -> dict:
    return message_modal(conn.org_id or "Connection", status_blocks(conn, **parts))


# -- enable / disable ------------------------------------------------------------------------------------


def status_result_text(result: StatusResult, wanted: OrgStatus, *, org_id: str, approvers: Iterable[str]) -> str:
    """What the person who toggled sees."""
    wanted = OrgStatus(wanted)
    conn = result.connection
    org = code(conn.org_id if conn else org_id)
    if result.outcome is StatusOutcome.NOT_FOUND:
        return unknown_organization(org_id) if org_id else "I can't find that organization any more. `/ce list` shows them all."
    if result.outcome is StatusOutcome.NOT_ALLOWED:
        return f"Only approvers can enable or disable an organization: {_names(approvers)}. Nothing was changed."
    if result.outcome is StatusOutcome.WRONG_STATE:
        return f"{org} is not connected ({escape(_plain_step(conn))}), so it has no status to change. Nothing was changed."
    if result.outcome is StatusOutcome.UNCHANGED:
        return f"{org} is already {wanted.value}: nothing was changed."
    verb = "enabled" if wanted is OrgStatus.ACTIVE else "disabled"
    return (
        f"{org} is now *{wanted.value}*, with its {conn.account_count} member accounts. "
        f"You {verb} it; I said so in its thread."
    )


def status_announcement(conn: Connection, actor: str, status: str) -> dict:
    if status == OrgStatus.ACTIVE.value:
        text = (
            f":large_green_circle: {mention(actor)} *enabled* {code(conn.org_id)}: the organization and its "
            f"{conn.account_count} member accounts are active in Cloud Entitlements."
        )
    else:
        text = (
            f":red_circle: {mention(actor)} *disabled* {code(conn.org_id)}: the organization and its "
            f"{conn.account_count} member accounts are inactive in Cloud Entitlements until an approver enables it."
        )
    return {"text": text, "blocks": [section(text), context("Member accounts always follow the organization's status.")]}


# -- disconnect ------------------------------------------------------------------------------------------


def disconnect_button(conn: Connection) -> dict:
    return button(
        "Disconnect…",
        ops_ids.DISCONNECT,
        conn.id,
        style="danger",
        confirm=confirm_dialog(
            f"Disconnect {conn.org_id}?",
            f"{conn.org_id} and its {conn.account_count} member accounts leave Cloud Entitlements. "
            "The history is kept, and you get the clean-up steps for AWS.",
            "Disconnect",
            danger=True,
        ),
    )


def cleanup_lines(conn: Connection) -> list[str]:
    """The seed's order: the StackSet's instances, the StackSet, then the stack; each with its CLI line."""
    steps = render.cleanup_steps(
        region=conn.region or "us-east-1",
        root_id=conn.root_id,
        stack_set_name=conn.stack_set_name or render.STACK_SET_NAME,
    )
    return [f"{i}. {escape(what)}\n```{command}```" for i, (what, command) in enumerate(steps, 1)]


def _cleanup_section(conn: Connection) -> dict:
    where = f"in the management account {code(conn.management_account_id)}" if conn.management_account_id else ""
    head = f"*Clean up in AWS* {where} (region `{escape(conn.region)}`), in this order:"
    return section(_fit([head, *cleanup_lines(conn)]))


def _disconnect_question(conn: Connection) -> list[dict]:
    text = (
        f":warning: *Disconnect {code(conn.org_id)}?* The organization and its {conn.account_count} member accounts "
        "leave Cloud Entitlements. Its history is kept, and it can be connected again later."
    )
    return [
        section(text),
        context("After disconnecting, I'll give you the clean-up steps for AWS: the StackSet first, then the stack."),
    ]


def disconnect_modal(conn: Connection) -> dict:
    """`/ce disconnect`'s confirmation: Disconnect, or Keep it connected (closes, changes nothing)."""
    return {
        "type": "modal",
        "callback_id": ops_ids.DISCONNECT_MODAL,
        "private_metadata": conn.id,
        "title": {"type": "plain_text", "text": "Disconnect"},
        "submit": {"type": "plain_text", "text": "Disconnect"},
        "close": {"type": "plain_text", "text": "Keep it connected"},
        "blocks": _disconnect_question(conn),
    }


def disconnect_confirmation(conn: Connection) -> dict:
    """The same question as a message, when the modal could not be opened (its trigger expired)."""
    blocks = [*_disconnect_question(conn), actions("disconnect", disconnect_button(conn))]
    return {"text": f"Disconnect {conn.org_id}?", "blocks": blocks}


def disconnected_message(conn: Connection) -> dict:
    """To whoever disconnected: done, and exactly what to delete in AWS."""
    text = (
        f":electric_plug: *{escape(conn.org_id)} is disconnected* from Cloud Entitlements; its history is kept. "
        "It can be connected again with `/ce connect aws-org`."
    )
    return {"text": f"{conn.org_id} is disconnected", "blocks": [section(text), _cleanup_section(conn)]}


def disconnected_modal(conn: Connection) -> dict:
    return message_modal("Disconnected", disconnected_message(conn)["blocks"], close="Done")


def disconnected_notice(conn: Connection, actor: str) -> dict:
    """In the connection's thread."""
    text = (
        f":electric_plug: {mention(actor)} *disconnected* {code(conn.org_id)} from Cloud Entitlements. "
        f"Its {conn.account_count} member accounts are no longer covered; the history is kept."
    )
    return {
        "text": f"{conn.org_id} was disconnected",
        "blocks": [section(text), _cleanup_section(conn), context("Connect it again any time with `/ce connect aws-org`.")],
    }


def only_approvers_disconnect(approvers: Iterable[str]) -> str:
    return f"Only approvers can disconnect an organization: {_names(approvers)}. Nothing was changed."


FOUR_EYES_DISCONNECT = (
    "You connected this organization, so another approver has to disconnect it (four-eyes). Nothing was changed."
)


def disconnect_refusal(result, *, org_id: str, approvers: Iterable[str], user: str) -> str:
    from bot.store.connections import Refusal

    conn = result.connection
    if result.refusal is Refusal.NOT_FOUND or conn is None:
        return unknown_organization(org_id) if org_id else "I can't find that connection any more."
    if result.refusal is Refusal.NOT_ALLOWED:
        return FOUR_EYES_DISCONNECT if user == conn.requester else only_approvers_disconnect(approvers)
    return not_connected(conn)


def not_connected(conn: Connection) -> str:
    org = org_label(conn)
    if conn.state.is_open:
        return (
            f"{org} is not connected yet ({escape(_plain_step(conn))}), so there is nothing to disconnect. "
            f"To stop connecting it: `/ce cancel {escape(conn.org_id)}`. Nothing was changed."
        )
    return f"{org} is not connected ({conn.state.value.replace('_', ' ')}). Nothing was changed."


# -- cancel ----------------------------------------------------------------------------------------------


def cancel_refusal(result, *, org_id: str) -> str:
    from bot.store.connections import Refusal

    conn = result.connection
    if result.refusal is Refusal.NOT_FOUND or conn is None:
        return unknown_organization(org_id)
    if result.refusal is Refusal.NOT_ALLOWED:
        return f"Only {mention(conn.requester)}, who started it, or an approver can cancel this connection. Nothing was changed."
    if conn.state is State.CONNECTED:
        return f"{code(conn.org_id)} is connected, not in flight. To remove it: `/ce disconnect {escape(conn.org_id)}`."
    if conn.state is State.VALIDATING:
        return "Validation is running; cancel it once the checklist in the thread is done. Nothing was changed."
    return f"This connection has moved on ({escape(_plain_step(conn))}). Nothing was changed."


def cancelled_text(conn: Connection) -> str:
    return f"Cancelled the connection of {org_label(conn)}. The organization is free to connect again; I said so in its thread."


def choose_connection(conns: Sequence[Connection]) -> dict:
    """`/ce cancel` alone, with several connections in flight: which one?"""
    blocks = [section("You have several connections in flight. Which one do you want to cancel?")]
    for conn in conns[:20]:
        text = f"{org_label(conn)} · {escape(_plain_step(conn))} · started {when(conn.created_at)}"
        blocks.append(cancellable(text, conn, "Cancel it"))
    return {"text": "Which connection do you want to cancel?", "blocks": blocks}


def cancellable(text: str, conn: Connection, label: str) -> dict:
    """A section about a connection in flight, with its Cancel button; none while it validates (cancel
    does not apply then), which the text says instead."""
    from bot.slack import ids

    if conn.state is State.VALIDATING:
        return section(f"{text} · can be cancelled once validation is done")
    confirm = confirm_dialog("Cancel this connection?", "The organization is released; nothing is connected.", "Cancel it", danger=True)
    # A block_id of its own: a click on a view drawn before the last views.publish still finds its block.
    return section(text, accessory=button(label, ids.CANCEL, conn.id, confirm=confirm), block_id=f"cancel:{conn.id}")


NO_CONNECTION_IN_FLIGHT = "You have no connection in flight. `/ce list` shows every organization."


# -- health ----------------------------------------------------------------------------------------------


def _account_label(account_id: str, name: str) -> str:
    return f"`{escape(account_id)}` {escape(name)}".strip()


def change_lines(change: HealthChange) -> list[str]:
    lines = []
    for check in change.shown_failures:
        line = f":x: *{escape(check.title)}*: {escape(check.found)}"
        if check.fix:
            line += f"\n      :point_right: {escape(check.fix)}"
        lines.append(line)
    for u in change.newly_uncovered:
        lines.append(f":no_entry_sign: {_account_label(u.id, u.name)} is not covered: {escape(u.reason)}")
    for a in change.added:
        lines.append(f":new: account added: {_account_label(a.id, a.name)} ({escape(a.status)})")
    for a in change.removed:
        lines.append(f":wastebasket: account removed: {_account_label(a.id, a.name)}")
    for a, old in change.status_changed:
        lines.append(f":arrows_counterclockwise: {_account_label(a.id, a.name)}: {escape(old)} → {escape(a.status)}")
    for kind, total in change.counts.items():
        lines.append(f"…{total - len(getattr(change, kind))} more ({kind.replace('_', ' ')}) not shown")
    return lines


def health_notice(conn: Connection, change: HealthChange, *, thread_link: str = "") -> dict:
    """Posted in the connection's thread (and the approval channel) when a re-check finds something new."""
    head = f":warning: *Health re-check of {code(conn.org_id)}* found something new:"
    blocks = [section(_fit([head, *change_lines(change)]))]
    note = f"The organization's status is unchanged ({conn.status or 'unknown'}): a re-check never switches it."
    if thread_link:
        note += f" <{thread_link}|Open the connection's thread>"
    blocks.append(context(note))
    elements = [button("Re-check", ops_ids.RECHECK, conn.id)]
    if change.new_failures or change.newly_uncovered:
        elements.append(button("Re-check failed only", ops_ids.RECHECK_FAILED, conn.id))
    blocks.append(actions("recheck", *elements))
    return {"text": f"Health re-check of {conn.org_id} found something new", "blocks": blocks}


def cannot_recheck(conn: Connection) -> str:
    return f"{org_label(conn)} is not connected ({conn.state.value.replace('_', ' ')}), so there is nothing to re-check."


def recheck_started(conn: Connection, failed_only: bool) -> str:
    what = "what failed last time" if failed_only else "every check"
    return f":mag: Re-checking {code(conn.org_id)} ({what}). I'll tell you here when it's done; anything new goes to its thread too."


def recheck_reply(outcome: RecheckOutcome | None, conn: Connection | None, *, failed_only: bool) -> dict:
    """The on-demand re-check's result, for whoever clicked."""
    if outcome is None or not outcome.recorded:
        name = code(conn.org_id) if conn else "This organization"
        text = f"{name} is no longer connected, so there was nothing to re-check."
        return {"text": text, "blocks": [section(text)]}
    health, change = outcome.health, outcome.change
    org = code(outcome.connection.org_id)
    failed = [c for c in health.checks if c.status is CheckStatus.FAILED]
    passed = sum(1 for c in health.checks if c.status is CheckStatus.PASSED)
    covered = max(0, health.members - len(health.uncovered_active))
    if health.ok:
        head = (
            f":white_check_mark: Re-check of {org}: all {passed} checks pass and {covered} of {health.members} active "
            "member accounts are covered."
        )
    else:
        head = (
            f":warning: Re-check of {org}: {_plural(len(failed), 'check fails', 'checks fail')}, "
            f"{len(health.uncovered_active)} of "
            f"{health.members} active member accounts are not covered."
        )
    lines = [head]
    if change.recovered:
        lines.append(":tada: passing again: " + ", ".join(escape(k) for k in change.recovered))
    if change.covered_again:
        lines.append(":tada: covered again: " + ", ".join(f"`{escape(i)}`" for i in change.covered_again))
    lines += [check_line(c) for c in failed]
    lines += [f":no_entry_sign: `{escape(u.id)}` {escape(u.name)}: {escape(u.reason)}" for u in health.uncovered_active[:UNCOVERED_SHOWN]]
    if change.notable:
        lines.append("What is new was posted in the connection's thread.")
    blocks = [section(_fit(lines))]
    if failed_only:
        blocks.append(context("Re-tested the accounts that were not covered, with the checks they depend on."))
    return {"text": plain(head, 300), "blocks": blocks}


# -- refusals and answers --------------------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def unknown_organization(org_id: str) -> str:
    return (
        f"{code(org_id)} is not connected to Cloud Entitlements, nor being connected. "
        "`/ce list` shows every organization. Nothing was changed."
    )


def _names(approvers: Iterable[str]) -> str:
    return ", ".join(mention_approver(a) for a in sorted(approvers))
