"""`/ce list`: every organization, paginated, acknowledged at once even with a thousand of them."""

from __future__ import annotations

import time

from bot.slack import operation_ids as ops_ids
from bot.slack.views.organizations import PAGE_SIZE
from tests.e2e.conftest import APPROVER, BYSTANDER, REQUESTER
from tests.e2e.journey import text_of
from tests.e2e.ops_support import seed_connected, seed_in_flight, settle, store_for, wait_ephemeral

ORGANIZATIONS = 1000


def org(i: int) -> str:
    return f"o-list{i:08d}"


def seed(redis_url: str, count: int) -> None:
    store = store_for(redis_url)
    for i in range(count):
        seed_connected(store, org(i), requester=REQUESTER, approver=APPROVER, accounts=2)
    store.redis.close()


def test_a_thousand_organizations_ack_fast_and_paginate(slack, standin, redis_url):
    seed(redis_url, ORGANIZATIONS)
    store = store_for(redis_url)
    seed_in_flight(store, "o-listinflight01", requester=BYSTANDER)

    started = time.perf_counter()
    response = slack.command(APPROVER, "list")
    acked_in = time.perf_counter() - started
    assert response.status == 200 and not response.body.strip()
    assert acked_in < 0.5, f"/ce list took {acked_in:.3f} s to ack"

    first = wait_ephemeral(standin, APPROVER, "Organizations in Cloud Entitlements")
    assert len(first["blocks"]) <= 50
    text = text_of(first)
    assert f"{ORGANIZATIONS} connected ({ORGANIZATIONS} active, 0 inactive), 1 in flight" in text
    pages = -(-(ORGANIZATIONS + 1) // PAGE_SIZE)
    assert f"Page 1 of {pages}" in text
    assert org(0) in text and org(PAGE_SIZE) not in text
    assert f"<@{REQUESTER}>" in text and f"approved by <@{APPROVER}>" in text and "2 member accounts" in text
    rows = [b for b in first["blocks"] if b["type"] == "actions" and b["block_id"].startswith("list:")]
    assert len(rows) == PAGE_SIZE
    assert all({e["action_id"] for e in r["elements"]} == {ops_ids.DISABLE, ops_ids.DETAILS} for r in rows)

    # Next page replaces the message in place; Previous goes back.
    slack.click(APPROVER, message=first, action_id=ops_ids.LIST_NEXT)
    second = standin.wait_until(
        lambda s: next((m for m in s.ephemerals(APPROVER) if m["ts"] == first["ts"] and "Page 2 of" in text_of(m)), None),
        10,
        "no page 2",
    )
    assert org(PAGE_SIZE) in text_of(second) and org(0) not in text_of(second)
    assert len(second["blocks"]) <= 50

    # The last page holds the connection in flight, with its step and no toggle.
    last = {**second, "blocks": [{"type": "actions", "block_id": "pages", "elements": [
        {"type": "button", "action_id": ops_ids.LIST_NEXT, "value": str(pages - 1), "text": {"type": "plain_text", "text": "Next page"}}
    ]}]}  # fmt: skip
    slack.click(APPROVER, message=last, action_id=ops_ids.LIST_NEXT)
    final = standin.wait_until(
        lambda s: next((m for m in s.ephemerals(APPROVER) if m["ts"] == first["ts"] and f"Page {pages} of" in text_of(m)), None),
        10,
        "no last page",
    )
    assert "o-listinflight01" in text_of(final) and "in flight: Step 2 of 4" in text_of(final)
    assert not any(b.get("block_id") == "pages" and any(e["action_id"] == ops_ids.LIST_NEXT for e in b["elements"])
                   for b in final["blocks"] if b["type"] == "actions")  # fmt: skip


def test_a_forged_page_number_is_refused(slack, standin, redis_url):
    seed(redis_url, 2)
    slack.command(APPROVER, "list")
    listing = wait_ephemeral(standin, APPROVER, "Organizations in Cloud Entitlements")
    before = settle(redis_url)
    for value in ("-1", "abc", "99999999", ""):
        forged = {**listing, "blocks": [{"type": "actions", "block_id": "pages", "elements": [
            {"type": "button", "action_id": ops_ids.LIST_NEXT, "value": value, "text": {"type": "plain_text", "text": "Next page"}}
        ]}]}  # fmt: skip
        posts = len(standin.responses)
        slack.click(APPROVER, message=forged, action_id=ops_ids.LIST_NEXT)
        standin.wait_until(
            lambda s: any("That page doesn't exist" in str(r.payload) for r in s.responses[posts:]), 10, f"page {value!r}"
        )
    assert settle(redis_url) == before


def test_the_list_asked_again_shows_what_changed_since(slack, standin, redis_url):
    seed(redis_url, 3)
    slack.command(BYSTANDER, "list")
    first = wait_ephemeral(standin, BYSTANDER, "3 connected (3 active, 0 inactive)")
    slack.command(APPROVER, "list")
    again = wait_ephemeral(standin, APPROVER, "Organizations in Cloud Entitlements")
    shown = [[(b["type"], b.get("text"), b.get("elements")) for b in m["blocks"]] for m in (first, again)]
    assert shown[0] == shown[1]  # block IDs aside, which the stand-in gives, as Slack does
    slack.command(APPROVER, f"disable {org(1)}")
    wait_ephemeral(standin, APPROVER, "is now *inactive*")
    slack.command(BYSTANDER, "list")
    changed = wait_ephemeral(standin, BYSTANDER, "3 connected (2 active, 1 inactive)")
    rows = [b for b in changed["blocks"] if b["type"] == "actions" and b["block_id"].startswith("list:")]
    assert [[e["action_id"] for e in r["elements"]] for r in rows] == [
        [ops_ids.DISABLE, ops_ids.DETAILS], [ops_ids.ENABLE, ops_ids.DETAILS], [ops_ids.DISABLE, ops_ids.DETAILS]
    ]


def test_an_empty_list_says_how_to_start(slack, standin):
    slack.command(BYSTANDER, "list")
    wait_ephemeral(standin, BYSTANDER, "No organization is connected or being connected yet")
    assert slack.command(BYSTANDER, "list everything").json()["text"].startswith("`/ce list` takes nothing")


def ack_round_trips(runtime, slack, text: str) -> tuple[int, dict]:
    """Redis commands sent while the bot answers one signed `/ce` request over HTTP, through every
    middleware. Ack paths use the event loop's client (`ack_store`); what runs after the ack, in the
    worker's threads, uses the other one and is not counted."""
    client = runtime.ack_store.redis
    original = client.execute
    count = [0]

    async def counted(*args):
        count[0] += 1
        return await original(*args)

    client.execute = counted
    try:
        response = slack.command(REQUESTER, text)
    finally:
        client.execute = original
    assert response.status == 200, response.body
    return count[0], response.json() if response.body else {}


ACK_PATHS = (
    "list",
    "status o-abcdefghij",
    "enable o-abcdefghij",
    "disable o-abcdefghij",
    "disconnect o-abcdefghij",
    "cancel",
    "cancel o-abcdefghij",
    "disable r-ab12",
    "help",
    "connect aws-org",
)


def test_every_ack_path_makes_at_most_two_redis_round_trips(bot, slack):
    ack_round_trips(bot.runtime, slack, "connect aws-org")  # the store's Lua scripts are loaded once per Redis
    counts = {text: ack_round_trips(bot.runtime, slack, text)[0] for text in ACK_PATHS}
    assert all(n <= 2 for n in counts.values()), counts
