"""Authorization is decided on the server, from the clicking user's ID and the connection in Redis —
never from what the payload claims. Forged button values and private_metadata (another
connection's ID, garbage, oversized, not even a string), the wrong person, a replayed submission:
refused with a clear message, and nothing changes."""

from __future__ import annotations

import time

import pytest

from bot.slack import ids
from bot.slack.views.modals import role_modal
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from tests.reliability.harness import (
    APPROVER,
    BYSTANDER,
    REQUESTER,
    REQUESTER2,
    SECOND_APPROVER,
    approval_request,
    bot_env,
    connection,
    dump,
    jobs_settled,
    set_up_connection,
    slack_for,
    wait_until,
)

GARBAGE = ["", "x" * 2001, "0" * 16, "0123456789ABCDEF", "ce:org:o-x", "../0123456789abcdef", 12345, {"id": "x"}, None]


def button(ts: str, action_id: str, value) -> dict:
    element = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "b"}}
    if value is not None:
        element["value"] = value
    return {"ts": ts, "blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}


def settle(redis_url: str) -> None:
    time.sleep(0.2)  # what a click starts after its ack (a lazy listener) shows by now
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")


@pytest.fixture
def bot(standin, redis_url, bots, tmp_path):
    return bots(bot_env(redis_url, standin, tmp_path / "data"))


def test_nobody_but_the_requester_moves_a_connection_forward(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000001", until="started")
    parent_ts = connection(redis_url, conn_id)["parent_ts"]
    settle(redis_url)
    before = dump(redis_url)

    for user in (BYSTANDER, REQUESTER2, APPROVER):
        slack.click(user, message=button(parent_ts, ids.ENTER_IDS, conn_id), action_id=ids.ENTER_IDS)
        standin.wait_for_response(lambda r, u=user: r.user == u and f"Only <@{REQUESTER}>" in str(r.payload))
        assert not standin.open_views(user)
    for action in (ids.CANCEL, ids.START_OVER):
        slack.click(BYSTANDER, message=button(parent_ts, action, conn_id), action_id=action)
    settle(redis_url)
    assert dump(redis_url) == before
    refusals = [r for r in standin.responses if r.user == BYSTANDER]
    assert len(refusals) == 3 and all(f"Only <@{REQUESTER}>" in str(r.payload) for r in refusals)


def test_forged_button_values_are_refused(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    theirs = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000002", until="awaiting_stack")
    mine = set_up_connection(redis_url, standin, requester=REQUESTER2, org_id="o-authz000003", until="started")
    my_ts = connection(redis_url, mine)["parent_ts"]
    settle(redis_url)
    before = dump(redis_url)

    # someone else's connection ID in my own buttons
    for action in (ids.CANCEL, ids.ENTER_ROLE, ids.START_OVER):
        slack.click(REQUESTER2, message=button(my_ts, action, theirs), action_id=action)
    # an approver's button with another connection's ID: not waiting for a decision
    slack.click(APPROVER, message=button(my_ts, ids.APPROVE, theirs), action_id=ids.APPROVE)
    # anything at all in place of an ID
    for value in GARBAGE:
        for action in (ids.CANCEL, ids.ENTER_IDS, ids.APPROVE, ids.REJECT):
            slack.click(APPROVER if action in (ids.APPROVE, ids.REJECT) else REQUESTER2,
                        message=button(my_ts, action, value), action_id=action)  # fmt: skip
    expected = 4 + len(GARBAGE) * 4
    standin.wait_until(lambda s: len(s.responses) >= expected, 10, "every refusal")
    settle(redis_url)
    assert dump(redis_url) == before
    assert not standin.open_views(REQUESTER2) and not standin.open_views(APPROVER)
    texts = [str(r.payload) for r in standin.responses]
    assert sum(f"Only <@{REQUESTER}>" in t for t in texts) == 3
    assert sum("can't find that connection" in t for t in texts) == len(GARBAGE) * 4


def test_forged_and_replayed_modal_submissions_are_refused(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000004", until="pending_approval")
    started = set_up_connection(redis_url, standin, requester=REQUESTER2, org_id="o-authz000005", until="started")
    awaiting = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000006", until="awaiting_stack")
    request = approval_request(standin, redis_url, conn_id)
    slack.click(APPROVER, message=request, action_id=ids.REJECT)
    view = standin.wait_until(lambda s: s.open_views(APPROVER), 5, "the reason modal")[-1]
    settle(redis_url)
    before = dump(redis_url)

    def refused(user, forged, values, block) -> str:
        body = slack.submit(user, forged, values).json()
        assert body and body["response_action"] == "errors", body
        return body["errors"][block]

    reason = {"Reason": "not this one"}
    assert "Only an approver other than the requester" in refused(BYSTANDER, view, reason, ids.REASON_BLOCK)
    assert "Only an approver other than the requester" in refused(REQUESTER, view, reason, ids.REASON_BLOCK)
    assert "moved on" in refused(APPROVER, {**view, "private_metadata": started}, reason, ids.REASON_BLOCK)
    for metadata in ("", "x" * 3001, "0" * 16, {"conn": conn_id}):
        assert "no longer exists" in refused(APPROVER, {**view, "private_metadata": metadata}, reason, ids.REASON_BLOCK)
    forged_role = {**role_modal(ConnectionStore(connect(redis_url)).get(awaiting)), "id": "V0FORGEDROLE"}
    arn = {"Role ARN": "arn:aws:iam::210987654321:role/CloudEntitlementsManagementRole"}
    assert "Only the person who started" in refused(REQUESTER2, forged_role, arn, ids.ROLE_ARN_BLOCK)
    settle(redis_url)
    assert dump(redis_url) == before

    assert slack.submit(APPROVER, view, reason).json() is None  # the real decision
    wait_until(lambda: connection(redis_url, conn_id)["state"] == "rejected", 5, "the rejection")
    settle(redis_url)
    decided = dump(redis_url)
    replayed = slack.submit(APPROVER, view, {"Reason": "again"}).json()
    assert told_who_decided(replayed, "already rejected by", APPROVER)
    settle(redis_url)
    assert dump(redis_url) == decided


def test_a_reason_submitted_after_another_approver_approved_is_told_who_decided(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000009", until="pending_approval")
    request = approval_request(standin, redis_url, conn_id)
    slack.click(SECOND_APPROVER, message=request, action_id=ids.REJECT)  # starts typing a reason
    view = standin.wait_until(lambda s: s.open_views(SECOND_APPROVER), 5, "the reason modal")[-1]
    slack.click(APPROVER, message=request, action_id=ids.APPROVE)  # meanwhile, another approves
    wait_until(lambda: connection(redis_url, conn_id)["state"] == "connected", 5, "the approval")
    settle(redis_url)
    decided = dump(redis_url)

    late = slack.submit(SECOND_APPROVER, view, {"Reason": "not this one"})
    assert told_who_decided(late.json(), "already approved by", APPROVER)
    updated = standin.open_views(SECOND_APPROVER)[-1]
    assert f"<@{APPROVER}>" in str(updated["blocks"]) and not [b for b in updated["blocks"] if b["type"] == "input"]
    settle(redis_url)
    assert dump(redis_url) == decided


def told_who_decided(answer: dict, what: str, approver: str) -> bool:
    """A modal submitted after the decision turns into a notice naming who decided (a field error
    cannot show a mention, and there is nothing left to submit)."""
    assert answer and answer["response_action"] == "update", answer
    text = str(answer["view"]["blocks"])
    return what in text and f"<@{approver}>" in text


def test_group_approvers_are_checked_with_slack_and_never_guessed(standin, redis_url, bots, tmp_path):
    group, member = "S0SECURITY", "U0GRPMEMBER"
    standin.set_usergroup(group, [member])
    # Slack will not say who is in it: not to the read at start-up, nor to the one of the first click
    standin.fail_next("usergroups.users.list", error="missing_scope", status=200, times=2)
    bot = bots(bot_env(redis_url, standin, tmp_path / "data", CE_APPROVERS=f"{APPROVER},{group}"))
    slack = slack_for(bot, standin)
    wait_until(lambda: standin.calls_to("usergroups.users.list"), 5, "the approver groups read at start-up")
    first = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-authz000007", until="pending_approval")
    slack.click(member, message=approval_request(standin, redis_url, first), action_id=ids.APPROVE)
    standin.wait_for_response(lambda r: r.user == member and "Only approvers" in str(r.payload))
    assert connection(redis_url, first)["state"] == "pending_approval"

    slack.click(member, message=approval_request(standin, redis_url, first), action_id=ids.APPROVE)  # Slack answers now
    wait_until(lambda: connection(redis_url, first)["state"] == "connected", 5, "the approval by a group member")
    assert connection(redis_url, first)["decided_by"] == member
