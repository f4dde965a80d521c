"""The App Home tab: organizations and their status, decisions waiting for the viewer, their connections
in flight, and the last events. A pure function of what the store holds and who is looking."""

from __future__ import annotations

from typing import Sequence

from bot.connection.model import Connection, State
from bot.slack import operation_ids as ops_ids
from bot.slack.views.approval import decision_buttons
from bot.slack.views.organizations import (
    _plain_step,
    _toggle_button,
    cancellable,
    health_badge,
    history_line,
    org_label,
    status_badge,
)
from bot.slack.views.text import actions, button, code, context, escape, mention, section, when
from bot.store.connections import AuditEntry, Listed, Listing

ORGS_SHOWN = 20
DECISIONS_SHOWN = 10
MINE_SHOWN = 10
EVENTS_SHOWN = 10


def _divider() -> dict:
    return {"type": "divider"}


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _org_row(item: Listed, approver: bool) -> dict:
    """An organization's row; its block_id is its own, so a click on a Home drawn before the last
    views.publish (the scheduler republishes it as things change) still names a block that exists."""
    conn = item.connection
    text = (
        f"*{org_label(conn)}* · {status_badge(conn)} · {conn.account_count} member accounts\n"
        f"Approved by {mention(conn.decided_by)} {when(conn.decided_at)} · "
        f"{health_badge(item.checked_at, item.problems, conn)}"
    )
    accessory = _toggle_button(conn) if approver else button("Details", ops_ids.DETAILS, conn.id)
    return section(text, accessory=accessory, block_id=f"org:{conn.id}")


def _decision(conn: Connection) -> list[dict]:
    text = (
        f":raising_hand: Connect {code(conn.org_id)}? {conn.account_count} accounts, management account "
        f"{code(conn.management_account_id)}; requested by {mention(conn.requester)} {when(conn.created_at)}"
    )
    return [
        section(text),
        actions(f"decide:{conn.id}", *decision_buttons(conn), button("Details", ops_ids.DETAILS, conn.id)),
    ]


def _mine(conn: Connection) -> dict:
    expiry = f" · expires {when(conn.expires_at)}" if conn.expires_at else ""
    return cancellable(f"{org_label(conn)} · {escape(_plain_step(conn))} · started {when(conn.created_at)}{expiry}", conn, "Cancel")


def home_view(
    viewer: str,
    listed: Sequence[Listed] | Listing,
    recent: Sequence[AuditEntry],
    *,
    approver: bool,
    allow_self_approval: bool = False,
    now: float = 0.0,
) -> dict:
    """The Home tab for `viewer` (at most 100 blocks). `listed`: a `Listing` with every connection in
    flight (`Operations.overview`), or a whole list."""
    listing = listed if isinstance(listed, Listing) else Listing.of(listed, 0, max(1, len(listed)))
    connected = [x for x in listing.rows if x.connection.state is State.CONNECTED]
    active = listing.active
    blocks: list[dict] = [
        _header("Cloud Entitlements: AWS Organizations"),
        context(
            f"{listing.connected} connected ({active} active, {listing.connected - active} inactive) · "
            f"{listing.in_flight} in flight" + (f" · updated {when(now)}" if now else "")
        ),
        _divider(),
        section("*Organizations*"),
    ]
    if connected:
        blocks += [_org_row(x, approver) for x in connected[:ORGS_SHOWN]]
        if listing.connected > ORGS_SHOWN:
            blocks.append(context(f"…and {listing.connected - ORGS_SHOWN} more: `/ce list` shows them all."))
    else:
        blocks.append(context("None yet. Start with `/ce connect aws-org` in a channel."))

    if approver:
        waiting = [
            x.connection
            for x in listing.in_flight_rows
            if x.connection.state is State.PENDING_APPROVAL and (allow_self_approval or x.connection.requester != viewer)
        ]
        blocks += [_divider(), section("*Waiting for your decision*")]
        if waiting:
            for conn in waiting[:DECISIONS_SHOWN]:
                blocks += _decision(conn)
            if len(waiting) > DECISIONS_SHOWN:
                blocks.append(context(f"…and {len(waiting) - DECISIONS_SHOWN} more in the approval channel."))
        else:
            blocks.append(context("Nothing to decide right now."))

    mine = [x.connection for x in listing.in_flight_rows if x.connection.state.is_open and x.connection.requester == viewer]
    blocks += [_divider(), section("*Your connections in flight*")]
    if mine:
        blocks += [_mine(c) for c in mine[:MINE_SHOWN]]
    else:
        blocks.append(context("None. `/ce connect aws-org` starts one."))

    blocks += [_divider(), section("*Last events*")]
    if recent:
        blocks.append(section("\n".join(_event_line(e) for e in recent[:EVENTS_SHOWN])))
    else:
        blocks.append(context("Nothing has happened yet."))
    return {"type": "home", "blocks": blocks[:100]}


def _event_line(entry: AuditEntry) -> str:
    org = f"{code(entry.org)} · " if entry.org else ""
    return org + history_line(entry)


def notice_home(text: str) -> dict:
    """The Home as a notice only, when the dashboard cannot be read (the store is down): the next
    opening shows the dashboard again."""
    return {"type": "home", "blocks": [section(text)]}
