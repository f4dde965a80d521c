"""The operations' store methods against a real Redis: listing, the Status toggle, health records,
re-check and App Home claims (atomic across processes), event de-duplication, audit ranges."""

from __future__ import annotations

import dataclasses
import pickle
import time

import pytest
from store_testkit import APPROVER, OTHER, at_once, connected, connection_in, dump, new_org

from bot.aws.health import Uncovered
from bot.aws.validation import CheckResult, CheckStatus
from bot.connection.health import Health
from bot.connection.model import OrgStatus, State
from bot.jobs.queue import Job
from bot.store import connections
from bot.store.client import connect
from bot.store.connections import ConnectionStore, StatusOutcome, health_key
from tests.support.bot_server import TRUSTED_ACCOUNT

INTERVAL = 6 * 3600.0


# -- listing -----------------------------------------------------------------------------------------------


def test_a_whole_listing_holds_the_open_and_connected_ones_with_their_health(store):
    live = connected(store)
    in_flight = connection_in(store, State.AWAITING_STACK)
    connection_in(store, State.CANCELLED)
    connection_in(store, State.DISCONNECTED)
    store.record_health(live.id, Health(checked_at=123.0, checks=(CheckResult("a", "A", CheckStatus.FAILED),)), expected_version=0)
    listed = {x.connection.id: x for x in store.listing(page_size=0).rows}
    assert set(listed) == {live.id, in_flight.id}
    assert listed[live.id].checked_at == 123.0 and listed[live.id].problems == 1
    assert listed[live.id].connection.last_checks == ""  # not read: listings stay small
    assert listed[in_flight.id].checked_at == 0.0


# -- the Status toggle -------------------------------------------------------------------------------------


def test_a_toggle_is_atomic_audited_and_announced(store, redis):
    conn = connected(store)
    accounts_before = redis.hgetall(f"ce:conn:{conn.id}:accounts")
    result = store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, org_id=conn.org_id)
    assert result.ok and result.connection.status == "inactive"
    entry = redis.xrevrange("ce:audit", count=1)[0][1]
    assert (entry["event"], entry["from"], entry["to"], entry["actor"], entry["org"]) == (
        "disable", "active", "inactive", APPROVER, conn.org_id,
    )  # fmt: skip
    job = redis.xrevrange("ce:jobs:slack", count=1)[0][1]
    assert job == {"kind": "announce_status", "conn": conn.id, "actor": APPROVER, "status": "inactive"}
    assert redis.hgetall(f"ce:conn:{conn.id}:accounts") == accounts_before

    result = store.set_status(OrgStatus.ACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id)
    assert result.ok and result.connection.status == "active"


@pytest.mark.parametrize(
    "case, outcome",
    [
        ("already", StatusOutcome.UNCHANGED),
        ("not approver", StatusOutcome.NOT_ALLOWED),
        ("in flight", StatusOutcome.WRONG_STATE),
        ("unknown org", StatusOutcome.NOT_FOUND),
        ("unknown conn", StatusOutcome.NOT_FOUND),
        ("malformed conn", StatusOutcome.NOT_FOUND),
        ("disconnected", StatusOutcome.NOT_FOUND),
    ],
)
def test_a_refused_toggle_writes_nothing(store, redis, case, outcome):
    conn = connected(store)
    in_flight = connection_in(store, State.VALIDATION_FAILED)
    gone = connection_in(store, State.DISCONNECTED)
    before = dump(redis)
    kwargs = {
        "already": dict(status=OrgStatus.ACTIVE, actor_is_approver=True, org_id=conn.org_id),
        "not approver": dict(status=OrgStatus.INACTIVE, actor_is_approver=False, org_id=conn.org_id),
        "in flight": dict(status=OrgStatus.INACTIVE, actor_is_approver=True, org_id=in_flight.org_id),
        "unknown org": dict(status=OrgStatus.INACTIVE, actor_is_approver=True, org_id=new_org()),
        "unknown conn": dict(status=OrgStatus.INACTIVE, actor_is_approver=True, conn_id="0" * 16),
        "malformed conn": dict(status=OrgStatus.INACTIVE, actor_is_approver=True, conn_id="../../x"),
        "disconnected": dict(status=OrgStatus.INACTIVE, actor_is_approver=True, org_id=gone.org_id),
    }[case]
    result = store.set_status(actor=OTHER, **kwargs)
    assert result.outcome is outcome
    assert dump(redis) == before


def test_two_approvers_toggling_at_once_change_it_once(redis_url):
    stores = [ConnectionStore(connect(redis_url)) for _ in range(8)]
    conn = connected(stores[0])
    outcomes = at_once(
        lambda store: store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id).outcome,
        stores,
    )
    assert sorted(outcomes).count(StatusOutcome.OK) == 1
    assert outcomes.count(StatusOutcome.UNCHANGED) == len(stores) - 1
    assert [e["event"] for _, e in stores[0].redis.xrange("ce:audit")].count("disable") == 1


