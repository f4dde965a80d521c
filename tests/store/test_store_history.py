"""A connection's audit history (`/ce status`) is read from its own index of audit entry IDs
(`ce:conn:{id}:audit`, written by every script that appends to ce:audit), never by scanning ce:audit;
connections recorded before that index existed still get theirs from the scan."""

from __future__ import annotations

from store_testkit import APPROVER, connected, connection_in

from bot.connection.health import Health
from bot.connection.model import OrgStatus, State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.store.ack_redis import AckRedis
from bot.store.ack_store import AckStore
from bot.store.connections import AUDIT_KEEP, AuditEntry
from tests.support.event_loop import run


def index_of(conn_id: str) -> str:
    return f"ce:conn:{conn_id}:audit"


def scanned(redis, conn_id: str) -> list[AuditEntry]:
    """What the history was before the index: every ce:audit entry of the connection, oldest first."""
    return [AuditEntry.from_entry(i, e) for i, e in redis.xrange("ce:audit") if e.get("conn") == conn_id]


def test_every_audit_writer_indexes_its_entry_for_the_connection(store, redis):
    conn = connected(store)  # create.lua, then transition.lua
    other = connection_in(store, State.AWAITING_STACK)
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id)  # status.lua
    audit = {"org": conn.org_id, "actor": SYSTEM_ACTOR, "event": "recheck", "from": "healthy", "to": "1 problem"}
    assert store.record_health(conn.id, Health(checked_at=1.0), expected_version=0, audit=audit)[0] == "ok"  # health

    for conn_id in (conn.id, other.id):
        assert redis.lrange(index_of(conn_id), 0, -1) == [e.id for e in scanned(redis, conn_id)]
    assert [e.event for e in store.history(conn.id)] == [
        "start", "submit_ids", "submit_role", "validation_passed", "approve", "disable", "recheck",
    ]  # fmt: skip
    assert store.history(conn.id) == scanned(redis, conn.id)  # the same entries, in the same order


def test_history_reads_only_the_connections_index(store, redis):
    conn = connection_in(store, State.VALIDATING)
    # An entry naming the connection that its index does not hold is not read: ce:audit is not scanned.
    redis.xadd("ce:audit", {"conn": conn.id, "event": "not indexed"})
    store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR)
    assert [h.event for h in store.history(conn.id)] == ["start", "submit_ids", "submit_role", "validation_failed"]


def test_entries_trimmed_from_the_audit_stream_are_skipped(store, redis):
    conn = connection_in(store, State.VALIDATION_FAILED)
    redis.xtrim("ce:audit", maxlen=2, approximate=False)  # what MAXLEN does to the oldest entries
    assert [h.event for h in store.history(conn.id)] == ["submit_role", "validation_failed"]
    redis.delete("ce:audit")
    assert store.history(conn.id) == []


def test_a_connection_recorded_before_the_index_still_has_its_history(store, redis):
    conn = connection_in(store, State.VALIDATION_FAILED)
    connection_in(store, State.AWAITING_STACK)
    expected = scanned(redis, conn.id)
    redis.delete(index_of(conn.id))  # as written by the scripts before the index existed
    assert store.history(conn.id) == expected
    assert [h.event for h in expected] == ["start", "submit_ids", "submit_role", "validation_failed"]


def test_the_index_keeps_the_last_entries_of_a_busy_connection(store, redis):
    conn = connected(store)
    statuses = [OrgStatus.INACTIVE, OrgStatus.ACTIVE]
    for i in range(AUDIT_KEEP + 5):
        assert store.set_status(statuses[i % 2], actor=APPROVER, actor_is_approver=True, conn_id=conn.id).ok
    assert redis.llen(index_of(conn.id)) == AUDIT_KEEP
    history = store.history(conn.id)
    assert history == scanned(redis, conn.id)[-AUDIT_KEEP:]
    assert {h.event for h in history} == {"enable", "disable"}  # start and the guided steps are older


def test_a_connection_created_on_an_ack_path_is_indexed_too(redis_url, store, redis):
    async def create():
        ack = AckStore(AckRedis(redis_url), store)
        try:
            conn = await ack.create(requester="U1", channel="C1", ttl=60)
            await ack.transition(conn.id, Event.CANCEL, actor="U1")
            return conn
        finally:
            await ack.close()

    conn = run(create())
    assert [h.event for h in store.history(conn.id)] == ["start", "cancel"]
    assert redis.llen(index_of(conn.id)) == 2
