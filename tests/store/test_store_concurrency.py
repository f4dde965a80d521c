"""Races against the real Redis: each thread has its own client, all start at once."""

from __future__ import annotations

from collections import Counter

from store_testkit import TTL, at_once, connection_in

from bot.connection.model import State
from bot.connection.states import Event
from bot.jobs.queue import Job
from bot.store.client import connect
from bot.store.connections import ConnectionStore, Refusal


def race(redis_url, clock, n, attempt):
    """Run attempt(store, i) in n threads released together, each with a store of its own; the results by i."""
    stores = []

    def own_store(i):
        store = ConnectionStore(connect(redis_url), clock=clock)
        stores.append(store)
        store.ping()  # connected and scripts ready before the start line
        return store, i

    try:
        return at_once(lambda ready: attempt(*ready), range(n), ready=own_store)
    finally:
        for store in stores:
            store.redis.close()


def test_twenty_connections_one_org(store, redis, redis_url, clock):
    org = "o-racerace01"
    conns = [connection_in(store, State.STARTED, requester=f"UREQ{i:02d}") for i in range(20)]
    results = race(
        redis_url,
        clock,
        20,
        lambda s, i: s.transition(
            conns[i].id, Event.SUBMIT_IDS, actor=f"UREQ{i:02d}", fields={"org_id": org}, ttl=TTL,
            job=Job("slack", "send_template", conns[i].id),
        ),  # fmt: skip
    )
    winners = [i for i, r in enumerate(results) if r.ok]
    assert len(winners) == 1
    winner = conns[winners[0]].id
    assert redis.get(f"ce:org:{org}") == winner
    for r in results:
        if not r.ok:
            assert r.refusal is Refusal.ORG_TAKEN and r.holder.id == winner and r.connection.state is State.STARTED
    assert Counter(s.state for s in map(store.get, (c.id for c in conns))) == {State.AWAITING_STACK: 1, State.STARTED: 19}
    assert [f["conn"] for _, f in redis.xrange("ce:jobs:slack")] == [winner]


def test_ten_approvers_one_connection(store, redis, redis_url, clock):
    conn = connection_in(store, State.PENDING_APPROVAL)
    results = race(
        redis_url,
        clock,
        10,
        lambda s, i: s.transition(
            conn.id, Event.APPROVE, actor=f"UAPP{i:02d}", actor_is_approver=True,
            job=Job("slack", "announce_decision", conn.id),
        ),  # fmt: skip
    )
    winners = [i for i, r in enumerate(results) if r.ok]
    assert len(winners) == 1
    winner = f"UAPP{winners[0]:02d}"
    for r in results:
        if not r.ok:
            assert r.refusal is Refusal.WRONG_STATE
            assert r.connection.state is State.CONNECTED and r.connection.decided_by == winner
    assert store.get(conn.id).decided_by == winner
    assert len(redis.xrange("ce:jobs:slack")) == 1
    assert [h.event for h in store.history(conn.id)].count("approve") == 1
