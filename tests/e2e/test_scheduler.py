"""The scheduler with a controllable clock, against a real Redis and a moto server, with two bot
processes running it at once: expiry and health re-checks happen once, without anyone touching anything."""

from __future__ import annotations

import threading

import boto3
import pytest

from bot.slack import ids
from bot.slack import operation_ids as ops_ids
from tests.e2e.conftest import APPROVER, CHANNEL, REQUESTER
from tests.e2e.journey import Journey, text_of
from tests.e2e.ops_support import (
    Clock,
    connect_organization,
    redis_of,
    seed_in_flight,
    sim,
    start_bot_with,
    store_for,
    wait_ephemeral,
)
from tests.support.redis_state import audit_events, connection_of

TTL = 3600.0
INTERVAL = 6 * 3600.0
APPROVALS = "C0APPROVALS"
WAIT = 20.0


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def two_bots(bot_env, clock):
    env = {**bot_env, "CE_PENDING_TTL": "1h", "CE_RECHECK_INTERVAL": "6h", "CE_APPROVAL_CHANNEL": APPROVALS}
    bots = [start_bot_with(env, clock=clock, tick=0.05) for _ in range(2)]
    yield bots
    for running in bots:
        running.stop()


def notices(standin, parent_ts: str, needle: str) -> list[dict]:
    return [m for m in standin.messages(CHANNEL, parent_ts) if needle in text_of(m)]


def test_pending_connections_expire_once_with_two_bots_running(two_bots, clock, standin, sandbox, redis_url):
    first, second = two_bots
    journey = Journey(sim(first, standin), standin)
    journey.start()
    assert journey.submit_ids(sandbox.org_id, sandbox.root_id).status == 200
    journey.wait_button(ids.ENTER_ROLE)
    conn_id = connection_of(redis_url, sandbox.org_id)["id"]

    clock.advance(TTL - 60)  # not yet
    threading.Event().wait(0.5)
    assert connection_of(redis_url, sandbox.org_id)["state"] == "awaiting_stack"

    clock.advance(120)  # nobody touches it: both schedulers see it due
    journey.wait_reply(lambda m: "expired before it was finished" in text_of(m), "the expired notice", WAIT)
    threading.Event().wait(0.5)
    assert len(notices(standin, journey.parent_ts, "expired before it was finished")) == 1
    conn = redis_of(redis_url).hgetall(f"ce:conn:{conn_id}")
    assert conn["state"] == "expired"
    assert [e["event"] for e in audit_events(redis_url, conn_id)].count("expire") == 1
    assert redis_of(redis_url).get(f"ce:org:{sandbox.org_id}") is None
    journey.wait_parent("Expired")

    # The organization is free: a new connection takes it.
    again = Journey(sim(second, standin), standin)
    again.start()
    assert again.submit_ids(sandbox.org_id, sandbox.root_id).status == 200
    again.wait_button(ids.ENTER_ROLE)


def test_two_schedulers_ticking_together_expire_each_connection_once(two_bots, clock, redis_url):
    store = store_for(redis_url, clock)
    conn_ids = [seed_in_flight(store, f"o-expire{i:08d}", requester=REQUESTER) for i in range(20)]
    clock.advance(TTL + 1)
    schedulers = [b.runtime.jobs.scheduler for b in two_bots]
    for scheduler in schedulers:
        scheduler.stop()  # tick them by hand, at the same instant
    barrier = threading.Barrier(2)
    results = []

    def tick(scheduler):
        barrier.wait()
        results.append(scheduler.tick().expired)

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expired = [conn_id for r in results for conn_id in r]
    assert sorted(expired) == sorted(conn_ids)  # each exactly once, whichever process got it
    for conn_id in conn_ids:
        assert [e["event"] for e in audit_events(redis_url, conn_id)].count("expire") == 1


