"""Redis away — never started, killed -9, hung — while Slack keeps sending requests.

Every request is answered within Slack's 3 seconds with "the state store is unavailable, try
again" in the right place (ephemeral for a slash command, the field for a modal, an ephemeral
through response_url for a button), nothing is half-written, /healthz says 503 and then 200, and
the bot carries on by itself when Redis is back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import redis as redis_py

from bot.slack import ids
from bot.store.embedded import SOCKET_NAME
from tests.e2e.journey import Journey
from tests.reliability.harness import (
    ACK_BUDGET,
    APPROVER,
    CHANNEL,
    REQUESTER,
    REQUESTER2,
    STORE_UNAVAILABLE,
    bot_env,
    dump,
    healthz,
    jobs_settled,
    slack_for,
    timed,
    wait_until,
)
from tests.support.redis_state import connection_of

ORG, ROOT = "o-reliability1", "r-rel1"
FAST_RETRY = {"slack": 0.5, "validate": 1.0}


def errors_of(response) -> dict:
    body = response.json()
    assert body and body.get("response_action") == "errors", body
    return body["errors"]


def test_redis_down_at_start_up_then_back(own_redis, standin, bots, tmp_path):
    bot = bots(bot_env(own_redis.url, standin, tmp_path / "data"), claim_idle=FAST_RETRY)  # Redis never started
    slack = slack_for(bot, standin)

    assert healthz(bot.url) == 503
    response, took = timed(lambda: slack.command(REQUESTER, "connect aws-org"))
    assert took < ACK_BUDGET
    assert response.status == 200 and response.json()["response_type"] == "ephemeral"
    assert STORE_UNAVAILABLE in response.json()["text"] and "Try again" in response.json()["text"]
    assert slack.command(REQUESTER, "help").json()["text"].startswith("*Cloud Entitlements bot*")  # needs no Redis
    assert not standin.messages(CHANNEL)

    own_redis.start()
    wait_until(lambda: healthz(bot.url) == 200, 5, "/healthz to say 200")
    journey = Journey(slack, standin)
    journey.start()  # the workers created their consumer group and run the job by themselves
    journey.wait_button(ids.ENTER_IDS)
    assert len(standin.messages(CHANNEL)) == 1


def test_redis_killed_mid_conversation(own_redis, standin, bots, tmp_path):
    own_redis.start()
    bot = bots(bot_env(own_redis.url, standin, tmp_path / "data"), claim_idle=FAST_RETRY)
    slack = slack_for(bot, standin)
    journey = Journey(slack, standin)
    journey.start()
    prerequisites = journey.wait_button(ids.ENTER_IDS)
    view = journey.open_ids_modal()
    wait_until(lambda: jobs_settled(own_redis.url), 5, "the jobs to finish")
    before = dump(own_redis.url)

    own_redis.kill()
    assert healthz(bot.url) == 503

    # a modal submission: the error is on the field, the modal stays open
    response, took = timed(lambda: slack.submit(REQUESTER, view, {"Organization ID": ORG, "Root ID": ROOT}))
    assert took < ACK_BUDGET
    assert STORE_UNAVAILABLE in errors_of(response)[ids.ORGANIZATION_ID_BLOCK]
    # a button: acknowledged at once, then an ephemeral message through response_url
    response, took = timed(lambda: slack.click(REQUESTER, message=prerequisites, action_id=ids.CANCEL))
    assert took < ACK_BUDGET and response.status == 200
    told = standin.wait_for_response(lambda post: STORE_UNAVAILABLE in str(post.payload), timeout=ACK_BUDGET)
    assert told.user == REQUESTER and told.payload.get("response_type") == "ephemeral"
    # a slash command: an ephemeral answer
    response, took = timed(lambda: slack.command(REQUESTER, "connect aws-org"))
    assert took < ACK_BUDGET and STORE_UNAVAILABLE in response.json()["text"]

    own_redis.start()  # same files: the append-only file brings everything back
    wait_until(lambda: healthz(bot.url) == 200, 5, "/healthz to say 200")
    assert dump(own_redis.url) == before  # nothing half-written, nothing lost

    # the user tries again: the same modal goes through and the thread carries on
    assert slack.submit(REQUESTER, view, {"Organization ID": ORG, "Root ID": ROOT}).json() is None
    journey.template()
    assert connection_of(own_redis.url, ORG)["state"] == "awaiting_stack"


def test_hung_redis_every_request_still_answered_in_time(own_redis, standin, bots, tmp_path):
    """A hung Redis (SIGSTOP): connections are accepted, nothing answers. Each request gives up at the
    client's 2 s timeout and is answered in time; a write already sent may still be applied when Redis
    wakes up, so the user is told that the bot cannot tell, never that nothing was changed."""
    own_redis.start()
    bot = bots(bot_env(own_redis.url, standin, tmp_path / "data"), claim_idle=FAST_RETRY)
    slack = slack_for(bot, standin)
    journey = Journey(slack, standin)
    journey.start()
    view = journey.open_ids_modal()
    wait_until(lambda: jobs_settled(own_redis.url), 5, "the jobs to finish")
    before = dump(own_redis.url)

    own_redis.pause()
    results: dict[str, tuple] = {}
    requests = {
        "submit": lambda: slack.submit(REQUESTER, view, {"Organization ID": ORG, "Root ID": ROOT}),
        "command": lambda: slack.command(REQUESTER, "connect aws-org"),
        "healthz": lambda: healthz(bot.url),
    }
    threads = [threading.Thread(target=lambda k=k, f=f: results.update({k: timed(f)})) for k, f in requests.items()]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        own_redis.resume()

    assert all(took < ACK_BUDGET for _, took in results.values()), {k: took for k, (_, took) in results.items()}
    field_error = errors_of(results["submit"][0])[ids.ORGANIZATION_ID_BLOCK]
    command_text = results["command"][0].json()["text"]
    for text in (field_error, command_text):
        assert STORE_UNAVAILABLE in text and "did not answer in time" in text
        assert "nothing was changed" not in text
    assert results["healthz"][0] == 503
    wait_until(lambda: healthz(bot.url) == 200, 5, "/healthz to say 200")

    # Whatever Redis applied after waking up was applied whole, and the bot carries on with it.
    after = dump(own_redis.url)
    created = [c for c in after["ce:connections"] if c not in before["ce:connections"]]
    assert len(created) <= 1
    if created:
        journey.standin.wait_until(lambda s: len(s.messages(CHANNEL)) == 2, 10, "the thread of the connection")
    first = journey_connection(own_redis.url, before)
    assert first["state"] in ("started", "awaiting_stack")
    if first["state"] == "awaiting_stack":
        journey.template()
    wait_until(lambda: jobs_settled(own_redis.url), 10, "the jobs to finish")


def journey_connection(redis_url: str, before: dict) -> dict:
    from tests.reliability.harness import connection

    (conn_id, _), = before["ce:connections"]
    return connection(redis_url, conn_id)


def test_kill_9_of_bot_and_embedded_redis_loses_no_connected_organization(standin, sandbox, processes):
    """`ce-bot serve` with its embedded Redis (AOF, fsync every second): approve, kill -9 both at once."""
    data = Path(tempfile.mkdtemp(prefix="ce-kill9-"))  # short: the unix socket lives in it
    try:
        env = bot_env("", standin, data, REDIS_URL=None)
        first = processes(env)
        first.wait_healthy()
        slack = slack_for(first, standin)
        journey = Journey(slack, standin)
        journey.submit_role(journey.deployed_role(sandbox.org_id, sandbox.root_id))
        assert "passed every check" in str(journey.checklist_done())
        slack.click(APPROVER, message=journey.approval_request(), action_id=ids.APPROVE)

        with embedded_client(data) as client:
            conn_id = client.get(f"ce:org:{sandbox.org_id}")
            wait_until(lambda: client.hget(f"ce:conn:{conn_id}", "state") == "connected", 10, "the approval")
        first.kill()  # -9, the moment the approval is in Redis: no shutdown, no final fsync
        os.kill(int((data / "redis.pid").read_text()), signal.SIGKILL)

        second = processes(env)
        second.wait_healthy()  # a new embedded Redis, from the append-only file
        with embedded_client(data) as client:
            conn = client.hgetall(f"ce:conn:{conn_id}")
            assert conn["state"] == "connected" and conn["decided_by"] == APPROVER and conn["status"] == "active"
            assert client.get(f"ce:org:{sandbox.org_id}") == conn_id
            assert client.hlen(f"ce:conn:{conn_id}:accounts") == int(conn["account_count"]) == len(sandbox.accounts) + 1
            assert [e["event"] for _, e in client.xrange("ce:audit") if e["conn"] == conn_id][-1] == "approve"

        # and the restarted bot knows it: nobody can start connecting it again
        again = Journey(slack_for(second, standin), standin, user=REQUESTER2)
        again.start()
        response = again.submit_ids(sandbox.org_id, sandbox.root_id, user=REQUESTER2)
        assert "already connected" in errors_of(response)[ids.ORGANIZATION_ID_BLOCK]
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def embedded_client(data: Path):
    client = redis_py.Redis(unix_socket_path=str(data / SOCKET_NAME), decode_responses=True, socket_timeout=2)
    try:
        yield client
    finally:
        client.close()
