"""With CE_LOG_JSON, one INFO line per Slack request handled and one per job run: what it was (command
verb, action_id, callback_id or event type; the job's kind), the Slack user, the connection when there
is one, and the outcome. Without the flag, none: the ack path pays nothing for them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot import logs
from bot.slack import ids
from tests.e2e.journey import Journey
from tests.reliability.harness import (
    APPROVER,
    REQUESTER,
    approval_request,
    bot_env,
    connection,
    jobs_settled,
    set_up_connection,
    slack_for,
    wait_until,
)

ORG = "o-loglines0001"


@pytest.fixture
def log_to_buffer():
    """`logs.setup(env)` (as `ce-bot` does at start-up) writing to a buffer, undone at the end."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level

    def setup(env: dict[str, str]) -> io.StringIO:
        logs.setup(env, stream=buffer)
        return buffer

    yield setup
    root.setLevel(level)
    logs.uninstall_redaction()


def event_lines(buffer: io.StringIO) -> list[dict]:
    return [e for e in map(json.loads, buffer.getvalue().splitlines()) if e["logger"] == logs.EVENTS.name]


def one(entries: list[dict], **fields) -> dict:
    found = [e for e in entries if all(e.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, entries)
    return found[0]


def test_each_request_and_each_job_is_one_json_line(own_redis, standin, bots, tmp_path, log_to_buffer):
    env = bot_env(own_redis.url, standin, tmp_path / "data", CE_LOG_JSON="true", LOG_LEVEL="INFO")
    buffer = log_to_buffer(env)
    bot = bots(env)
    logs.instrument(bot.runtime)  # as `ce-bot worker` does
    slack = slack_for(bot, standin)

    slack.command(REQUESTER, "connect aws-org")  # Redis not started
    unavailable = one(event_lines(buffer), what="command /ce connect")
    assert unavailable["user"] == REQUESTER and unavailable["outcome"] == "failed: StoreUnavailable"
    own_redis.start()

    journey = Journey(slack, standin)
    journey.start()  # /ce connect
    conn_id = next(c for c in own_redis.client().zrange("ce:connections", 0, -1))
    slack.click(REQUESTER, message=journey.wait_button(ids.CANCEL), action_id=ids.CANCEL)
    wait_until(lambda: connection(own_redis.url, conn_id)["state"] == "cancelled", 5, "the cancellation")

    other = set_up_connection(own_redis.url, standin, requester=REQUESTER, org_id=ORG, until="pending_approval")
    slack.click(APPROVER, message=approval_request(standin, own_redis.url, other), action_id=ids.APPROVE)
    wait_until(lambda: connection(own_redis.url, other)["state"] == "connected", 5, "the approval")
    slack.command(APPROVER, f"disable {ORG}")
    wait_until(lambda: connection(own_redis.url, other).get("status") == "inactive", 5, "the organization disabled")
    wait_until(lambda: jobs_settled(own_redis.url), 10, "every job done")
    wait_until(lambda: any(e["what"] == "job announce_status" for e in event_lines(buffer)), 5, "the last job's line")

    entries = event_lines(buffer)
    assert all(e["level"] == "INFO" and e["message"] == f"{e['what']}: {e['outcome']}" for e in entries)
    requests = [e for e in entries if not e["what"].startswith("job ")]
    assert [(e["what"], e.get("user"), e.get("conn"), e["outcome"]) for e in requests] == [
        ("command /ce connect", REQUESTER, None, "failed: StoreUnavailable"),
        ("command /ce connect", REQUESTER, None, "acknowledged"),
        (f"action {ids.CANCEL}", REQUESTER, conn_id, "acknowledged"),
        (f"action {ids.APPROVE}", APPROVER, other, "acknowledged"),
        ("command /ce disable", APPROVER, None, "acknowledged"),
    ]
    assert one(entries, what="job open_thread")["conn"] == conn_id
    cancel = one(entries, what="job cancel")  # the click, run in the worker
    assert (cancel["conn"], cancel["user"], cancel["outcome"]) == (conn_id, REQUESTER, "done")
    assert one(entries, what="job announce_closed")["conn"] == conn_id
    assert one(entries, what="job announce_decision")["conn"] == other
    command = one(entries, what="job run_command")
    assert (command["user"], command["outcome"]) == (APPROVER, "done")
    assert one(entries, what="job announce_status")["conn"] == other


def test_no_line_per_request_or_job_without_the_flag(redis_url, standin, bots, tmp_path, log_to_buffer):
    buffer = log_to_buffer(bot_env(redis_url, standin, tmp_path / "data", LOG_LEVEL="INFO"))
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    logs.instrument(bot.runtime)
    Journey(slack_for(bot, standin), standin).start()
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert f" {logs.EVENTS.name}: " not in buffer.getvalue()
