"""A full picture of what the bot keeps in Redis, to prove a refusal changed nothing."""

from __future__ import annotations

import redis as redis_py


def dump(redis_url: str) -> dict:
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    state = {}
    for key in sorted(client.scan_iter("ce:*")):
        if key.startswith("ce:seen:"):
            continue  # which deliveries were handled (each once), not state
        kind = client.type(key)
        if kind == "hash":
            state[key] = client.hgetall(key)
        elif kind == "string":
            state[key] = client.get(key)
        elif kind == "zset":
            state[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            state[key] = [entry_id for entry_id, _ in client.xrange(key)]
        elif kind == "set":
            state[key] = sorted(client.smembers(key))
    client.close()
    return state
