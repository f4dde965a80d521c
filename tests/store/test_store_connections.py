"""ConnectionStore outside transitions: ids, create, get, update."""

from __future__ import annotations

import pytest
from store_testkit import REQUESTER, TTL, connection_in, dump

from bot.connection.model import Connection, State
from bot.jobs.queue import Job
from bot.store.connections import ConnectionStore, is_connection_id, new_connection_id


def test_connection_ids():
    ids = {new_connection_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_connection_id(i) for i in ids)
    for bad in ("", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg",
                "0123456789abcdef\n", " 0123456789abcdef", "../../etc/passwd", None, 123, b"0123456789abcdef"):  # fmt: skip
        assert not is_connection_id(bad), bad


def test_create(store, redis, clock):
    conn = store.create(requester=REQUESTER, channel="C0123", ttl=TTL)
    assert is_connection_id(conn.id)
    assert conn.state is State.STARTED
    assert (conn.requester, conn.channel, conn.created_at, conn.updated_at) == (REQUESTER, "C0123", clock.now, clock.now)
    assert conn.expires_at == clock.now + TTL
    assert store.get(conn.id) == conn
    assert Connection.from_hash(redis.hgetall(f"ce:conn:{conn.id}")) == conn
    assert redis.zscore("ce:connections", conn.id) == clock.now
    assert redis.zscore("ce:expiry", conn.id) == clock.now + TTL
    [(_, audit)] = redis.xrange("ce:audit")
    assert audit == {"conn": conn.id, "org": "", "actor": REQUESTER, "event": "start", "from": "",
                     "to": "started", "at": repr(clock.now), "detail": ""}  # fmt: skip
    assert redis.exists("ce:jobs:slack") == 0


def test_create_with_a_job(store, redis):
    conn = store.create(requester=REQUESTER, channel="C1", ttl=TTL, job=Job("slack", "open_thread", "", {"response_url": "u"}))
    [(_, job)] = redis.xrange("ce:jobs:slack")
    assert job == {"kind": "open_thread", "conn": conn.id, "response_url": "u"}


def test_create_never_overwrites(store, redis, monkeypatch):
    first = store.create(requester=REQUESTER, channel="C1", ttl=TTL)
    ids = iter([first.id, "00000000000000aa"])
    monkeypatch.setattr("bot.store.connections.new_connection_id", lambda: next(ids))
    second = store.create(requester="UOTHER", channel="C2", ttl=TTL, job=Job("slack", "open_thread", ""))
    assert second.id == "00000000000000aa"
    assert store.get(first.id) == first
    assert [f["conn"] for _, f in redis.xrange("ce:jobs:slack")] == [second.id]


def test_create_needs_requester_and_channel(store):
    with pytest.raises(ValueError):
        store.create(requester="", channel="C1", ttl=TTL)


def test_get(store):
    assert store.get("0123456789abcdef") is None
    conn = connection_in(store, State.PENDING_APPROVAL)
    assert store.get(conn.id) == conn


def test_invalid_ids_never_reach_redis(tmp_path):
    from bot.store.client import connect

    store = ConnectionStore(connect(f"unix://{tmp_path}/nothing.sock"))  # no Redis there
    for bad in ("", "x", "0123456789ABCDEF", None, "'; FLUSHALL"):
        assert store.get(bad) is None
        assert store.update(bad, parent_ts="1.0") is None
        assert store.accounts(bad) == []
        assert store.history(bad) == []
        assert store.transition(bad, "cancel", actor=REQUESTER).refusal == "not_found"


def test_update(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    updated = store.update(conn.id, parent_ts="1700000000.000100", checklist_ts="1.2", status="inactive")
    assert (updated.parent_ts, updated.checklist_ts, updated.status) == ("1700000000.000100", "1.2", "inactive")
    assert updated.state is conn.state and updated.updated_at == conn.updated_at
    assert store.get(conn.id) == updated
    assert len(redis.xrange("ce:audit")) == 2  # bookkeeping is not a transition


def test_update_only_existing_connections(store, redis):
    before = dump(redis)
    assert store.update("0123456789abcdef", parent_ts="1.0") is None
    assert dump(redis) == before


@pytest.mark.parametrize(
    "name", ["state", "org_id", "id", "requester", "created_at", "updated_at", "expires_at", "account_count", "bogus"]
)
def test_update_refuses(store, redis, name):
    conn = connection_in(store, State.AWAITING_STACK)
    before = dump(redis)
    with pytest.raises(ValueError):
        store.update(conn.id, **{name: "x"})
    assert dump(redis) == before


def test_update_needs_a_field(store):
    with pytest.raises(ValueError):
        store.update(connection_in(store, State.STARTED).id)


def test_ping(store):
    assert store.ping() is True
