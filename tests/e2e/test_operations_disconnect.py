"""`/ce status`, `/ce disconnect` (confirm first, then clean-up steps) and `/ce cancel`, through the real HTTP app."""

from __future__ import annotations

from bot.connection.states import Event
from bot.playground.sandbox_stack import delete_deployment
from bot.slack import ids
from bot.slack import operation_ids as ops_ids
from bot.template import render
from tests.e2e.conftest import APPROVER, BYSTANDER, CHANNEL, REQUESTER, SECOND_APPROVER
from tests.e2e.journey import Journey, text_of
from tests.e2e.ops_support import (
    connect_organization,
    redis_of,
    seed_connected,
    seed_in_flight,
    settle,
    store_for,
    wait_ephemeral,
    wait_thread,
)
from tests.support.redis_state import audit_events, connection_of


def test_status_shows_accounts_checks_and_history(slack, standin, sandbox, connected):
    slack.command(BYSTANDER, f"status {connected.org_id}")
    status = wait_ephemeral(standin, BYSTANDER, "*Member accounts* (4)")
    text = text_of(status)
    assert ":large_green_circle: active" in text
    for account_id, name in sandbox.accounts:
        assert account_id in text and name in text
    assert "ACTIVE" in text and "active, following the organization" in text
    assert "Validation" in text and "Assume the role with the ExternalId" in text  # the last result per check
    assert "*History*" in text
    for event in ("start", "submit_ids", "submit_role", "validation_passed", "approve"):
        assert f"*{event}*" in text
    assert f"Approved by* <@{APPROVER}>" in text
    assert len(status["blocks"]) <= 50
    actions = {e["action_id"] for b in status["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert actions == {ops_ids.DISABLE, ops_ids.RECHECK, ops_ids.DISCONNECT}

    # Details from /ce list shows the same.
    slack.command(BYSTANDER, "list")
    listing = wait_ephemeral(standin, BYSTANDER, "Organizations in Cloud Entitlements")
    slack.click(BYSTANDER, message=listing, action_id=ops_ids.DETAILS)
    standin.wait_until(lambda s: len([m for m in s.ephemerals(BYSTANDER) if "*Member accounts* (4)" in text_of(m)]) == 2, 10)


def test_status_of_an_organization_no_longer_connected_shows_its_last_state_and_every_connections_history(
    slack, standin, redis_url
):
    org = "o-history00001"
    store = store_for(redis_url)
    first = seed_connected(store, org, requester=REQUESTER, approver=APPROVER)
    assert store.transition(first, Event.DISCONNECT, actor=SECOND_APPROVER, actor_is_approver=True).ok
    second = seed_in_flight(store, org, requester=REQUESTER)  # connected again, then given up
    assert store.transition(second, Event.CANCEL, actor=REQUESTER).ok
    before = settle(redis_url)

    slack.command(BYSTANDER, f"status {org}")
    status = wait_ephemeral(standin, BYSTANDER, "*History*")
    text = text_of(status)
    assert f"*`{org}`*" in text and "Cancelled" in text  # its last connection, as it ended
    history = text[text.index("*History*"):]
    events = ["start", "submit_ids", "submit_role", "validation_passed", "approve", "disconnect", "start", "submit_ids", "cancel"]
    position = 0
    for event in events:  # both connections' entries, oldest first
        position = history.index(f"*{event}*", position) + 1
    assert f"<@{SECOND_APPROVER}>" in history
    assert "/ce connect aws-org" in text  # how to connect it again
    assert not [b for b in status["blocks"] if b["type"] == "actions"]  # nothing to enable, re-check or disconnect

    slack.command(BYSTANDER, "status o-neverseen0001")
    wait_ephemeral(standin, BYSTANDER, "`o-neverseen0001` is not connected to Cloud Entitlements, nor being connected")
    assert settle(redis_url) == before


def test_disconnect_confirms_then_gives_the_cleanup_steps_and_frees_the_organization(
    slack, standin, sandbox, redis_url, connected
):
    org, conn_id = connected.org_id, connected.conn_id
    before = settle(redis_url)
    response = slack.command(APPROVER, f"disconnect {org}")
    assert response.status == 200 and not response.body.strip()
    confirmation = standin.wait_until(lambda s: s.open_views(APPROVER), 10, "the confirmation modal")[-1]
    assert confirmation["submit"]["text"] == "Disconnect" and confirmation["close"]["text"] == "Keep it connected"
    assert f"Disconnect `{org}`?" in text_of(confirmation) and "4 member accounts" in text_of(confirmation)
    assert settle(redis_url) == before  # asking changes nothing

    # "Keep it connected" closes it and changes nothing.
    slack.close(APPROVER, confirmation)
    assert not standin.open_views(APPROVER) and settle(redis_url) == before

    slack.command(APPROVER, f"disconnect {org}")
    confirmation = standin.wait_until(lambda s: s.open_views(APPROVER), 10, "the confirmation modal")[-1]
    answer = slack.submit(APPROVER, confirmation).json()
    assert answer["response_action"] == "update", answer  # the modal now says it is done, with the clean-up
    done = standin.open_views(APPROVER)[-1]
    text = text_of(done)
    assert "is disconnected" in text and not done.get("submit")
    commands = render.cleanup_commands(region="us-east-1", root_id=sandbox.root_id)
    positions = [text.index(command) for command in commands]
    assert positions == sorted(positions)  # StackSet instances, StackSet, then the stack
    assert "delete-stack-instances" in commands[0] and "delete-stack-set" in commands[1] and "delete-stack " in commands[2]

    conn = redis_of(redis_url).hgetall(f"ce:conn:{conn_id}")
    assert conn["state"] == "disconnected" and conn["status"] == "inactive"  # kept, in history
    assert redis_of(redis_url).get(f"ce:org:{org}") is None  # released
    last = audit_events(redis_url, conn_id)[-1]
    assert (last["event"], last["from"], last["to"], last["actor"]) == ("disconnect", "connected", "disconnected", APPROVER)
    notice = wait_thread(standin, CHANNEL, connected.journey.parent_ts, "*disconnected*")
    assert commands[0] in text_of(notice) and f"<@{APPROVER}>" in text_of(notice)
    connected.journey.wait_parent("Disconnected")

    # The same confirmation submitted again (replayed) changes nothing and says why.
    after = settle(redis_url)
    again = slack.submit(APPROVER, confirmation).json()
    assert again["response_action"] == "update" and "is not connected (disconnected)" in str(again["view"]), again
    slack.command(APPROVER, f"disconnect {org}")
    wait_ephemeral(standin, APPROVER, "is not connected to Cloud Entitlements, nor being connected")
    assert settle(redis_url) == after

    # The organization can be connected again, after the clean-up in AWS.
    delete_deployment(region="us-east-1")
    again = connect_organization(slack, standin, sandbox, redis_url)
    assert again.conn_id != conn_id and connection_of(redis_url, org)["state"] == "connected"


def test_when_the_confirmation_cannot_open_in_time_it_is_asked_in_a_message(slack, standin, redis_url, connected):
    standin.fail_next("views.open", error="expired_trigger_id", status=200)  # the worker picked it up too late
    slack.command(APPROVER, f"disconnect {connected.org_id}")
    question = wait_ephemeral(standin, APPROVER, f"Disconnect `{connected.org_id}`?")
    slack.click(APPROVER, message=question, action_id=ops_ids.DISCONNECT)  # its button has Slack's confirm dialog
    wait_ephemeral(standin, APPROVER, "is disconnected")


def test_the_disconnect_button_confirms_in_a_dialog_and_a_late_click_is_told(slack, standin, redis_url, connected):
    org = connected.org_id
    statuses = {}
    for approver in (APPROVER, SECOND_APPROVER):
        slack.command(approver, f"status {org}")
        statuses[approver] = wait_ephemeral(standin, approver, "*History*")
    button = next(e for b in statuses[APPROVER]["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == ops_ids.DISCONNECT)  # fmt: skip
    assert button["confirm"]["title"]["text"] == f"Disconnect {org}?" and button.get("style") == "danger"
    slack.click(APPROVER, message=statuses[APPROVER], action_id=ops_ids.DISCONNECT)  # Slack asked first: the dialog
    wait_ephemeral(standin, APPROVER, "is disconnected")
    assert redis_of(redis_url).hgetall(f"ce:conn:{connected.conn_id}")["state"] == "disconnected"

    # A click on a status shown before (late) changes nothing and says why.
    after = settle(redis_url)
    slack.click(SECOND_APPROVER, message=statuses[SECOND_APPROVER], action_id=ops_ids.DISCONNECT)
    standin.wait_for_response(lambda r: r.user == SECOND_APPROVER and "is not connected (disconnected)" in str(r.payload))
    assert settle(redis_url) == after


def test_disconnect_refusals_change_nothing(slack, standin, redis_url, connected):
    org = connected.org_id
    slack.command(APPROVER, f"status {org}")
    status = wait_ephemeral(standin, APPROVER, "*History*")
    store = store_for(redis_url)
    seed_in_flight(store, "o-inflight0002", requester=REQUESTER)
    before = settle(redis_url)

    slack.command(BYSTANDER, f"disconnect {org}")
    wait_ephemeral(standin, BYSTANDER, "Only approvers can disconnect")
    slack.click(BYSTANDER, message=status, action_id=ops_ids.DISCONNECT)  # a non-approver's forged click
    standin.wait_for_response(lambda r: r.user == BYSTANDER and "Only approvers can disconnect" in str(r.payload))
    slack.command(APPROVER, "disconnect o-nothere000001")
    wait_ephemeral(standin, APPROVER, "`o-nothere000001` is not connected to Cloud Entitlements")
    slack.command(APPROVER, "disconnect o-inflight0002")
    wait_ephemeral(standin, APPROVER, "is not connected yet (Step 2 of 4")
    for text, words in (("disconnect", "Say which organization"), ("disconnect r-ab12", "root ID")):
        assert words in slack.command(APPROVER, text).json()["text"]
    assert settle(redis_url) == before
    assert connection_of(redis_url, org)["state"] == "connected"


def test_the_approver_who_requested_cannot_disconnect_alone(slack, standin, redis_url):
    store = store_for(redis_url)
    seed_connected(store, "o-selfapprov01", requester=APPROVER, approver=SECOND_APPROVER)
    before = settle(redis_url)
    slack.command(APPROVER, "disconnect o-selfapprov01")
    wait_ephemeral(standin, APPROVER, "another approver has to disconnect it (four-eyes)")
    assert settle(redis_url) == before


def test_cancel_ends_a_connection_in_flight(slack, standin, sandbox, redis_url):
    journey = Journey(slack, standin)
    journey.start()
    assert journey.submit_ids(sandbox.org_id, sandbox.root_id).status == 200
    journey.wait_button(ids.ENTER_ROLE)
    before = settle(redis_url)

    # Refusals first: someone else, an unknown organization, a malformed one.
    slack.command(BYSTANDER, f"cancel {sandbox.org_id}")
    wait_ephemeral(standin, BYSTANDER, f"Only <@{REQUESTER}>, who started it, or an approver can cancel")
    slack.command(BYSTANDER, "cancel")
    wait_ephemeral(standin, BYSTANDER, "You have no connection in flight")
    slack.command(REQUESTER, "cancel o-nothere000001")
    wait_ephemeral(standin, REQUESTER, "is not connected to Cloud Entitlements, nor being connected")
    assert "10 to 32" in slack.command(REQUESTER, "cancel o-x").json()["text"]
    assert settle(redis_url) == before

    slack.command(REQUESTER, "cancel")  # the requester's only connection in flight
    wait_ephemeral(standin, REQUESTER, "Cancelled the connection of")
    journey.wait_reply(lambda m: "cancelled this connection" in text_of(m), "the cancelled notice")
    assert redis_of(redis_url).get(f"ce:org:{sandbox.org_id}") is None  # free to connect again


def test_an_approver_cancels_by_organization_and_a_connected_one_is_refused(slack, standin, redis_url, connected):
    store = store_for(redis_url)
    conn_id = seed_in_flight(store, "o-inflight0003", requester=BYSTANDER)
    before = settle(redis_url)
    slack.command(APPROVER, f"cancel {connected.org_id}")
    wait_ephemeral(standin, APPROVER, "is connected, not in flight")
    assert settle(redis_url) == before
    slack.command(SECOND_APPROVER, "cancel o-inflight0003")
    wait_ephemeral(standin, SECOND_APPROVER, "Cancelled the connection of `o-inflight0003`")
    assert redis_of(redis_url).hget(f"ce:conn:{conn_id}", "state") == "cancelled"


def test_cancel_alone_with_several_connections_asks_which(slack, standin, redis_url):
    store = store_for(redis_url)
    first = seed_in_flight(store, "o-inflight0004", requester=REQUESTER)
    seed_in_flight(store, "o-inflight0005", requester=REQUESTER)
    before = settle(redis_url)
    slack.command(REQUESTER, "cancel")
    question = wait_ephemeral(standin, REQUESTER, "Which one do you want to cancel?")
    assert "o-inflight0004" in text_of(question) and "o-inflight0005" in text_of(question)
    assert settle(redis_url) == before
    first_button = {**question, "blocks": [b for b in question["blocks"] if "o-inflight0004" in text_of({"blocks": [b]})]}
    slack.click(REQUESTER, message=first_button, action_id=ids.CANCEL)
    standin.wait_until(lambda s: redis_of(redis_url).hget(f"ce:conn:{first}", "state") == "cancelled", 10, "not cancelled")
