"""A full picture of what the bot keeps in Redis, to prove a refusal changed nothing."""

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
