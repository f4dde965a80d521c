"""ConnectionStore.transition against a real Redis: the state table, roles, the org claim, atomicity."""

from __future__ import annotations

import json

import pytest
from store_testkit import APPROVER, OTHER, REQUESTER, TTL, actor_for, connection_in, dump, fields_for, new_org

from bot.connection.model import State
from bot.connection.states import SYSTEM_ACTOR, TRANSITIONS, Event
from bot.jobs.queue import Job
from bot.store.connections import Refusal

ALL_PAIRS = [(s, e) for s in State for e in Event]


# -- the table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "event"), list(TRANSITIONS), ids=lambda v: str(v))
def test_every_rule_applies(store, redis, clock, state, event):
    conn = connection_in(store, state)
    clock.advance(10)
    result = store.transition(conn.id, event, fields=fields_for(event), **actor_for(event))
    assert result.ok and result.refusal is None
    assert result.connection.state is TRANSITIONS[(state, event)].to
    assert result.connection.updated_at == clock.now
    assert redis.hget(f"ce:conn:{conn.id}", "state") == TRANSITIONS[(state, event)].to.value


@pytest.mark.parametrize(("state", "event"), [p for p in ALL_PAIRS if p not in TRANSITIONS], ids=lambda v: str(v))
def test_every_other_pair_is_wrong_state(store, redis, state, event):
    conn = connection_in(store, state)
    before = dump(redis)
    # Even an actor who could do anything is refused: the state decides first.
    result = store.transition(
        conn.id,
        event,
        actor=REQUESTER if event is not Event.EXPIRE and event not in (Event.VALIDATION_PASSED, Event.VALIDATION_FAILED) else SYSTEM_ACTOR,
        actor_is_approver=True,
        allow_self_approval=True,
        fields=fields_for(event),
        ttl=TTL,
        job=Job("slack", "announce_decision", conn.id),
    )
    assert not result.ok and result.refusal is Refusal.WRONG_STATE
    assert result.connection == conn  # as it stands, for the caller to explain
    assert dump(redis) == before


def test_not_found(store, redis):
    store.create(requester=REQUESTER, channel="C1", ttl=TTL)
    before = dump(redis)
    for conn_id in ("0123456789abcdef", "not-an-id", "", "0123456789ABCDEF", None):
        result = store.transition(conn_id, Event.CANCEL, actor=REQUESTER, job=Job("slack", "announce_closed", ""))
        assert result == type(result)(False, None, Refusal.NOT_FOUND)
    assert dump(redis) == before


# -- roles -------------------------------------------------------------------------------------------


def refused(store, redis, conn, event, **kwargs):
    before = dump(redis)
    result = store.transition(conn.id, event, fields=fields_for(event), job=Job("slack", "x", conn.id), **kwargs)
    assert not result.ok and result.refusal is Refusal.NOT_ALLOWED, result
    assert result.connection == store.get(conn.id)
    assert dump(redis) == before
    return result


def test_requester_events_refuse_anyone_else(store, redis):
    started = connection_in(store, State.STARTED)
    refused(store, redis, started, Event.SUBMIT_IDS, actor=OTHER)
    refused(store, redis, started, Event.SUBMIT_IDS, actor=APPROVER, actor_is_approver=True)
    refused(store, redis, started, Event.SUBMIT_IDS, actor=SYSTEM_ACTOR)
    awaiting = connection_in(store, State.AWAITING_STACK)
    refused(store, redis, awaiting, Event.SUBMIT_ROLE, actor=OTHER)
    assert store.transition(awaiting.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=fields_for(Event.SUBMIT_ROLE)).ok


def test_system_events_only_for_the_system(store, redis):
    validating = connection_in(store, State.VALIDATING)
    for event in (Event.VALIDATION_PASSED, Event.VALIDATION_FAILED):
        refused(store, redis, validating, event, actor=REQUESTER)
        refused(store, redis, validating, event, actor=APPROVER, actor_is_approver=True)
    started = connection_in(store, State.STARTED)
    refused(store, redis, started, Event.EXPIRE, actor=REQUESTER)
    refused(store, redis, started, Event.EXPIRE, actor=APPROVER, actor_is_approver=True)
    assert store.transition(validating.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR).ok
    assert store.transition(started.id, Event.EXPIRE, actor=SYSTEM_ACTOR).ok


