"""`ce-bot audit`: the audit log (`ce:audit`) as JSON lines, from a point in time.

Every transition, every Status toggle and every health re-check that found
something is one entry: who, when, what, from → to. `--since` takes an ISO
date or date-time (UTC unless it carries an offset) or a duration back from
now (`90s`, `30m`, `24h`, `7d`).
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timezone
from typing import Callable, Iterable, TextIO

from bot.store.connections import AuditEntry, ConnectionStore

DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhdw])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BadTime(ValueError):
    pass


def parse_time(text: str, *, now: Callable[[], float] = time.time) -> float:
    """Epoch seconds for an ISO date / date-time (UTC by default) or a duration ago ("24h")."""
    value = (text or "").strip()
    if not value:
        raise BadTime("give a date (2026-12-01), a date-time (2026-12-01T09:30) or a duration (24h, 7d)")
    match = DURATION.fullmatch(value.lower())
    if match:
        return now() - float(match["n"]) * UNIT_SECONDS[match["unit"]]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadTime(
            f"{value!r} is neither an ISO date/date-time (2026-12-01, 2026-12-01T09:30:00Z) nor a duration (24h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_json(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "recorded_at": iso(entry.recorded_at),
        "at": iso(entry.at) if entry.at else None,
        "connection": entry.conn,
        "org": entry.org,
        "actor": entry.actor,
        "event": entry.event,
        "from": entry.from_state,
        "to": entry.to_state,
        "detail": entry.detail,
    }


def export(entries: Iterable[AuditEntry], out: TextIO) -> int:
    count = 0
    for entry in entries:
        out.write(json.dumps(as_json(entry), ensure_ascii=False) + "\n")
        count += 1
    return count


def main(args) -> int:
    """`ce-bot audit [--since …] [--until …]`: Redis from REDIS_URL, else the embedded one under CE_DATA_DIR."""
    from pathlib import Path

    from bot import config as configuration
    from bot.store.client import StoreUnavailable, connect
    from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError

    try:
        start = parse_time(args.since) if args.since else None
        end = parse_time(args.until) if args.until else None
    except BadTime as error:
        print(f"ce-bot audit: {error}", file=sys.stderr)
        return 2
    env = configuration.environment()
    url, embedded = env.get("REDIS_URL", "").strip(), None
    if url:
        client = connect(url)
    else:
        embedded = EmbeddedRedis(Path(env.get("CE_DATA_DIR") or ".ce-bot"))
        client = connect(embedded.url)
        try:
            client.ping()  # a running bot's embedded Redis: read it where it is
            embedded = None
        except Exception:  # noqa: BLE001 - not running: start it on the same files, just for this
            client.close()
            try:
                client = connect(embedded.start())
            except EmbeddedRedisError as error:
                print(f"ce-bot audit: {error}", file=sys.stderr)
                return 1
    try:
        export(ConnectionStore(client).audit_entries(since=start, until=end), sys.stdout)
    except StoreUnavailable as error:
        print(f"ce-bot audit: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
        if embedded is not None:
            embedded.stop()
    return 0
