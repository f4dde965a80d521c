"""A connection left in validating (its `validate` job died) gets one new `validate` job per period:
claimed atomically from the connections in flight (`claim_stuck_validations`), by the scheduler."""

from __future__ import annotations

from store_testkit import APPROVER, actor_for, at_once, connection_in, fields_for

from bot.config import Config
from bot.connection.model import State
from bot.connection.operations import Operations
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.jobs.queue import Job
from bot.scheduler import VALIDATION_STUCK_AFTER, Scheduler
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from tests.support.bot_server import TRUSTED_ACCOUNT

BOUND = 15 * 60.0
CONFIG = Config(trusted_account_id=TRUSTED_ACCOUNT, approvers=frozenset({APPROVER}))


def validate_jobs(redis) -> list[dict]:
    return [fields for _, fields in redis.xrange("ce:jobs:validate")]


def test_a_validation_stuck_past_the_bound_is_claimed_once_per_period_with_a_job(store, clock, redis):
    for state in (State.AWAITING_STACK, State.VALIDATION_FAILED, State.PENDING_APPROVAL, State.CONNECTED):
        connection_in(store, state)
    connection_in(store, State.CANCELLED)
    stuck = connection_in(store, State.VALIDATING)
    entered = clock.now
    redis.delete("ce:connections")  # the history is not read

    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + BOUND - 1) == []
    assert validate_jobs(redis) == []
    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + BOUND) == [stuck.id]
    assert validate_jobs(redis) == [{"kind": "validate", "conn": stuck.id, "requested_by": SYSTEM_ACTOR}]
    assert Job.from_entry("validate", "1-0", validate_jobs(redis)[0]).conn_id == stuck.id  # what the worker reads
    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + BOUND) == []  # claimed: not twice

    # Still stuck a whole period after the claim: claimed again, once.
    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + 2 * BOUND - 1) == []
    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + 2 * BOUND) == [stuck.id]
    assert len(validate_jobs(redis)) == 2

    assert store.transition(stuck.id, Event.VALIDATION_FAILED, actor=SYSTEM_ACTOR).ok
    assert store.claim_stuck_validations(stuck_after=BOUND, now=entered + 10 * BOUND) == []


def test_validating_again_counts_from_the_new_submission(store, clock):
    conn = connection_in(store, State.VALIDATION_FAILED)
    clock.advance(5 * BOUND)  # created long ago; validating again only now
    assert store.transition(conn.id, Event.SUBMIT_ROLE, fields=fields_for(Event.SUBMIT_ROLE), **actor_for(Event.SUBMIT_ROLE)).ok
    assert store.claim_stuck_validations(stuck_after=BOUND, now=clock.now + BOUND - 1) == []
    assert store.claim_stuck_validations(stuck_after=BOUND, now=clock.now + BOUND) == [conn.id]


def test_claims_are_limited_and_the_rest_come_next(store, clock):
    stuck = [connection_in(store, State.VALIDATING) for _ in range(3)]
    now = clock.now + BOUND
    first = store.claim_stuck_validations(stuck_after=BOUND, now=now, limit=2)
    second = store.claim_stuck_validations(stuck_after=BOUND, now=now, limit=2)
    assert len(first) == 2 and len(second) == 1
    assert sorted(first + second) == sorted(c.id for c in stuck)


def test_two_processes_claiming_at_once_claim_each_connection_once(redis_url, clock, redis):
    stores = [ConnectionStore(connect(redis_url), clock=clock) for _ in range(6)]
    stuck = {connection_in(stores[0], State.VALIDATING).id for _ in range(20)}
    claims = at_once(lambda store: store.claim_stuck_validations(stuck_after=BOUND, now=clock.now + BOUND), stores)
    assert sorted(sum(claims, [])) == sorted(stuck)
    assert sorted(job["conn"] for job in validate_jobs(redis)) == sorted(stuck)


# -- the scheduler ----------------------------------------------------------------------------------------


def scheduler(store, clock, **options) -> Scheduler:
    return Scheduler(Operations(store, CONFIG, clock=clock), clock=clock, **options)


def test_the_scheduler_re_enqueues_a_stuck_validation_once_per_period(store, clock, redis):
    assert VALIDATION_STUCK_AFTER == BOUND
    stuck = connection_in(store, State.VALIDATING)
    ticking = scheduler(store, clock)
    assert ticking.tick().revalidated == []
    clock.advance(BOUND)
    assert ticking.tick().revalidated == [stuck.id]
    assert ticking.tick().revalidated == []
    assert [job["conn"] for job in validate_jobs(redis)] == [stuck.id]
    clock.advance(BOUND)
    assert ticking.tick().revalidated == [stuck.id]
    assert len(validate_jobs(redis)) == 2


def test_the_bound_and_the_pass_are_injectable(store, clock, redis):
    stuck = connection_in(store, State.VALIDATING)
    ticking = scheduler(store, clock, validation_stuck_after=30.0, validation_sweep_pass=20.0)
    clock.advance(15)
    assert ticking.tick().revalidated == []  # not stuck yet; the next pass is 20 s later
    clock.advance(17)
    assert ticking.tick().revalidated == []  # stuck (32 s), but between passes
    clock.advance(3)
    assert ticking.tick().revalidated == [stuck.id]


def test_two_schedulers_ticking_together_re_enqueue_each_once(redis_url, clock, redis):
    stores = [ConnectionStore(connect(redis_url), clock=clock) for _ in range(2)]
    stuck = {connection_in(stores[0], State.VALIDATING).id for _ in range(10)}
    schedulers = [scheduler(s, clock) for s in stores]
    clock.advance(BOUND)
    done = at_once(lambda s: s.tick().revalidated, schedulers)
    assert sorted(sum(done, [])) == sorted(stuck)
    assert len(validate_jobs(redis)) == len(stuck)


def test_a_connection_still_validating_past_its_ttl_expires_and_holds_up_no_other(store, clock):
    """`due_to_expire` hands out the oldest due first: one that could not expire would be handed out
    again at every pass, and a hundred of them would keep every other connection from expiring."""
    operations = Operations(store, CONFIG, clock=clock)
    stuck = [connection_in(store, State.VALIDATING) for _ in range(3)]
    later = connection_in(store, State.AWAITING_STACK)
    clock.advance(10 * 24 * 3600)
    expired = operations.expire_due(limit=2)
    expired += operations.expire_due(limit=2)
    assert sorted(c.id for c in expired) == sorted([*(c.id for c in stuck), later.id])
    assert {store.get(c.id).state for c in [*stuck, later]} == {State.EXPIRED}
