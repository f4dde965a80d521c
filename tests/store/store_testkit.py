"""Helpers for the store tests: a controllable clock, a full dump of ce:* keys, connections in any state,
calls started at once."""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Iterable

from bot.connection.model import State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.store.connections import ConnectionStore

REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER"
OTHER = "UOTHER"
TTL = 3600.0
JOIN_TIMEOUT = 10.0  # a call at_once that hangs fails its test instead of hanging it

_orgs = itertools.count(1)


def new_org() -> str:
    return f"o-test{next(_orgs):08d}"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def dump(redis) -> dict:
    """Every ce:* key with its full content, for before/after comparisons."""
    out = {}
    for key in sorted(redis.scan_iter("ce:*")):
        kind = redis.type(key)
        if kind == "hash":
            value = redis.hgetall(key)
        elif kind == "string":
            value = redis.get(key)
        elif kind == "zset":
            value = redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = redis.xrange(key)
        elif kind == "list":
            value = redis.lrange(key, 0, -1)
        else:
            value = kind
        out[key] = (kind, value, redis.ttl(key))
    return out


# The path to each state from started: (event, actor, actor_is_approver)
_STEPS = {
    State.STARTED: [],
    State.AWAITING_STACK: [Event.SUBMIT_IDS],
    State.VALIDATING: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE],
    State.VALIDATION_FAILED: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.VALIDATION_FAILED],
    State.PENDING_APPROVAL: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.VALIDATION_PASSED],
    State.CONNECTED: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.VALIDATION_PASSED, Event.APPROVE],
    State.REJECTED: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.VALIDATION_PASSED, Event.REJECT],
    State.CANCELLED: [Event.SUBMIT_IDS, Event.CANCEL],
    State.EXPIRED: [Event.SUBMIT_IDS, Event.EXPIRE],
    State.DISCONNECTED: [Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.VALIDATION_PASSED, Event.APPROVE, Event.DISCONNECT],
}


def actor_for(event: Event, requester: str = REQUESTER) -> dict:
    """Keyword arguments naming an actor allowed to cause the event."""
    if event in (Event.SUBMIT_IDS, Event.SUBMIT_ROLE, Event.CANCEL):
        return {"actor": requester}
    if event in (Event.APPROVE, Event.REJECT, Event.DISCONNECT):
        return {"actor": APPROVER, "actor_is_approver": True}
    return {"actor": SYSTEM_ACTOR}


def fields_for(event: Event, org: str | None = None) -> dict | None:
    if event is Event.SUBMIT_IDS:
        return {"org_id": org or new_org(), "root_id": "r-ab12"}
    if event is Event.SUBMIT_ROLE:
        return {"role_arn": "arn:aws:iam::123456789012:role/CloudEntitlementsReadOnly"}
    return None


def connection_in(store: ConnectionStore, state: State, *, org: str | None = None, requester: str = REQUESTER):
    conn = store.create(requester=requester, channel="CCHANNEL", ttl=TTL)
    for event in _STEPS[state]:
        result = store.transition(conn.id, event, fields=fields_for(event, org), ttl=TTL, **actor_for(event, requester))
        assert result.ok, (state, event, result)
        conn = result.connection
    assert conn.state is state
    return conn


def connected(store: ConnectionStore, **kw):
    """A connection in CONNECTED with its organization active, as read back from the store."""
    conn = connection_in(store, State.CONNECTED, **kw)
    store.update(conn.id, status="active")
    return store.get(conn.id)


def at_once(call: Callable[[Any], Any], items: Iterable[Any], *, ready: Callable[[Any], Any] | None = None) -> list:
    """`call(item)` for every item, each in a thread of its own, all released together; the results, in
    order. `ready(item)`, when given, runs in the item's thread before the start line (a client of its
    own, connected), and `call` gets what it returned. The first error of any thread is raised."""
    items = list(items)
    barrier = threading.Barrier(len(items))
    results: list = [None] * len(items)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            item = ready(items[i]) if ready else items[i]
            barrier.wait()
            results[i] = call(item)
        except threading.BrokenBarrierError:
            pass  # another thread failed before the start line: its error is the one raised
        except Exception as error:  # noqa: BLE001 - raised in the caller's thread below
            barrier.abort()
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"a call did not return within {JOIN_TIMEOUT:g} s")
    return results
