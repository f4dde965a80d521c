"""What the bot keeps in Redis: a full picture (to prove a refusal changed nothing), a connection, the audit trail."""

from __future__ import annotations

import redis as redis_py


def dump(redis_url: str) -> dict:
    """Every ce:* key with its whole content (stream entries included).

    Left out: ce:seen:* (which deliveries were already handled: bookkeeping of retries, not state)."""
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    state: dict = {}
    try:
        for key in sorted(client.scan_iter("ce:*")):
            if key.startswith("ce:seen:"):
                continue
            kind = client.type(key)
            if kind == "hash":
                state[key] = client.hgetall(key)
            elif kind == "string":
                state[key] = client.get(key)
            elif kind == "zset":
                state[key] = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                state[key] = client.xrange(key)
            elif kind == "set":
                state[key] = sorted(client.smembers(key))
            elif kind == "list":
                state[key] = client.lrange(key, 0, -1)
            else:
                state[key] = kind
    finally:
        client.close()
    return state


def connection_of(redis_url: str, org_id: str) -> dict:
    """The connection holding `org_id` (its ce:conn:* hash), or {} when none does."""
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    try:
        conn_id = client.get(f"ce:org:{org_id}")
        return client.hgetall(f"ce:conn:{conn_id}") if conn_id else {}
    finally:
        client.close()


def audit_events(redis_url: str, conn_id: str | None = None) -> list[dict]:
    """The audit trail (ce:audit), oldest first; only the connection's entries when `conn_id` is given."""
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [e for _, e in client.xrange("ce:audit") if conn_id is None or e.get("conn") == conn_id]
    finally:
        client.close()