@pytest.mark.parametrize("event", [Event.APPROVE, Event.REJECT])
def test_decisions_need_an_approver_other_than_the_requester(store, redis, event):
    conn = connection_in(store, State.PENDING_APPROVAL)
    refused(store, redis, conn, event, actor=OTHER)
    refused(store, redis, conn, event, actor=REQUESTER)  # four eyes: the requester is refused...
    refused(store, redis, conn, event, actor=REQUESTER, actor_is_approver=True)  # ...even as an approver
    refused(store, redis, conn, event, actor=SYSTEM_ACTOR)
    result = store.transition(conn.id, event, actor=APPROVER, actor_is_approver=True)
    assert result.ok and result.connection.decided_by == APPROVER


@pytest.mark.parametrize("event", [Event.APPROVE, Event.REJECT])
def test_self_approval_when_allowed(store, event):
    conn = connection_in(store, State.PENDING_APPROVAL)
    result = store.transition(conn.id, event, actor=REQUESTER, actor_is_approver=True, allow_self_approval=True)
    assert result.ok and result.connection.decided_by == REQUESTER
    # allow_self_approval never makes a non-approver an approver
    other = connection_in(store, State.PENDING_APPROVAL)
    assert store.transition(other.id, event, actor=REQUESTER, allow_self_approval=True).refusal is Refusal.NOT_ALLOWED


def test_disconnect_is_for_approvers(store, redis):
    conn = connection_in(store, State.CONNECTED)
    refused(store, redis, conn, Event.DISCONNECT, actor=OTHER)
    refused(store, redis, conn, Event.DISCONNECT, actor=REQUESTER, actor_is_approver=True)
    assert store.transition(conn.id, Event.DISCONNECT, actor=OTHER, actor_is_approver=True).ok


@pytest.mark.parametrize("state", [State.STARTED, State.AWAITING_STACK, State.VALIDATION_FAILED, State.PENDING_APPROVAL])
def test_cancel_by_requester_or_any_approver(store, redis, state):
    conn = connection_in(store, state)
    refused(store, redis, conn, Event.CANCEL, actor=OTHER)
    refused(store, redis, conn, Event.CANCEL, actor=SYSTEM_ACTOR)
    assert store.transition(conn.id, Event.CANCEL, actor=REQUESTER).ok
    other = connection_in(store, state)
    assert store.transition(other.id, Event.CANCEL, actor=OTHER, actor_is_approver=True).ok


# -- the organization ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [State.AWAITING_STACK, State.VALIDATING, State.VALIDATION_FAILED, State.PENDING_APPROVAL, State.CONNECTED]
)
def test_org_held_while_open_or_connected(store, redis, state):
    org = new_org()
    first = connection_in(store, state, org=org)
    assert redis.get(f"ce:org:{org}") == first.id
    assert store.holder(org) == first
    second = connection_in(store, State.STARTED, requester=OTHER)
    before = dump(redis)
    result = store.transition(
        second.id, Event.SUBMIT_IDS, actor=OTHER, fields={"org_id": org}, ttl=TTL, job=Job("slack", "send_template", "")
    )
    assert not result.ok and result.refusal is Refusal.ORG_TAKEN
    assert result.connection == second
    assert result.holder == first
    assert dump(redis) == before


@pytest.mark.parametrize("state", [State.CANCELLED, State.REJECTED, State.EXPIRED, State.DISCONNECTED])
def test_org_free_again_after_a_final_state(store, redis, state):
    org = new_org()
    first = connection_in(store, state, org=org)
    assert redis.exists(f"ce:org:{org}") == 0
    assert store.holder(org) is None
    second = connection_in(store, State.STARTED, requester=OTHER)
    result = store.transition(second.id, Event.SUBMIT_IDS, actor=OTHER, fields={"org_id": org})
    assert result.ok and result.connection.org_id == org
    assert store.holder(org).id == second.id
    assert store.get(first.id).org_id == org  # the old connection keeps its history


def test_release_only_removes_its_own_claim(store, redis):
    org = new_org()
    conn = connection_in(store, State.AWAITING_STACK, org=org)
    redis.set(f"ce:org:{org}", "ffffffffffffffff")  # someone else's claim (never happens; must not be undone)
    assert store.transition(conn.id, Event.CANCEL, actor=REQUESTER).ok
    assert redis.get(f"ce:org:{org}") == "ffffffffffffffff"


def test_stale_claim_is_taken_over(store, redis):
    org = new_org()
    redis.set(f"ce:org:{org}", "0000000000000000")  # a holder that does not exist
    conn = connection_in(store, State.STARTED)
    assert store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"org_id": org}).ok
    assert redis.get(f"ce:org:{org}") == conn.id