# -- health ------------------------------------------------------------------------------------------------


def test_health_is_written_with_compare_and_set_and_only_while_connected(store, redis):
    conn = connected(store)
    health = Health(
        checked_at=10.0,
        checks=(CheckResult("root", "Root", CheckStatus.PASSED),),
        uncovered=(Uncovered("111122223333", "Prod", "OUTDATED — SCP"),),
        members=3,
    )
    accounts = [{"id": "111122223333", "name": "Prod", "email": "", "status": "ACTIVE"}]
    job = Job("slack", "announce_health", "", {"change": "{}"})
    audit = {"org": conn.org_id, "actor": "system", "event": "recheck", "from": "healthy", "to": "1 problems", "detail": "x"}
    assert store.record_health(conn.id, health, expected_version=0, accounts=accounts, audit=audit, job=job) == ("ok", 1)
    stored = store.health(conn.id)
    assert stored.version == 1 and stored.uncovered == health.uncovered and stored.problems == 1
    assert store.get(conn.id).account_count == 1 and store.accounts(conn.id) == accounts
    assert redis.xrevrange("ce:jobs:slack", count=1)[0][1]["version"] == "1"
    assert redis.xrevrange("ce:audit", count=1)[0][1]["event"] == "recheck"

    before = dump(redis)
    assert store.record_health(conn.id, health, expected_version=0) == ("conflict", 1)  # someone wrote first
    assert dump(redis) == before

    store.transition(conn.id, "disconnect", actor=APPROVER, actor_is_approver=True)
    before = dump(redis)
    assert store.record_health(conn.id, health, expected_version=1)[0] == "wrong_state"
    assert dump(redis) == before


def test_a_health_version_is_announced_once(store):
    conn = connected(store)
    store.record_health(conn.id, Health(checked_at=1.0), expected_version=0)
    assert store.mark_notified(conn.id, 1) is True
    assert store.mark_notified(conn.id, 1) is False
    assert store.health(conn.id).notified == 1
    store.record_health(conn.id, Health(checked_at=2.0), expected_version=1)
    store.record_health(conn.id, Health(checked_at=3.0), expected_version=2)
    assert store.mark_notified(conn.id, 3) is True
    assert store.mark_notified(conn.id, 2) is False  # an older announcement, late: not announced again
    assert store.health(conn.id).notified == 3
    assert store.mark_notified("not-an-id", 4) is False


# -- scheduler claims --------------------------------------------------------------------------------------


def test_rechecks_are_due_an_interval_after_approval_or_the_last_claim(store, clock, redis):
    active = connected(store)
    inactive = connected(store)
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=inactive.id)
    connection_in(store, State.PENDING_APPROVAL)
    before = dump(redis)
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + INTERVAL - 1, job_queue="health") == []
    assert dump(redis) == before  # nothing due: nothing written
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + INTERVAL, job_queue="health") == [active.id]
    assert redis.xrange("ce:jobs:health")[-1][1] == {"kind": "recheck", "conn": active.id, "requested_by": "system"}
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + INTERVAL + 60, job_queue="health") == []
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + 2 * INTERVAL, job_queue="health") == [active.id]


def test_two_processes_claiming_at_once_claim_each_organization_once(redis_url, clock):
    stores = [ConnectionStore(connect(redis_url), clock=clock) for _ in range(6)]
    conns = [connected(stores[0]).id for _ in range(30)]
    claims = at_once(
        lambda store: store.claim_rechecks(interval=INTERVAL, now=clock.now + INTERVAL, limit=10, job_queue="health"),
        stores,
    )
    claimed = [conn_id for got in claims for conn_id in got]
    assert sorted(claimed) == sorted(conns)  # all 30 (10 per claim), none twice
    assert stores[0].redis.xlen("ce:jobs:health") == 30


def test_expiry_happens_once_with_two_processes(redis_url, clock):
    from bot.config import Config
    from bot.connection.flow import ConnectionFlow

    stores = [ConnectionStore(connect(redis_url), clock=clock) for _ in range(2)]
    conns = [connection_in(stores[0], State.AWAITING_STACK).id for _ in range(10)]
    clock.advance(3600 * 2)
    flows = [ConnectionFlow(s, Config(trusted_account_id=TRUSTED_ACCOUNT, approvers=frozenset({"U1"})), clock=clock) for s in stores]

    def expire(flow) -> list[str]:
        return [conn_id for conn_id in flow.store.due_to_expire() if flow.expire(conn_id).ok]

    expired = [conn_id for done in at_once(expire, flows) for conn_id in done]
    assert sorted(expired) == sorted(conns)
    assert stores[0].redis.xlen("ce:jobs:slack") == 10  # one announce_closed each


