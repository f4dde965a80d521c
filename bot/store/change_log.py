"""One INFO line of `bot.changes` per change the store makes: a connection created, a transition, a
Status toggle; with its connection, organization, actor, event and from -> to.

With CE_LOG_JSON the line's `conn` and `user` are the connection and the Slack user who made the
change: set with `bot.logs.bind`, since the record factory fills those two fields itself (as `extra`
they would be refused). The whole change is also the record's `change` field, for any handler.
They are written only with CE_LOG_JSON (and INFO), like `bot.events`' lines: they run on ack paths,
so a line nobody wants costs the one check of `wanted()`.
"""

from __future__ import annotations

import logging

from bot import logs
from bot.connection.model import Connection
from bot.connection.states import SYSTEM_ACTOR

CHANGES = logging.getLogger("bot.changes")


def wanted() -> bool:
    return logs.event_lines_wanted(CHANGES)


def changed(conn: Connection, *, actor: str, event: str, from_state: str, to_state: str) -> None:
    change = {"conn": conn.id, "org": conn.org_id, "actor": actor, "event": event, "from": from_state, "to": to_state}
    with logs.bind(conn=conn.id, user="" if actor == SYSTEM_ACTOR else actor):
        CHANGES.info(
            "%s: %s -> %s, connection %s, organization %s, by %s",
            event, from_state or "-", to_state, conn.id, conn.org_id or "-", actor,
            extra={"change": change},
        )  # fmt: skip