def test_other_orgs_are_independent(store):
    a = connection_in(store, State.PENDING_APPROVAL)
    b = connection_in(store, State.PENDING_APPROVAL)
    assert a.org_id != b.org_id
    assert store.holder(a.org_id).id == a.id and store.holder(b.org_id).id == b.id
    assert store.holder("o-nobody") is None and store.holder("") is None


# -- fields ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["id", "state", "created_at", "requester", "updated_at", "expires_at", "bogus"])
def test_refuses_fields_it_manages_or_does_not_know(store, redis, name):
    conn = connection_in(store, State.AWAITING_STACK)
    before = dump(redis)
    with pytest.raises(ValueError):
        store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields={name: "x"})
    assert dump(redis) == before


def test_org_id_only_with_the_claim(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    with pytest.raises(ValueError):
        store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields={"org_id": new_org()})
    started = connection_in(store, State.STARTED)
    with pytest.raises(ValueError):
        store.transition(started.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"root_id": "r-ab12"})
    with pytest.raises(ValueError):
        store.transition(started.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"org_id": ""})


def test_fields_are_set_with_the_transition(store, clock):
    conn = connection_in(store, State.STARTED)
    result = store.transition(
        conn.id,
        Event.SUBMIT_IDS,
        actor=REQUESTER,
        fields={"org_id": "o-abcdefghij", "root_id": "r-ab12", "external_id": "ext", "region": "eu-west-1"},
    )
    assert result.ok
    got = result.connection
    assert (got.org_id, got.root_id, got.external_id, got.region) == ("o-abcdefghij", "r-ab12", "ext", "eu-west-1")
    assert store.get(conn.id) == got


def test_approve_and_reject_record_who_decided(store, clock):
    conn = connection_in(store, State.PENDING_APPROVAL)
    clock.advance(5)
    result = store.transition(conn.id, Event.APPROVE, actor=APPROVER, actor_is_approver=True, fields={"status": "active"})
    assert (result.connection.decided_by, result.connection.decided_at, result.connection.status) == (
        APPROVER,
        clock.now,
        "active",
    )
    other = connection_in(store, State.PENDING_APPROVAL)
    result = store.transition(
        other.id, Event.REJECT, actor=APPROVER, actor_is_approver=True, fields={"reject_reason": "wrong org"}
    )
    assert result.connection.reject_reason == "wrong org" and result.connection.decided_by == APPROVER


def test_accounts_replaced_and_counted(store):
    conn = connection_in(store, State.VALIDATING)
    accounts = [
        {"id": "222222222222", "name": "b", "email": "b@example.com", "status": "ACTIVE"},
        {"id": "111111111111", "name": "a", "email": "a@example.com", "status": "ACTIVE"},
    ]
    result = store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR, accounts=accounts)
    assert result.connection.account_count == 2
    assert store.accounts(conn.id) == sorted(accounts, key=lambda a: a["id"])
    result = store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER)
    assert result.connection.account_count == 2  # untouched without accounts
    result = store.transition(conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR, accounts=[accounts[0]])
    assert result.connection.account_count == 1
    assert store.accounts(conn.id) == [accounts[0]]
    assert store.accounts("nope") == []


def test_many_accounts(store, redis):
    conn = connection_in(store, State.VALIDATING)
    accounts = [{"id": f"{i:012d}", "name": f"n{i}"} for i in range(2500)]
    result = store.transition(conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR, accounts=accounts)
    assert result.connection.account_count == 2500
    assert redis.hlen(f"ce:conn:{conn.id}:accounts") == 2500
    assert json.loads(redis.hget(f"ce:conn:{conn.id}:accounts", "000000000042")) == {"id": "000000000042", "name": "n42"}


# -- expiry ------------------------------------------------------------------------------------------


def test_expiry_bookkeeping(store, redis, clock):
    t0 = clock.now
    conn = store.create(requester=REQUESTER, channel="C1", ttl=100)
    assert conn.expires_at == t0 + 100
    assert redis.zscore("ce:expiry", conn.id) == t0 + 100
    assert redis.zscore("ce:connections", conn.id) == t0

    clock.advance(10)  # open with a ttl: a new deadline
    result = store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"org_id": new_org()}, ttl=50)
    assert result.connection.expires_at == t0 + 60 and redis.zscore("ce:expiry", conn.id) == t0 + 60

    clock.advance(10)  # open without a ttl: the deadline stays
    result = store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER)
    assert result.connection.expires_at == t0 + 60 and redis.zscore("ce:expiry", conn.id) == t0 + 60

    result = store.transition(conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR, ttl=1000)
    assert redis.zscore("ce:expiry", conn.id) == clock.now + 1000

    result = store.transition(conn.id, Event.APPROVE, actor=APPROVER, actor_is_approver=True, ttl=1000)
    assert result.connection.expires_at == 0.0  # connected: no expiry, even with a ttl
    assert redis.zscore("ce:expiry", conn.id) is None