# -- App Home and retried events ---------------------------------------------------------------------------


def test_the_home_refresh_is_claimed_once_per_change_and_only_with_viewers(store, redis):
    connection_in(store, State.STARTED)
    before = dump(redis)
    assert store.claim_home_refresh() == []  # nobody opened the Home
    assert dump(redis) == before
    store.home_opened("U1")
    store.home_opened("U2")
    assert sorted(store.claim_home_refresh()) == ["U1", "U2"]
    assert store.claim_home_refresh() == []  # nothing new since
    connection_in(store, State.STARTED)
    other = ConnectionStore(store.redis, clock=store.clock)
    assert sorted(other.claim_home_refresh()) == ["U1", "U2"]
    assert store.claim_home_refresh() == []


def test_viewers_who_have_not_looked_for_a_month_are_forgotten(store, clock):
    store.home_opened("UOLD")
    clock.advance(31 * 86400)
    store.home_opened("UNEW")
    connection_in(store, State.STARTED)
    assert store.claim_home_refresh() == ["UNEW"]


def test_an_event_is_first_seen_once(store):
    assert store.first_sighting("event:Ev1", 60) is True
    assert store.first_sighting("event:Ev1", 60) is False
    assert store.first_sighting("event:Ev2", 60) is True


# -- audit ---------------------------------------------------------------------------------------------------


def test_audit_entries_by_time_and_the_most_recent(store):
    started = time.time()
    conn = connected(store)
    entries = list(store.audit_entries(since=started - 1))
    assert [e.event for e in entries][-5:] == ["start", "submit_ids", "submit_role", "validation_passed", "approve"]
    assert all(started - 1 <= e.recorded_at <= time.time() + 1 for e in entries)
    assert list(store.audit_entries(since=time.time() + 5)) == []
    assert [e.event for e in store.recent_audit(2)] == ["approve", "validation_passed"]
    assert len(list(store.audit_entries(since=started - 1, batch=2))) == len(entries)
    assert store.health(conn.id) is None and health_key(conn.id).endswith(":health")


# -- the listing and re-check indexes: pages and due re-checks never walk the history ---------------------


def test_a_list_page_is_read_from_the_indexes_with_the_counts(store, redis, clock):
    b = connected(store, org="o-abc1")
    a = connected(store, org="o-abc")  # a prefix of the other: first, as sorting by organization ID does
    c = connected(store, org="o-zzz")
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=c.id)
    clock.advance(1)
    old = connection_in(store, State.AWAITING_STACK)
    clock.advance(1)
    new = connection_in(store, State.STARTED)
    connection_in(store, State.CANCELLED)
    gone = connected(store)
    store.transition(gone.id, "disconnect", actor=APPROVER, actor_is_approver=True)
    redis.delete("ce:connections")  # the history is not read

    first = store.listing(0, page_size=2)
    assert [x.connection.id for x in first.rows] == [a.id, b.id]
    assert (first.page, first.connected, first.active, first.in_flight, first.pages) == (0, 3, 2, 2, 3)
    second = store.listing(1, page_size=2)
    assert [x.connection.id for x in second.rows] == [c.id, old.id]
    last = store.listing(99, page_size=2)  # clamped to the last page
    assert last.page == 2 and [x.connection.id for x in last.rows] == [new.id]
    assert store.listing(0, page_size=2, around=new.id).page == 2
    assert store.listing(0, page_size=2, around=c.id).page == 1
    assert [x.connection.id for x in store.listing(0, page_size=2, in_flight_all=True).in_flight_rows] == [old.id, new.id]
    assert [x.connection.id for x in store.listing(page_size=0).rows] == [a.id, b.id, c.id, old.id, new.id]


def test_a_page_asked_again_is_parsed_once_and_shows_every_change(store):
    empty = store.listing()
    assert (empty.rows, empty.in_flight_rows, empty.total) == ((), (), 0)  # the script's JSON writes [] as {}
    conn = connected(store, org="o-abc")
    first = store.listing(in_flight_all=True)
    assert store.listing(in_flight_all=True) is first  # the same reply: parsed once
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id)
    again = store.listing(in_flight_all=True)
    assert again.active == 0 and again.rows[0].connection.status == "inactive"
    store.record_health(conn.id, Health(checked_at=5.0, checks=()), expected_version=0)
    assert store.listing(in_flight_all=True).rows[0].checked_at == 5.0
    assert first.active == 1 and first.rows[0].connection.status == "active"  # what was read stays as read


