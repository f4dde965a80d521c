"""The operations views are pure functions: domain objects in, Block Kit within Slack's limits out."""

from __future__ import annotations

import json

from bot.aws.health import Uncovered
from bot.aws.validation import CheckResult, CheckStatus, MemberAccount
from bot.connection.health import Health, HealthChange
from bot.connection.model import Connection, State
from bot.connection.operations import RecheckOutcome
from bot.slack import ids
from bot.slack import operation_ids as ops_ids
from bot.slack.views import organizations as views
from bot.slack.views.home import home_view
from bot.store.connections import AuditEntry, Listed, StatusOutcome, StatusResult
from bot.template import render

NOW = 1_764_000_000.0


def conn(i: int = 0, **overrides) -> Connection:
    base = dict(
        id=f"{i:016x}",
        state=State.CONNECTED,
        requester="U0REQ",
        channel="C0CE",
        created_at=NOW,
        updated_at=NOW,
        org_id=f"o-view{i:08d}",
        root_id="r-ab12",
        region="eu-west-1",
        role_arn="arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole",
        management_account_id="123456789012",
        status="active",
        decided_by="U0APP",
        decided_at=NOW,
        account_count=4,
        stack_set_name=render.STACK_SET_NAME,
    )
    return Connection(**{**base, **overrides})


def text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def action_ids(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] + [
        b["accessory"]["action_id"] for b in message["blocks"] if b.get("accessory")
    ]


def fits(message: dict, blocks: int = 50) -> None:
    assert len(message["blocks"]) <= blocks
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["value"]) <= 2000 and len(element["text"]["text"]) <= 75
    ids_ = [b.get("block_id") for b in message["blocks"] if b.get("block_id")]
    assert len(ids_) == len(set(ids_))


def test_a_list_page_of_a_thousand_fits_and_offers_the_next():
    listed = [Listed(conn(i)) for i in range(1000)]
    page = views.list_page(listed, 0)
    fits(page)
    assert "1000 connected (1000 active, 0 inactive), 0 in flight" in text(page)
    assert action_ids(page).count(ops_ids.DISABLE) == views.PAGE_SIZE and ops_ids.LIST_NEXT in action_ids(page)
    assert ops_ids.LIST_PREV not in action_ids(page)
    last = views.list_page(listed, 10_000)  # clamped to the last page
    assert "Page 50 of 50" in text(last) and ops_ids.LIST_NEXT not in action_ids(last)
    assert views.page_of(listed, conn(45).id) == 2


def test_rows_say_status_health_and_in_flight_steps():
    rows = [
        Listed(conn(1, status="inactive"), checked_at=NOW, problems=2),
        Listed(conn(2), checked_at=NOW, problems=0),
        Listed(conn(3, state=State.PENDING_APPROVAL, status="", expires_at=NOW + 3600)),
        Listed(conn(4, state=State.STARTED, org_id="", status="")),
    ]
    page = views.list_page(rows)
    t = text(page)
    assert ":red_circle: inactive" in t and "2 problems at the last check" in t and "healthy at the last check" in t
    assert "in flight: Step 4 of 4" in t and "organization not entered yet" in t and "expires" in t
    assert action_ids(page).count(ops_ids.ENABLE) == 1 and action_ids(page).count(ops_ids.DISABLE) == 1
    assert action_ids(page).count(ops_ids.DETAILS) == 4


def test_the_empty_list():
    assert "No organization is connected" in text(views.list_page([]))


