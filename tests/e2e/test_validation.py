"""Validation failures and their way out, rejection with a reason, approvals elsewhere and at once."""

from __future__ import annotations

import threading

import boto3
import redis as redis_py

from bot.playground.sandbox_stack import deploy_rendered_template
from bot.slack import ids
from tests.e2e.conftest import APPROVER, CHANNEL, REQUESTER, SECOND_APPROVER, SIGNING_SECRET, start_bot
from tests.e2e.journey import Journey, has_button, text_of
from tests.support.slack_requests import SlackClientSim

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"


def deploy_and_enter_role(journey: Journey, sandbox) -> str:
    journey.submit_ids(sandbox.org_id, sandbox.root_id)
    _, body = journey.template()
    role_arn = deploy_rendered_template(body.decode(), region="us-east-1")
    assert journey.submit_role(role_arn).status == 200
    return role_arn


def connect_until_approval(slack, standin, sandbox, approval_channel: str | None = None):
    journey = Journey(slack, standin)
    journey.start()
    deploy_and_enter_role(journey, sandbox)
    assert "passed every check" in text_of(journey.checklist_done())
    return journey, journey.approval_request(approval_channel)


def state_of(redis_url: str, org_id: str) -> str:
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    conn_id = client.get(f"ce:org:{org_id}")
    return client.hget(f"ce:conn:{conn_id}", "state") if conn_id else ""


def test_a_failed_check_says_why_and_the_user_can_try_again(slack, standin, sandbox, redis_url):
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.disable_aws_service_access(ServicePrincipal=STACKSETS)
    journey = Journey(slack, standin)
    journey.start()
    role_arn = deploy_and_enter_role(journey, sandbox)

    checklist = journey.checklist_done()
    text = text_of(checklist)
    assert "failed." in text and ":x:" in text
    assert "enable-aws-service-access" in text  # the fix, in plain words and a command
    assert has_button(checklist, ids.ENTER_ROLE) and has_button(checklist, ids.START_OVER)
    assert "Traceback" not in text
    assert state_of(redis_url, sandbox.org_id) == "validation_failed"
    journey.wait_parent("validation failed")

    organizations.enable_aws_service_access(ServicePrincipal=STACKSETS)
    assert journey.submit_role(role_arn, message=checklist).status == 200
    journey.standin.wait_until(
        lambda s: any("passed every check" in text_of(m) for m in journey.replies()), 30, "the retry never passed"
    )
    journey.approval_request()
    assert state_of(redis_url, sandbox.org_id) == "pending_approval"


def test_a_role_that_does_not_trust_us_is_explained(slack, standin, sandbox, redis_url):
    journey = Journey(slack, standin)
    journey.start()
    journey.submit_ids(sandbox.org_id, sandbox.root_id)
    journey.template()
    missing = f"arn:aws:iam::{sandbox.management_account_id}:role/NotTheStackRole"
    assert journey.submit_role(missing).status == 200
    text = text_of(journey.checklist_done())
    assert "ExternalId" in text and "trust" in text
    assert "not run" in text  # later checks are skipped, not failed
    assert state_of(redis_url, sandbox.org_id) == "validation_failed"


def test_start_over_cancels_and_opens_a_new_connection(slack, standin, sandbox, redis_url):
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.disable_aws_service_access(ServicePrincipal=STACKSETS)
    journey = Journey(slack, standin)
    journey.start()
    deploy_and_enter_role(journey, sandbox)
    checklist = journey.checklist_done()
    slack.click(REQUESTER, message=checklist, action_id=ids.START_OVER)
    notice = journey.wait_reply(lambda m: "cancelled this connection" in text_of(m), "the cancelled notice")
    assert text_of(notice).index("StackSet") < text_of(notice).index("delete-stack ")  # the seed's order
    journey.wait_parent("Cancelled")
    assert state_of(redis_url, sandbox.org_id) == ""  # the organization is free again
    standin.wait_until(
        lambda s: sum("Connecting an AWS Organization" in m.get("text", "") for m in s.messages(CHANNEL)) == 2,
        10,
        "no new connection was started",
    )


def test_rejection_asks_for_a_reason_and_frees_the_organization(slack, standin, sandbox, redis_url):
    journey, request = connect_until_approval(slack, standin, sandbox)
    slack.click(APPROVER, message=request, action_id=ids.REJECT)
    modal = standin.wait_until(lambda s: s.open_views(APPROVER), 10, "no reason modal")[-1]
    assert modal["callback_id"] == ids.REJECT_MODAL
    assert slack.submit(APPROVER, modal, {"Reason": "<!here> wrong *org*"}).status == 200

    decided = standin.wait_until(
        lambda s: (m := s.message(CHANNEL, request["ts"])) and not has_button(m, ids.REJECT) and m, 10, "not decided"
    )
    assert f"Rejected by <@{APPROVER}>" in text_of(decided)
    assert "<!here>" not in text_of(decided) and "&lt;!here&gt;" in text_of(decided)
    journey.wait_reply(lambda m: "rejected this connection" in text_of(m), "the rejected notice")
    journey.wait_parent("Rejected")
    assert state_of(redis_url, sandbox.org_id) == ""


def test_two_approvers_at_the_same_instant_make_one_decision(slack, standin, sandbox, redis_url):
    journey, request = connect_until_approval(slack, standin, sandbox)
    barrier = threading.Barrier(2)

    def click(user):
        barrier.wait()
        slack.click(user, message=request, action_id=ids.APPROVE)

    threads = [threading.Thread(target=click, args=(u,)) for u in (APPROVER, SECOND_APPROVER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loser_told = standin.wait_for_response(lambda r: "already approved by" in str(r.payload))
    winner = APPROVER if f"<@{APPROVER}>" in str(loser_told.payload) else SECOND_APPROVER
    assert loser_told.user != winner
    journey.wait_reply(lambda m: "is connected* and active" in text_of(m), "the connected notice")
    connected = [m for m in journey.replies() if "is connected* and active" in text_of(m)]
    assert len(connected) == 1
    assert state_of(redis_url, sandbox.org_id) == "connected"


def test_approval_requests_go_to_the_approval_channel_when_configured(bot_env, standin, sandbox, redis_url):
    running = start_bot({**bot_env, "CE_APPROVAL_CHANNEL": "C0APPROVALS"})
    try:
        slack = SlackClientSim(running.url, SIGNING_SECRET, standin)
        journey, request = connect_until_approval(slack, standin, sandbox, approval_channel="C0APPROVALS")
        assert not any(has_button(m, ids.APPROVE) for m in journey.replies())
        assert "Open the connection's thread" in text_of(request)
        slack.click(APPROVER, message=request, action_id=ids.APPROVE, channel_id="C0APPROVALS")
        journey.wait_parent("Connected")
    finally:
        running.stop()