def test_a_listing_hashes_once_and_as_its_equals_do(store, monkeypatch):
    """A page kept rendered is looked up by its listing: hashing 20 connections of 27 fields each time
    was the list job's largest pure-Python cost, so a listing (immutable) hashes once."""
    connected(store, org="o-abc")
    listing = store.listing(0)
    again = dataclasses.replace(listing)
    assert again == listing and again is not listing and hash(again) == hash(listing)
    assert {listing: "kept"}[again] == "kept"
    assert "_hash" not in vars(pickle.loads(pickle.dumps(listing)))  # another process hashes anew
    monkeypatch.setattr(connections.Listed, "__hash__", lambda self: pytest.fail("hashed again"))
    hash(listing)  # already hashed: not again


def test_a_page_is_kept_in_redis_until_the_next_write(store, redis):
    """The same page asked again is one HGET in Redis (its 40 HMGETs held every other command for
    ~0.4 ms); a page `around` a connection or with every connection in flight is not kept."""
    conn = connected(store, org="o-abc")
    first = store.listing(0)
    assert redis.hlen("ce:listings") == 1 and 0 < redis.ttl("ce:listings") <= connections.LISTINGS_KEPT_FOR
    redis.hset(f"ce:conn:{conn.id}", "requester", "UWRITTENAROUNDTHESCRIPTS")  # not through a script
    assert store.listing(0) == first  # so the kept page is what was answered
    store.listing(0, around=conn.id)
    store.listing(0, in_flight_all=True)
    assert redis.hlen("ce:listings") == 1
    redis.expire("ce:listings", 5)
    store.listing(0, page_size=1)  # another page kept: the first one's deadline stands
    assert redis.hlen("ce:listings") == 2 and redis.ttl("ce:listings") <= 5


def test_every_write_a_listing_shows_drops_the_kept_pages(store, redis):
    conn = connection_in(store, State.PENDING_APPROVAL, org="o-abc")
    writes = [
        lambda: store.create(requester=OTHER, channel="CCHANNEL", ttl=60),
        lambda: store.transition(conn.id, "approve", actor=APPROVER, actor_is_approver=True),
        lambda: store.update(conn.id, status="active"),
        lambda: store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id),
        lambda: store.record_health(conn.id, Health(checked_at=5.0, checks=()), expected_version=0),
    ]
    for write in writes:
        before = store.listing(0)
        assert redis.exists("ce:listings")
        write()
        assert not redis.exists("ce:listings")
        assert store.listing(0) != before
    last = store.listing(0)
    assert (last.connected, last.active, last.rows[0].checked_at) == (1, 0, 5.0)


def test_a_large_listing_is_parsed_each_time_not_kept(store, monkeypatch):
    """Only replies of a page's size are kept: one with every connection in flight can be megabytes."""
    connected(store, org="o-abc")
    monkeypatch.setattr(connections, "LISTING_KEPT_SIZE", 10)
    first = store.listing(in_flight_all=True)
    again = store.listing(in_flight_all=True)
    assert again is not first and again == first


def test_the_indexes_follow_every_state_and_status_change(store, redis):
    conn = connection_in(store, State.PENDING_APPROVAL)
    assert redis.zscore("ce:in_flight", conn.id) == conn.created_at
    conn = store.transition(conn.id, "approve", actor=APPROVER, actor_is_approver=True).connection
    assert redis.zscore("ce:in_flight", conn.id) is None
    assert redis.zrange("ce:orgs", 0, -1) == [f"{conn.org_id} {conn.id}"]
    assert redis.zscore("ce:recheck", conn.id) is None  # no status yet
    store.update(conn.id, status="active")
    assert redis.zscore("ce:recheck", conn.id) == conn.decided_at
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id)
    assert redis.zscore("ce:recheck", conn.id) is None
    store.set_status(OrgStatus.ACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id)
    assert redis.zscore("ce:recheck", conn.id) == conn.decided_at
    store.transition(conn.id, "disconnect", actor=APPROVER, actor_is_approver=True)
    assert [redis.zcard(k) for k in ("ce:orgs", "ce:in_flight", "ce:recheck")] == [0, 0, 0]
    for state in (State.CANCELLED, State.EXPIRED, State.REJECTED):
        connection_in(store, state)
    assert redis.zcard("ce:in_flight") == 0 and redis.zcard("ce:orgs") == 0


def test_rechecks_are_claimed_from_the_due_index_not_the_history(store, clock, redis):
    active = connected(store)
    redis.delete("ce:connections")
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + INTERVAL, job_queue="health") == [active.id]
    assert redis.zscore("ce:recheck", active.id) == clock.now + INTERVAL  # due again an interval after the claim
    store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=active.id)
    store.set_status(OrgStatus.ACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=active.id)
    assert redis.zscore("ce:recheck", active.id) == clock.now + INTERVAL  # the last claim still counts
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + 2 * INTERVAL - 1, job_queue="health") == []
    assert store.claim_rechecks(interval=INTERVAL, now=clock.now + 2 * INTERVAL, job_queue="health") == [active.id]