def test_status_of_a_big_organization_fits():
    accounts = [MemberAccount(f"{i:012d}", f"Account <{i}>", "", "ACTIVE").to_dict() for i in range(1000)]
    health = Health(
        checked_at=NOW,
        version=3,
        checks=(CheckResult("root", "Root ID matches", CheckStatus.FAILED, "r-x", "fix <it>"),),
        uncovered=tuple(Uncovered(f"{i:012d}", "n", "OUTDATED — SCP " * 10) for i in range(100)),
        members=1000,
    )
    history = [AuditEntry(f"{i}-0", "c", "o", "U1", "disable", "active", "inactive", NOW, "x" * 300) for i in range(200)]
    message = views.status_message(conn(), accounts=accounts, health=health, history=history)
    fits(message)
    t = text(message)
    assert "&lt;1&gt;" in t and "<1>" not in t  # escaped
    assert "…and 880 more member accounts" in t and "Member accounts not covered" in t
    assert set(action_ids(message)) == {ops_ids.DISABLE, ops_ids.RECHECK, ops_ids.RECHECK_FAILED, ops_ids.DISCONNECT}
    modal = views.status_modal(conn(), accounts=accounts, health=health, history=history)
    assert modal["type"] == "modal" and len(modal["title"]["text"]) <= 24


def test_status_of_a_connection_in_flight_offers_cancel_only():
    message = views.status_message(conn(state=State.AWAITING_STACK, status=""), accounts=[], health=None, history=[])
    assert action_ids(message) == [] and "/ce cancel o-view00000000" in text(message)


def test_status_of_a_rejected_connection_says_who_rejected_it_and_how_to_start_again():
    message = views.status_message(conn(state=State.REJECTED, status="", decided_by="U0APP"), accounts=[], health=None,
                                   history=[])  # fmt: skip
    t = text(message)
    assert "*Rejected by* <@U0APP>" in t and "Approved by" not in t
    assert action_ids(message) == [] and "To connect it again: `/ce connect aws-org`" in t


def test_a_validating_connection_is_offered_no_cancel_button_it_would_refuse():
    awaiting, validating = conn(1, state=State.AWAITING_STACK, status=""), conn(2, state=State.VALIDATING, status="")
    choice = views.choose_connection([awaiting, validating])
    home = home_view(awaiting.requester, [Listed(awaiting), Listed(validating)], [], approver=False)
    for message in (choice, home):
        cancels = [b["accessory"]["value"] for b in message["blocks"] if b.get("accessory", {}).get("action_id") == ids.CANCEL]
        assert cancels == [awaiting.id] and "can be cancelled once validation is done" in text(message)


def test_every_home_block_with_a_button_has_a_block_id_of_its_own_that_a_republish_keeps():
    # A click on a Home drawn before the last views.publish names the block it saw: a block_id Slack made
    # up at random would be another one by then.
    listed = [Listed(conn(1)), Listed(conn(2, state=State.PENDING_APPROVAL, status="", requester="U0REQ2")),
              Listed(conn(3, state=State.AWAITING_STACK, status="", requester="U0APP"))]  # fmt: skip
    home = home_view("U0APP", listed, [], approver=True)
    with_buttons = [b for b in home["blocks"] if b.get("accessory") or b["type"] == "actions"]
    ids_ = [b.get("block_id") for b in with_buttons]
    assert len(with_buttons) == 3 and all(ids_) and len(set(ids_)) == len(ids_), with_buttons
    assert ids_ == [b.get("block_id") for b in home_view("U0APP", listed, [], approver=True)["blocks"] if b in with_buttons]


def test_toggle_answers():
    c = conn()
    ok = views.status_result_text(StatusResult(StatusOutcome.OK, c), "active", org_id=c.org_id, approvers=["U0APP"])
    assert "is now *active*" in ok and "4 member accounts" in ok
    same = views.status_result_text(StatusResult(StatusOutcome.UNCHANGED, c), "active", org_id=c.org_id, approvers=[])
    assert "already active: nothing was changed" in same
    refused = views.status_result_text(StatusResult(StatusOutcome.NOT_ALLOWED, c), "inactive", org_id=c.org_id, approvers=["S0GROUP", "U0APP"])
    assert "Only approvers" in refused and "<!subteam^S0GROUP>" in refused
    unknown = views.status_result_text(StatusResult(StatusOutcome.NOT_FOUND, None), "inactive", org_id="o-abcdefghij", approvers=[])
    assert "not connected to Cloud Entitlements, nor being connected" in unknown


