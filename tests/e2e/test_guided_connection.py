"""The whole guided connection through the real HTTP app, as two people would do it in Slack."""

from __future__ import annotations

from bot.playground.sandbox_stack import deploy_rendered_template
from bot.slack import ids
from tests.e2e.conftest import APPROVER, BYSTANDER, CHANNEL, REQUESTER, SECOND_APPROVER, TRUSTED_ACCOUNT
from tests.e2e.journey import Journey, has_button, text_of
from tests.support.redis_state import connection_of


def test_from_slash_command_to_connected(slack, standin, sandbox, redis_url):
    journey = Journey(slack, standin)

    parent = journey.start()
    assert f"<@{REQUESTER}>" in text_of(parent) and "Step 1 of 4" in parent["text"]
    prerequisites = journey.wait_button(ids.ENTER_IDS)
    assert "management account" in text_of(prerequisites) and "trusted access" in text_of(prerequisites).lower()

    response = journey.submit_ids(sandbox.org_id, sandbox.root_id)
    assert response.status == 200 and not response.text.strip()  # the modal closes

    file, body = journey.template()
    assert file["name"].endswith(".yaml")
    template = body.decode()
    assert TRUSTED_ACCOUNT in template and sandbox.root_id in template
    conn = connection_of(redis_url, sandbox.org_id)
    assert conn["state"] == "awaiting_stack" and conn["external_id"] in template
    instructions = journey.wait_button(ids.ENTER_ROLE)
    assert "CAPABILITY_NAMED_IAM" in text_of(instructions) and "CREATE_COMPLETE" in text_of(instructions)
    journey.wait_parent("Step 2 of 4")

    role_arn = deploy_rendered_template(template, region="us-east-1")  # the user deploys the stack
    assert journey.submit_role(role_arn).status == 200

    checklist = journey.checklist_done()
    assert "passed every check" in text_of(checklist), text_of(checklist)
    assert ":x:" not in text_of(checklist)
    request = journey.approval_request()
    assert sandbox.org_id in text_of(request) and f"<@{APPROVER}>" in text_of(request)
    journey.wait_parent("Step 4 of 4")

    # The requester cannot approve their own connection; a bystander is no approver.
    slack.click(REQUESTER, message=request, action_id=ids.APPROVE)
    standin.wait_for_response(lambda r: "four-eyes" in str(r.payload))
    slack.click(BYSTANDER, message=request, action_id=ids.APPROVE)
    standin.wait_for_response(lambda r: "Only approvers" in str(r.payload))
    assert connection_of(redis_url, sandbox.org_id)["state"] == "pending_approval"

    slack.click(APPROVER, message=request, action_id=ids.APPROVE)
    decided = standin.wait_until(
        lambda s: (m := s.message(CHANNEL, request["ts"])) and not has_button(m, ids.APPROVE) and m, 10, "not decided"
    )
    assert f"Approved by <@{APPROVER}>" in text_of(decided)
    journey.wait_reply(lambda m: "is connected* and active" in text_of(m), "the connected notice")
    journey.wait_parent("Connected")

    conn = connection_of(redis_url, sandbox.org_id)
    assert conn["state"] == "connected" and conn["status"] == "active" and conn["decided_by"] == APPROVER
    assert int(conn["account_count"]) == len(sandbox.accounts) + 1  # the members and the management account

    # A late click by another approver is told who decided, and changes nothing.
    slack.click(SECOND_APPROVER, message=request, action_id=ids.APPROVE)
    standin.wait_for_response(lambda r: f"already approved by <@{APPROVER}>" in str(r.payload))
    assert connection_of(redis_url, sandbox.org_id)["decided_by"] == APPROVER
