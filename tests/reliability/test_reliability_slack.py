"""Slack delivering twice, people clicking twice, and Slack's Web API answering 429 / 5xx.

Every delivery is handled once (a retried or replayed request with the same trigger is acknowledged
and not handled again); a double click makes one change and the second click is told why nothing
happened; rate limits (with Retry-After) and transient server errors are retried by the SDK's retry
handlers, and the raw file upload — which slack_sdk does with urllib, outside those handlers — is
retried by the durable job.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse

from bot.slack import ids
from tests.e2e.journey import Journey, text_of
from tests.reliability.harness import (
    APPROVER,
    BYSTANDER,
    CHANNEL,
    REQUESTER,
    approval_request,
    bot_env,
    connection,
    dump,
    jobs_settled,
    set_up_connection,
    slack_for,
    timed,
    wait_until,
)
from tests.support.redis_state import audit_events
from tests.support.slack_requests import signature

ORG, ROOT = "o-slackfaults1", "r-slk1"


def count_connections(redis_url: str) -> int:
    return len(dump(redis_url).get("ce:connections", []))


def test_a_delivery_sent_twice_is_handled_once(standin, redis_url, bots, tmp_path):
    """Slack's retry (X-Slack-Retry-Num) or a captured request replayed while its signature is valid."""
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    fields = {
        "command": "/ce", "text": "connect aws-org", "user_id": REQUESTER, "user_name": "req", "channel_id": CHANNEL,
        "channel_name": "ce", "team_id": "T0CE", "team_domain": "standin", "api_app_id": "A0CE",
        "response_url": standin.new_response_url(CHANNEL, REQUESTER), "trigger_id": standin.new_trigger_id(REQUESTER),
    }  # fmt: skip
    body = urllib.parse.urlencode(fields).encode()
    timestamp = int(time.time())
    headers = {"X-Slack-Signature": signature(slack.signing_secret, timestamp, body)}
    kind = "application/x-www-form-urlencoded"
    first = slack.signed_post(body, kind, timestamp=timestamp, headers=headers)
    retried = slack.signed_post(
        body, kind, timestamp=timestamp, headers={**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    replayed = slack.signed_post(body, kind, timestamp=timestamp, headers=headers)
    assert first.status == retried.status == replayed.status == 200
    standin.wait_until(lambda s: s.messages(CHANNEL), 10, "the parent message")
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert count_connections(redis_url) == 1
    assert len(standin.messages(CHANNEL)) == 1

    # a button delivered again changes nothing; the clicker is told what happened, never ignored
    conn_id = next(iter(dump(redis_url)["ce:connections"]))[0]
    prerequisites = Journey(slack, standin)
    prerequisites.parent_ts = connection(redis_url, conn_id)["parent_ts"]
    message = prerequisites.wait_button(ids.CANCEL)
    click = slack.click(REQUESTER, message=message, action_id=ids.CANCEL)
    payload = urllib.parse.urlencode({"payload": json.dumps(click.payload)}).encode()
    again = slack.signed_post(payload, kind, headers={"X-Slack-Retry-Num": "1"})
    assert again.status == 200
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    time.sleep(0.3)  # the second delivery would answer within this
    assert [e["event"] for e in audit_events(redis_url, conn_id)].count("cancel") == 1
    assert all("was cancelled" in str(r.payload) for r in standin.responses)


def test_a_command_sent_again_with_a_fresh_signature_is_handled_once(standin, redis_url, bots, tmp_path):
    """Slack's retry of a slash command (X-Slack-Retry-Num) is signed anew: another timestamp and
    signature, the same body, so the same trigger_id. A new `/ce connect` has a trigger_id of its own."""
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)

    def connect_body() -> bytes:
        fields = {
            "command": "/ce", "text": "connect aws-org", "user_id": REQUESTER, "user_name": "req", "channel_id": CHANNEL,
            "team_id": "T0CE", "api_app_id": "A0CE", "response_url": standin.new_response_url(CHANNEL, REQUESTER),
            "trigger_id": standin.new_trigger_id(REQUESTER),
        }  # fmt: skip
        return urllib.parse.urlencode(fields).encode()

    body, kind = connect_body(), "application/x-www-form-urlencoded"
    first = slack.signed_post(body, kind, timestamp=int(time.time()) - 3)
    retried = slack.signed_post(body, kind, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status == retried.status == 200
    standin.wait_until(lambda s: s.messages(CHANNEL), 10, "the parent message")
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    time.sleep(0.3)  # a second connection's job would have run by now
    assert count_connections(redis_url) == 1 and len(standin.messages(CHANNEL)) == 1

    assert slack.signed_post(connect_body(), kind).status == 200  # another /ce connect: handled
    wait_until(lambda: count_connections(redis_url) == 2, 5, "the second connection")


def test_double_clicks_make_one_change_and_the_second_is_told(standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id=ORG, until="pending_approval")
    request = approval_request(standin, redis_url, conn_id)
    slack.click(APPROVER, message=request, action_id=ids.APPROVE)
    standin.fail_next("response_url", status=429, retry_after=1)  # the ack path's reply is retried too
    slack.click(APPROVER, message=request, action_id=ids.APPROVE)
    told = standin.wait_for_response(lambda r: "already approved by" in str(r.payload) and r.status == 200, timeout=6)
    assert told.user == APPROVER and f"<@{APPROVER}>" in str(told.payload)
    assert [r.status for r in standin.responses] == [429, 200]
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert [e["event"] for e in audit_events(redis_url, conn_id)].count("approve") == 1
    parent_ts = connection(redis_url, conn_id)["parent_ts"]
    assert len([m for m in standin.messages(CHANNEL, parent_ts) if "is connected" in text_of(m)]) == 1

    other = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-slackfaults2", until="awaiting_stack")
    journey = Journey(slack, standin)
    journey.parent_ts = connection(redis_url, other)["parent_ts"]
    message = {"ts": journey.parent_ts, "blocks": cancel_blocks(other)}
    slack.click(REQUESTER, message=message, action_id=ids.CANCEL)
    slack.click(REQUESTER, message=message, action_id=ids.CANCEL)
    standin.wait_for_response(lambda r: "was cancelled" in str(r.payload))
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert [e["event"] for e in audit_events(redis_url, other)].count("cancel") == 1
    assert len([m for m in journey.replies() if "cancelled this connection" in text_of(m)]) == 1


def cancel_blocks(conn_id: str) -> list[dict]:
    return [
        {
            "type": "actions",
            "block_id": "start",
            "elements": [{"type": "button", "action_id": ids.CANCEL, "value": conn_id, "text": {"type": "plain_text", "text": "Cancel"}}],
        }
    ]


def test_rate_limits_and_server_errors_are_retried(standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    standin.fail_next("chat.postMessage", status=429, retry_after=1)
    standin.fail_next("views.open", status=503, error="service_unavailable")
    standin.fail_next("response_url", status=429, retry_after=1)

    journey = Journey(slack, standin)
    journey.start()  # the parent message, after one 429
    posts = standin.calls_to("chat.postMessage")
    assert posts[0].status == 429 and posts[1].ok
    assert posts[1].at - posts[0].at >= 1.0  # Retry-After was honoured
    assert len(standin.messages(CHANNEL)) == 1

    message = journey.wait_button(ids.ENTER_IDS)
    slack.click(BYSTANDER, message=message, action_id=ids.ENTER_IDS)  # refused: an ephemeral via response_url
    told = standin.wait_for_response(lambda r: r.status == 200 and "Only <@" in str(r.payload), timeout=6)
    assert told.user == BYSTANDER
    assert [r.status for r in standin.responses] == [429, 200]

    journey.open_ids_modal()  # views.open answered 503 once: retried, the modal opens
    assert [c.status for c in standin.calls_to("views.open")] == [503, 200]


def test_a_failed_template_upload_is_retried_by_the_job(standin, redis_url, bots, tmp_path, caplog):
    """files_upload_v2 POSTs the bytes with urllib: a 429 or 500 there raises HTTPError, not SlackApiError,
    and no retry handler sees it. The send_template job fails, stays pending, and runs again."""
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"), claim_idle={"slack": 0.3})
    journey = Journey(slack_for(bot, standin), standin)
    journey.start()
    standin.fail_next("upload", status=429, retry_after=0)
    standin.fail_next("upload", status=500, error="internal_error")
    caplog.set_level(logging.WARNING, logger="bot.jobs.worker")
    assert journey.submit_ids(ORG, ROOT).json() is None

    file, body = journey.template()
    assert ORG in file["name"] and b"AWSTemplateFormatVersion" in body
    assert [c.status for c in standin.calls_to("upload")] == [429, 500, 200]
    failures = [r.getMessage() for r in caplog.records if "send_template" in r.getMessage() and "failed" in r.getMessage()]
    assert len(failures) == 2 and all("HTTPError" in f for f in failures)
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    shared = [f for f in standin.files() if f.get("shares")]
    assert len(shared) == 1  # one template in the thread, not one per attempt
    instructions = [m for m in journey.replies() if "Enter the role ARN" in text_of(m)]
    assert len(instructions) == 1


def test_a_slow_user_group_lookup_does_not_hold_up_an_acknowledgement(standin, redis_url, bots, tmp_path):
    """The rejection reason's submission is acknowledged after checking that the user is an approver,
    which for user-group approvers may ask Slack (usergroups.users.list) when the cached members are
    older than a few minutes. Slack rate-limiting or slow there must not make the ack miss 3 s."""
    group, member = "S0SECURITY", "U0GRPMEMBER"
    standin.set_usergroup(group, [member])
    bot = bots(bot_env(redis_url, standin, tmp_path / "data", CE_APPROVERS=f"{APPROVER},{group}"))
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-slowgroups1", until="pending_approval")
    slack.click(member, message=approval_request(standin, redis_url, conn_id), action_id=ids.REJECT)
    view = standin.wait_until(lambda s: s.open_views(member), 5, "the reason modal")[-1]

    bot.runtime.services.approvers._fetched_at = float("-inf")  # the cached members are now stale
    standin.fail_next("usergroups.users.list", status=429, retry_after=3)
    standin.fail_next("usergroups.users.list", status=429, retry_after=3)
    response, took = timed(lambda: slack.submit(member, view, {"Reason": "not ours"}))
    assert took < 3.0, f"acknowledged after {took:.1f} s"
    assert response.json() is None  # still a known member of the approvers' group: decided
    assert connection(redis_url, conn_id)["decided_by"] == member

    other = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-slowgroups2", until="pending_approval")
    slack.click(member, message=approval_request(standin, redis_url, other), action_id=ids.REJECT)
    view = standin.wait_until(lambda s: [v for v in s.open_views(member) if other in v.get("private_metadata", "")], 5, "the modal")[-1]
    bot.runtime.services.approvers._fetched_at = float("-inf")
    standin.set_latency(5, "usergroups.users.list")
    try:
        _, took = timed(lambda: slack.submit(member, view, {"Reason": "not ours either"}))
    finally:
        standin.set_latency(0, "usergroups.users.list")
    assert took < 3.0, f"acknowledged after {took:.1f} s"
    assert connection(redis_url, other)["state"] == "rejected"


def test_an_event_delivered_again_with_x_slack_retry_num_is_handled_once(standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    first = slack.home_opened(REQUESTER, event_id="Ev0RETRY0001")
    again = slack.home_opened(REQUESTER, event_id="Ev0RETRY0001", retry_num=1, retry_reason="http_timeout")
    later = slack.home_opened(REQUESTER, event_id="Ev0RETRY0001", retry_num=2, retry_reason="http_error")
    assert first.status == again.status == later.status == 200
    standin.wait_until(lambda s: s.calls_to("views.publish"), 5, "the Home")
    time.sleep(0.3)  # a second publish would come within this
    assert len(standin.calls_to("views.publish")) == 1
    slack.home_opened(REQUESTER, event_id="Ev0OTHER0002")  # another opening of the Home is handled
    standin.wait_until(lambda s: len(s.calls_to("views.publish")) == 2, 5, "the second Home")