def test_rechecks_post_only_what_is_new_once_and_never_flip_the_status(
    two_bots, clock, standin, sandbox, redis_url, outdated_instances
):
    first, second = two_bots
    slack = sim(first, standin)
    connected = connect_organization(slack, standin, sandbox, redis_url, approval_channel=APPROVALS)
    parent_ts = connected.journey.parent_ts

    # Nothing changed in AWS: a due re-check posts nothing.
    clock.advance(INTERVAL + 1)
    health_key = f"ce:conn:{connected.conn_id}:health"
    standin.wait_until(lambda s: redis_of(redis_url).hget(health_key, "version") == "1", WAIT, "no first re-check")
    assert not notices(standin, parent_ts, "Health re-check")

    # AWS changes: an SCP breaks one instance, an account joins (no instance yet), another leaves.
    (broken_id, broken_name), (gone_id, gone_name) = sandbox.accounts[0], sandbox.accounts[1]
    outdated_instances[broken_id] = "Account is denied by an SCP: cloudformation:CreateStack"
    organizations = boto3.client("organizations", region_name="us-east-1")
    created = organizations.create_account(AccountName="Analytics", Email="aws+analytics@example.com")
    new_id = created["CreateAccountStatus"]["AccountId"]
    organizations.remove_account_from_organization(AccountId=gone_id)

    clock.advance(INTERVAL + 1)
    notice = standin.wait_until(
        lambda s: next(iter(notices(s, parent_ts, "Health re-check")), None), WAIT, "no health notice in the thread"
    )
    text = text_of(notice)
    assert f"`{broken_id}` {broken_name} is not covered: OUTDATED/FAILED" in text and "denied by an SCP" in text
    assert f"`{new_id}` Analytics is not covered: no instance of StackSet" in text
    assert f"account added: `{new_id}` Analytics (ACTIVE)" in text
    assert f"account removed: `{gone_id}` {gone_name}" in text
    assert "status is unchanged (active)" in text
    copy = standin.wait_until(
        lambda s: next((m for m in s.messages(APPROVALS) if "Health re-check" in text_of(m)), None), WAIT, "no copy"
    )
    assert new_id in text_of(copy) and "Open the connection's thread" in text_of(copy)

    threading.Event().wait(1.0)  # both schedulers keep ticking: still one re-check, one notice
    assert len(notices(standin, parent_ts, "Health re-check")) == 1
    assert redis_of(redis_url).hget(health_key, "version") == "2"
    assert [e["event"] for e in audit_events(redis_url, connected.conn_id)].count("recheck") == 1
    conn = connection_of(redis_url, sandbox.org_id)
    assert conn["state"] == "connected" and conn["status"] == "active"  # never flipped by a re-check
    accounts = redis_of(redis_url).hgetall(f"ce:conn:{connected.conn_id}:accounts")
    assert new_id in accounts and gone_id not in accounts

    # The SCP is fixed; "Re-check failed only" re-tests just the accounts not covered.
    del outdated_instances[broken_id]
    slack.click(APPROVER, message=notice, action_id=ops_ids.RECHECK_FAILED)
    wait_ephemeral(standin, APPROVER, "Re-checking")
    reply = wait_ephemeral(standin, APPROVER, "covered again")
    assert f"`{broken_id}`" in text_of(reply) and f"`{new_id}` Analytics" in text_of(reply)  # still not covered
    health = redis_of(redis_url).hgetall(health_key)
    assert health["failed_only"] == "1" and health["version"] == "3"
    assert len(notices(standin, parent_ts, "Health re-check")) == 1  # nothing new: nothing posted

    # On demand, everything: the same, and still nothing new for the thread.
    slack.click(APPROVER, message=notice, action_id=ops_ids.RECHECK)
    standin.wait_until(lambda s: redis_of(redis_url).hget(health_key, "version") == "4", WAIT, "no on-demand re-check")
    assert len(notices(standin, parent_ts, "Health re-check")) == 1
    assert connection_of(redis_url, sandbox.org_id)["status"] == "active"

    # /ce status shows the last check per check, the accounts not covered, and the re-check in the history.
    slack.command(APPROVER, f"status {sandbox.org_id}")
    status = wait_ephemeral(standin, APPROVER, "*Last health check*")
    assert "Member accounts not covered" in text_of(status) and new_id in text_of(status)
    assert "*recheck*" in text_of(status)
    assert ops_ids.RECHECK_FAILED in text_of(status)


def test_an_inactive_organization_is_not_rechecked_on_schedule(two_bots, clock, standin, sandbox, redis_url):
    slack = sim(two_bots[0], standin)
    connected = connect_organization(slack, standin, sandbox, redis_url, approval_channel=APPROVALS)
    slack.command(APPROVER, f"disable {sandbox.org_id}")
    wait_ephemeral(standin, APPROVER, "is now *inactive*")
    clock.advance(INTERVAL + 1)
    threading.Event().wait(1.0)
    assert redis_of(redis_url).hget(f"ce:conn:{connected.conn_id}:health", "version") is None
