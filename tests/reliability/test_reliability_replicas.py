"""Two bot processes behind one load balancer, sharing one Redis: the same organization entered
twice at the same instant, two approvers deciding at the same instant on different replicas —
exactly one of each goes through, and whoever lost is told who won."""

from __future__ import annotations

import threading

from bot.slack import ids
from tests.e2e.journey import Journey, has_button, text_of
from tests.reliability.harness import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    REQUESTER2,
    SECOND_APPROVER,
    approval_request,
    bot_env,
    connection,
    jobs_settled,
    set_up_connection,
    slack_for,
    wait_until,
)
from tests.support.redis_state import audit_events, connection_of

ORG, ROOT = "o-replicas001", "r-rep1"


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_same_organization_entered_on_two_replicas_at_once(standin, redis_url, bots, tmp_path):
    env = bot_env(redis_url, standin, tmp_path / "data")
    one, two = bots(env), bots(env)
    first, second = Journey(slack_for(one, standin), standin), Journey(slack_for(two, standin), standin, user=REQUESTER2)
    first.start()
    second.start()
    view_one, view_two = first.open_ids_modal(), second.open_ids_modal()

    answers = at_once(
        lambda: first.slack.submit(REQUESTER, view_one, {"Organization ID": ORG, "Root ID": ROOT}),
        lambda: second.slack.submit(REQUESTER2, view_two, {"Organization ID": ORG, "Root ID": ROOT}),
    )
    closed = [a for a in answers if a.json() is None]
    refused = [a for a in answers if a.json() is not None]
    assert len(closed) == 1 and len(refused) == 1
    assert "already being connected" in refused[0].json()["errors"][ids.ORGANIZATION_ID_BLOCK]

    winner = first if answers[0] is closed[0] else second
    loser = second if winner is first else first
    holder = connection_of(redis_url, ORG)
    assert holder["requester"] == winner.user and holder["state"] == "awaiting_stack"
    winner.template()
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert not any(has_button(m, ids.ENTER_ROLE) for m in loser.replies())  # the loser's thread did not move on
    assert len([f for f in standin.files() if f.get("shares")]) == 1  # one template, for the winner
    events = [e["event"] for e in audit_events(redis_url, holder["id"])]
    assert events.count("submit_ids") == 1


def test_two_approvers_on_two_replicas_make_one_decision(standin, redis_url, bots, tmp_path):
    env = bot_env(redis_url, standin, tmp_path / "data")
    one, two = bots(env), bots(env)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id=ORG, until="pending_approval")
    request = approval_request(standin, redis_url, conn_id)

    at_once(
        lambda: slack_for(one, standin).click(APPROVER, message=request, action_id=ids.APPROVE),
        lambda: slack_for(two, standin).click(SECOND_APPROVER, message=request, action_id=ids.APPROVE),
    )
    told = standin.wait_for_response(lambda r: "already approved by" in str(r.payload))
    decided = connection(redis_url, conn_id)
    winner = decided["decided_by"]
    assert decided["state"] == "connected" and winner in (APPROVER, SECOND_APPROVER)
    assert told.user != winner and f"<@{winner}>" in str(told.payload)
    assert [e["event"] for e in audit_events(redis_url, conn_id)].count("approve") == 1

    updated = standin.wait_until(
        lambda s: (m := s.message(CHANNEL, request["ts"])) and not has_button(m, ids.APPROVE) and m, 10, "the decision"
    )
    assert f"Approved by <@{winner}>" in text_of(updated)
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    notices = [m for m in standin.messages(CHANNEL, decided["parent_ts"]) if "is connected" in text_of(m)]
    assert len(notices) == 1


def test_approve_and_reject_on_two_replicas_at_once(standin, redis_url, bots, tmp_path):
    env = bot_env(redis_url, standin, tmp_path / "data")
    one, two = bots(env), bots(env)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id=ORG, until="pending_approval")
    request = approval_request(standin, redis_url, conn_id)
    slack_one = slack_for(one, standin)
    slack_one.click(APPROVER, message=request, action_id=ids.REJECT)
    reject_view = standin.wait_until(lambda s: s.open_views(APPROVER), 5, "the reason modal")[-1]

    submitted, _ = at_once(
        lambda: slack_one.submit(APPROVER, reject_view, {"Reason": "wrong organization"}),
        lambda: slack_for(two, standin).click(SECOND_APPROVER, message=request, action_id=ids.APPROVE),
    )
    decided = connection(redis_url, conn_id)
    events = [e["event"] for e in audit_events(redis_url, conn_id)]
    assert events.count("approve") + events.count("reject") == 1
    if decided["state"] == "rejected":
        assert submitted.json() is None and decided["decided_by"] == APPROVER
        standin.wait_for_response(lambda r: r.user == SECOND_APPROVER and "already rejected by" in str(r.payload))
    else:
        assert decided["state"] == "connected" and decided["decided_by"] == SECOND_APPROVER
        assert "already approved" in submitted.json()["errors"][ids.REASON_BLOCK]
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