def test_disconnect_views_give_the_cleanup_in_the_seeds_order():
    c = conn()
    confirmation = views.disconnect_confirmation(c)
    [button] = [e for b in confirmation["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ops_ids.DISCONNECT]
    assert button["confirm"]["style"] == "danger" and button["value"] == c.id
    for message in (views.disconnected_message(c), views.disconnected_notice(c, "U0APP")):
        t = json.loads(json.dumps(message))["blocks"][1]["text"]["text"]
        commands = render.cleanup_commands(region="eu-west-1", root_id="r-ab12")
        assert [t.index(cmd) for cmd in commands] == sorted(t.index(cmd) for cmd in commands)
        assert "123456789012" in t


def test_health_notice_lists_only_what_is_new_with_recheck_buttons():
    change = HealthChange(
        new_failures=(CheckResult("stack_instances", "Member role reached every account", CheckStatus.FAILED, "1 of 3"),
                      CheckResult("trusted_access", "Trusted access", CheckStatus.FAILED, "off", "turn it on")),
        newly_uncovered=(Uncovered("111122223333", "Prod", "OUTDATED/FAILED — SCP denies"),),
        added=(MemberAccount("444455556666", "New <b>", "", "ACTIVE"),),
        removed=(MemberAccount("777788889999", "Old", "", "ACTIVE"),),
        counts={"added": 80},
    )  # fmt: skip
    notice = views.health_notice(conn(), change, thread_link="https://example.slack.com/archives/C0CE/p1")
    fits(notice)
    t = text(notice)
    assert "Trusted access" in t and "Member role reached every account" not in t  # the accounts say it better
    assert "`111122223333` Prod is not covered: OUTDATED/FAILED" in t and "New &lt;b&gt;" in t
    assert "account removed: `777788889999` Old" in t and "79 more (added)" in t
    assert "status is unchanged (active)" in t and "Open the connection's thread" in t
    assert action_ids(notice) == [ops_ids.RECHECK, ops_ids.RECHECK_FAILED]


def test_recheck_reply():
    healthy = Health(checked_at=NOW, checks=(CheckResult("root", "Root", CheckStatus.PASSED),), members=3)
    reply = views.recheck_reply(RecheckOutcome(conn(), healthy, HealthChange(recovered=("root",)), True), conn(), failed_only=False)
    assert "all 1 checks pass and 3 of 3 active member accounts are covered" in text(reply) and "passing again: root" in text(reply)
    gone = views.recheck_reply(None, conn(state=State.DISCONNECTED), failed_only=True)
    assert "no longer connected" in text(gone)


def test_home_for_an_approver_and_for_a_requester():
    listed = [Listed(conn(i)) for i in range(40)] + [
        Listed(conn(100 + i, state=State.PENDING_APPROVAL, requester="U0REQ" if i % 2 else "U0OTHER", status="")) for i in range(30)
    ]
    recent = [AuditEntry(f"{i}-0", "c", "o-x", "U1", "approve", "pending_approval", "connected", NOW, "") for i in range(20)]
    home = home_view("U0APP", listed, recent, approver=True, now=NOW)
    fits(home, blocks=100)
    assert home["type"] == "home" and "…and 20 more" in text(home)
    assert ids.APPROVE in action_ids(home) and ids.REJECT in action_ids(home)
    own = home_view("U0REQ", listed, recent, approver=True)
    decided = [b for b in own["blocks"] if b.get("block_id", "").startswith("decide:")]
    assert all("0000000000000065" not in b["block_id"] for b in decided)  # never their own (four-eyes)
    plain_user = home_view("U0BYS", listed, recent, approver=False)
    assert ids.APPROVE not in action_ids(plain_user) and ops_ids.DISABLE not in action_ids(plain_user)
    assert "Waiting for your decision" not in text(plain_user)
    mine = home_view("U0REQ", listed, recent, approver=False)
    assert "Your connections in flight" in text(mine) and ids.CANCEL in action_ids(mine)
