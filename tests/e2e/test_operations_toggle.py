"""`/ce enable` / `/ce disable` and the Enable/Disable buttons, through the real HTTP app."""

from __future__ import annotations

import time

from bot.slack import operation_ids as ops_ids
from tests.e2e.conftest import APPROVER, BYSTANDER, CHANNEL, REQUESTER
from tests.e2e.journey import text_of
from tests.e2e.ops_support import dump, redis_of, seed_in_flight, settle, store_for, wait_ephemeral, wait_thread
from tests.support.redis_state import audit_events, connection_of


def accounts_of(redis_url: str, conn_id: str) -> dict:
    client = redis_of(redis_url)
    try:
        return client.hgetall(f"ce:conn:{conn_id}:accounts")
    finally:
        client.close()


def test_an_approver_disables_and_enables_an_organization(slack, standin, redis_url, connected):
    org, conn_id = connected.org_id, connected.conn_id
    accounts = accounts_of(redis_url, conn_id)
    assert len(accounts) == 4

    response = slack.command(APPROVER, f"disable {org}")
    assert response.status == 200 and not response.body.strip()  # acked at once; the answer follows
    wait_ephemeral(standin, APPROVER, "is now *inactive*")
    assert connection_of(redis_url, org)["status"] == "inactive"
    notice = wait_thread(standin, CHANNEL, connected.journey.parent_ts, "*disabled*")
    assert f"<@{APPROVER}>" in text_of(notice) and "4 member accounts are inactive" in text_of(notice)
    assert accounts_of(redis_url, conn_id) == accounts  # member accounts follow; never touched one by one
    toggles = [e for e in audit_events(redis_url, conn_id) if e["event"] in ("enable", "disable")]
    assert [(e["event"], e["from"], e["to"], e["actor"]) for e in toggles] == [("disable", "active", "inactive", APPROVER)]

    # Disabling again says so and changes nothing.
    before = settle(redis_url)
    slack.command(APPROVER, f"disable {org}")
    wait_ephemeral(standin, APPROVER, "already inactive: nothing was changed")
    assert settle(redis_url) == before

    # Enable from the button on /ce list: the list is redrawn with the new status.
    slack.command(APPROVER, "list")
    listing = wait_ephemeral(standin, APPROVER, "Organizations in Cloud Entitlements")
    assert ":red_circle: inactive" in text_of(listing)
    slack.click(APPROVER, message=listing, action_id=ops_ids.ENABLE)
    wait_ephemeral(standin, APPROVER, "is now *active*")
    redrawn = standin.wait_until(
        lambda s: (m := s.ephemerals(APPROVER)) and next((x for x in m if x["ts"] == listing["ts"] and ":large_green_circle: active" in text_of(x)), None),
        10,
        "the list was not redrawn",
    )
    assert "Disable" in text_of(redrawn)
    wait_thread(standin, CHANNEL, connected.journey.parent_ts, "*enabled*")
    assert connection_of(redis_url, org)["status"] == "active"
    assert accounts_of(redis_url, conn_id) == accounts


def test_refusals_answer_clearly_and_change_nothing(slack, standin, redis_url, connected):
    org = connected.org_id
    slack.command(APPROVER, "list")
    listing = wait_ephemeral(standin, APPROVER, "Organizations in Cloud Entitlements")
    before = settle(redis_url)
    thread_before = standin.messages(CHANNEL, connected.journey.parent_ts)

    # Not an approver: neither the command nor the button.
    slack.command(BYSTANDER, f"disable {org}")
    wait_ephemeral(standin, BYSTANDER, "Only approvers can enable or disable")
    slack.command(REQUESTER, f"disable {org}")
    wait_ephemeral(standin, REQUESTER, "Only approvers can enable or disable")
    slack.click(BYSTANDER, message=listing, action_id=ops_ids.DISABLE)
    standin.wait_for_response(lambda r: r.user == BYSTANDER and "Only approvers" in str(r.payload))

    # Already active.
    slack.command(APPROVER, f"enable {org}")
    wait_ephemeral(standin, APPROVER, "already active: nothing was changed")

    # Unknown organization.
    slack.command(APPROVER, "enable o-unknown12345")
    wait_ephemeral(standin, APPROVER, "is not connected to Cloud Entitlements, nor being connected")

    assert settle(redis_url) == before
    assert standin.messages(CHANNEL, connected.journey.parent_ts) == thread_before
    assert connection_of(redis_url, org)["status"] == "active"


MALFORMED = (
    ("enable", "Say which organization"),
    ("disable r-ab12", "That is a root ID"),
    ("enable o-short", "10 to 32"),
    ("disable O-ABCDEFGHIJ", "lowercase"),
    ("enable <!channel>", "o- followed by"),
    ("disable o-abcdefghij o-bcdefghijk", "Say which organization"),
)


def test_malformed_ids_are_answered_in_the_ack(slack, standin, redis_url):
    before = dump(redis_url)
    calls = len(standin.calls)
    for text, words in MALFORMED:
        body = slack.command(APPROVER, text).json()
        assert body["response_type"] == "ephemeral" and words in body["text"], (text, body)
        assert "<!channel>" not in body["text"]
    time.sleep(0.3)  # anything started after the ack would have happened by now
    assert dump(redis_url) == before
    assert [c.method for c in standin.calls[calls:] if c.method != "auth.test"] == []


def test_an_organization_in_flight_has_no_status_to_toggle(slack, standin, redis_url):
    store = store_for(redis_url)
    seed_in_flight(store, "o-inflight0001", requester=REQUESTER)
    before = settle(redis_url)
    slack.command(APPROVER, "disable o-inflight0001")
    wait_ephemeral(standin, APPROVER, "is not connected (Step 2 of 4")
    assert settle(redis_url) == before


def test_approvers_given_as_a_user_group_may_toggle(bot_env, standin, redis_url):
    from tests.e2e.ops_support import seed_connected, sim, start_bot_with

    standin.set_usergroup("S0SECOPS", ["U0GRP"], handle="secops")
    running = start_bot_with({**bot_env, "CE_APPROVERS": "S0SECOPS"}, tick=0.2)
    try:
        slack = sim(running, standin)
        seed_connected(store_for(redis_url), "o-grouporg0001", requester=REQUESTER, approver="U0GRP")
        before = settle(redis_url)
        slack.command(BYSTANDER, "disable o-grouporg0001")
        refusal = wait_ephemeral(standin, BYSTANDER, "Only approvers can enable or disable")
        assert "<!subteam^S0SECOPS>" in text_of(refusal)
        assert settle(redis_url) == before
        slack.command("U0GRP", "disable o-grouporg0001")
        wait_ephemeral(standin, "U0GRP", "is now *inactive*")
        assert connection_of(redis_url, "o-grouporg0001")["status"] == "inactive"
        assert standin.calls_to("usergroups.users.list")
    finally:
        running.stop()
