"""A modal's view, once its submission was accepted, is never accepted again (transition.lua).

Slack gives each opened modal its own view ID and sends it with every submission of that modal: a
field error answered, the same view comes back corrected, with the same ID. So a view ID is recorded
only when its transition happens, and a view ID already recorded is refused (`replayed`) before any
write, whatever state the connection is back in."""

from __future__ import annotations


import pytest
from store_testkit import APPROVER, OTHER, REQUESTER, TTL, actor_for, connection_in, dump, fields_for

from bot.connection.model import State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.store.ack_redis import AckRedis
from bot.store.ack_store import AckStore
from bot.store.connections import Refusal, is_view_id
from tests.support.event_loop import run

DAY = 86400.0
ROLE = fields_for(Event.SUBMIT_ROLE)


def seen(view_id: str) -> str:
    return f"ce:seen:view:{view_id}"


def submit_role(store, conn_id: str, view_id: str, actor: str = REQUESTER):
    return store.transition(conn_id, Event.SUBMIT_ROLE, actor=actor, fields=ROLE, ttl=TTL, view_id=view_id, view_ttl=DAY)


def test_a_role_submission_replayed_after_its_validation_failed_is_refused(store, redis):
    conn = connection_in(store, State.AWAITING_STACK)
    assert submit_role(store, conn.id, "V0FIRSTVIEW").ok
    assert store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR).ok  # accepts submit_role again
    before = dump(redis)

    replay = submit_role(store, conn.id, "V0FIRSTVIEW")

    assert not replay.ok and replay.refusal is Refusal.REPLAYED
    assert replay.connection.state is State.VALIDATION_FAILED
    assert dump(redis) == before  # no second validation job, no audit entry, nothing
    assert submit_role(store, conn.id, "V0SECONDVIEW").ok  # "Try another role ARN" opens a new view


@pytest.mark.parametrize(
    ("state", "event"),
    [(State.STARTED, Event.SUBMIT_IDS), (State.AWAITING_STACK, Event.SUBMIT_ROLE), (State.PENDING_APPROVAL, Event.REJECT)],
)
def test_each_modals_accepted_view_is_remembered_for_its_ttl(store, redis, state, event):
    conn = connection_in(store, state)
    result = store.transition(conn.id, event, fields=fields_for(event), view_id="V0ACCEPTED", view_ttl=DAY, **actor_for(event))
    assert result.ok
    assert redis.get(seen("V0ACCEPTED")) == conn.id
    assert DAY - 5 <= redis.ttl(seen("V0ACCEPTED")) <= DAY


def test_a_view_refused_for_another_reason_is_not_remembered(store, redis):
    """A refusal changes nothing, the view's record included: the same view may still succeed."""
    conn = connection_in(store, State.AWAITING_STACK)
    assert submit_role(store, conn.id, "V0SAMEVIEW", actor=OTHER).refusal is Refusal.NOT_ALLOWED
    assert not redis.exists(seen("V0SAMEVIEW"))
    assert submit_role(store, conn.id, "V0SAMEVIEW").ok


def test_a_view_is_refused_on_any_connection_once_used(store, redis):
    first = connection_in(store, State.AWAITING_STACK)
    other = connection_in(store, State.AWAITING_STACK)
    assert submit_role(store, first.id, "V0USEDONCE").ok
    assert submit_role(store, other.id, "V0USEDONCE").refusal is Refusal.REPLAYED
    assert redis.hget(f"ce:conn:{other.id}", "state") == State.AWAITING_STACK.value


def test_a_replay_by_someone_not_allowed_is_told_so_first(store):
    """The refusal names the most telling reason: the state, then the person, then the view."""
    conn = connection_in(store, State.PENDING_APPROVAL)
    reject = dict(fields={"reject_reason": "no"}, view_id="V0REJECTED", view_ttl=DAY)
    assert store.transition(conn.id, Event.REJECT, actor=APPROVER, actor_is_approver=True, **reject).ok
    again = store.transition(conn.id, Event.REJECT, actor=APPROVER, actor_is_approver=True, **reject)
    assert again.refusal is Refusal.WRONG_STATE and again.connection.state is State.REJECTED


def test_the_ack_store_refuses_a_replayed_view_in_the_same_round_trip(redis_url, store, redis):
    conn = connection_in(store, State.AWAITING_STACK)

    async def submit_twice():
        ack = AckStore(AckRedis(redis_url), store)
        try:
            first = await ack.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=ROLE, view_id="V0ACKVIEW", view_ttl=DAY)
            assert first.ok
            assert store.transition(conn.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR).ok
            before = dump(redis)
            replay = await ack.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=ROLE, view_id="V0ACKVIEW", view_ttl=DAY)
            assert dump(redis) == before
            return replay
        finally:
            await ack.close()

    assert run(submit_twice()).refusal is Refusal.REPLAYED


@pytest.mark.parametrize("view_id", ["V0123ABCDEF", "V0FUZZ0123456789ABCDEF"])
def test_slack_view_ids_are_recognised(view_id):
    assert is_view_id(view_id)


@pytest.mark.parametrize("view_id", ["v0123abcdef", "V", "V0" + "A" * 60, "V0ABC:DEF", "V0١٢٣", "ce:seen:x", None, 12])
def test_anything_else_is_not_a_view_id_and_never_reaches_redis(store, view_id):
    """The Slack layer refuses such a submission; the store will not build a key from it."""
    assert not is_view_id(view_id) and not is_view_id("")
    conn = connection_in(store, State.AWAITING_STACK)
    with pytest.raises((ValueError, TypeError)):
        submit_role(store, conn.id, view_id)


def test_a_view_needs_a_ttl(store):
    conn = connection_in(store, State.AWAITING_STACK)
    with pytest.raises(ValueError):
        store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=ROLE, view_id="V0NOTTL")