@pytest.mark.parametrize("event", [Event.CANCEL, Event.EXPIRE])
def test_final_states_leave_the_expiry_index(store, redis, event):
    conn = connection_in(store, State.AWAITING_STACK)
    result = store.transition(conn.id, event, **actor_for(event))
    assert result.connection.expires_at == 0.0 and redis.zscore("ce:expiry", conn.id) is None


def test_due_to_expire(store, clock):
    soon = store.create(requester=REQUESTER, channel="C1", ttl=10)
    later = store.create(requester=REQUESTER, channel="C1", ttl=1000)
    assert store.due_to_expire() == []
    clock.advance(11)
    assert store.due_to_expire() == [soon.id]
    assert store.transition(soon.id, Event.EXPIRE, actor=SYSTEM_ACTOR).ok
    assert store.due_to_expire() == []
    assert store.due_to_expire(clock.now + 2000) == [later.id]


# -- audit -------------------------------------------------------------------------------------------


def test_audit_trail(store, redis, clock):
    t0 = clock.now
    conn = store.create(requester=REQUESTER, channel="C1", ttl=TTL)
    clock.advance(1)
    store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"org_id": "o-auditaudit"}, detail="o-auditaudit r-1")
    store.transition(conn.id, Event.CANCEL, actor=OTHER)  # refused: no entry
    clock.advance(1)
    store.transition(conn.id, Event.CANCEL, actor=APPROVER, actor_is_approver=True, detail="duplicate")
    connection_in(store, State.CONNECTED)  # other connections' entries are not in this history

    history = store.history(conn.id)
    assert [(h.event, h.from_state, h.to_state, h.actor, h.org, h.at, h.detail) for h in history] == [
        ("start", "", "started", REQUESTER, "", t0, ""),
        ("submit_ids", "started", "awaiting_stack", REQUESTER, "o-auditaudit", t0 + 1, "o-auditaudit r-1"),
        ("cancel", "awaiting_stack", "cancelled", APPROVER, "o-auditaudit", t0 + 2, "duplicate"),
    ]
    assert all(h.conn == conn.id for h in history)
    raw = redis.xrange("ce:audit")[-1][1]
    assert set(raw) == {"conn", "org", "actor", "event", "from", "to", "at", "detail"}
    assert store.history("0123456789abcdef") == [] and store.history("bad") == []


def test_history_pages_through_a_long_stream(store, redis):
    conn = connection_in(store, State.VALIDATING)
    pipe = redis.pipeline()
    for _ in range(2100):
        pipe.xadd("ce:audit", {"conn": "ffffffffffffffff", "event": "noise"})
    pipe.execute()
    store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR)
    assert [h.event for h in store.history(conn.id)] == ["start", "submit_ids", "submit_role", "validation_failed"]


# -- jobs --------------------------------------------------------------------------------------------


def test_job_enqueued_with_the_transition(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    result = store.transition(
        conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, job=Job("validate", "validate", conn.id, {"why": "new role"})
    )
    assert result.ok
    entries = redis.xrange("ce:jobs:validate")
    assert [fields for _, fields in entries] == [{"kind": "validate", "conn": conn.id, "why": "new role"}]


def test_no_job_without_the_transition(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    for kwargs in (
        {"actor": OTHER},  # not allowed
        {"actor": SYSTEM_ACTOR, "event": Event.VALIDATION_PASSED},  # wrong state
    ):
        event = kwargs.pop("event", Event.SUBMIT_ROLE)
        assert not store.transition(conn.id, event, job=Job("validate", "validate", conn.id), **kwargs).ok
    assert redis.exists("ce:jobs:validate") == 0


def test_job_conn_id_filled_in_and_checked(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    assert store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, job=Job("slack", "validate", "")).ok
    assert redis.xrange("ce:jobs:slack")[0][1]["conn"] == conn.id
    with pytest.raises(ValueError):
        store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR, job=Job("slack", "x", "0123456789abcdef"))
