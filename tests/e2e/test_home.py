"""The App Home tab, through the real HTTP app: published on app_home_opened, once per event, refreshed
when something changes, with decisions and toggles that work from it."""

from __future__ import annotations

from bot.connection.states import SYSTEM_ACTOR, Event
from bot.slack import ids
from bot.slack import operation_ids as ops_ids
from tests.e2e.conftest import APPROVER, BYSTANDER, REQUESTER
from tests.e2e.journey import text_of
from tests.e2e.ops_support import seed_connected, settle, store_for
from tests.support.redis_state import connection_of

WAIT = 10.0


def publishes_for(standin, user: str) -> int:
    return len([c for c in standin.calls_to("views.publish") if c.args.get("user_id") == user])


def wait_home(standin, user: str, needle: str) -> dict:
    return standin.wait_until(
        lambda s: (home := s.home(user)) and needle in text_of(home) and home, WAIT, f"{user}'s Home never said {needle!r}"
    )


def seed_pending(store, org_id: str, requester: str) -> str:
    conn = store.create(requester=requester, channel="C0CE", ttl=3600)
    for event, actor, fields, accounts in (
        (Event.SUBMIT_IDS, requester, {"org_id": org_id, "root_id": "r-ab12"}, None),
        (Event.SUBMIT_ROLE, requester, {"role_arn": "arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole"}, None),
        (Event.VALIDATION_PASSED, SYSTEM_ACTOR, {"management_account_id": "123456789012"},
         [{"id": "123456789012", "name": "Management", "email": "", "status": "ACTIVE"}]),
    ):  # fmt: skip
        assert store.transition(conn.id, event, actor=actor, fields=fields, accounts=accounts, ttl=3600).ok
    return conn.id


def test_the_home_is_published_once_per_event(slack, standin):
    response = slack.home_opened(BYSTANDER, event_id="EvHOME000001")
    assert response.status == 200
    home = wait_home(standin, BYSTANDER, "Organizations")
    assert "None yet" in text_of(home) and "Waiting for your decision" not in text_of(home)  # not an approver
    assert len(home["blocks"]) <= 100
    assert publishes_for(standin, BYSTANDER) == 1

    # Slack retries the same event: acknowledged, not handled again.
    assert slack.home_opened(BYSTANDER, event_id="EvHOME000001", retry_num=1, retry_reason="http_timeout").status == 200
    slack.home_opened(BYSTANDER, event_id="EvHOME000002")  # a new opening is handled
    standin.wait_until(lambda s: publishes_for(s, BYSTANDER) == 2, WAIT, "the second opening was not published")
    assert publishes_for(standin, BYSTANDER) == 2


def test_the_home_follows_changes_and_its_buttons_work(slack, standin, redis_url):
    store = store_for(redis_url)
    seed_connected(store, "o-homeorg00001", requester=REQUESTER, approver=APPROVER)
    slack.home_opened(APPROVER)
    slack.home_opened(REQUESTER)
    home = wait_home(standin, APPROVER, "o-homeorg00001")
    assert ":large_green_circle: active" in text_of(home) and "Nothing to decide right now" in text_of(home)

    # A connection reaches pending approval: the approver's Home offers the decision, the requester's shows it in flight.
    seed_pending(store, "o-homepending1", REQUESTER)
    home = wait_home(standin, APPROVER, "Connect `o-homepending1`?")
    wait_home(standin, REQUESTER, "Step 4 of 4")
    assert "Connect `o-homepending1`?" not in text_of(standin.home(REQUESTER))  # the requester can't decide

    slack.click(APPROVER, view=home, action_id=ids.APPROVE)
    standin.wait_until(lambda s: connection_of(redis_url, "o-homepending1").get("state") == "connected", WAIT, "not approved")
    home = wait_home(standin, APPROVER, "Nothing to decide right now")
    assert "o-homepending1" in text_of(home)

    # A non-approver's click on a toggle is refused in a small modal; nothing changes.
    before = settle(redis_url)
    slack.click(BYSTANDER, view=home, action_id=ops_ids.DISABLE)
    modal = standin.wait_until(lambda s: s.open_views(BYSTANDER), WAIT, "no answer to the bystander")[-1]
    assert "Only approvers can enable or disable" in text_of(modal)
    assert settle(redis_url) == before

    # The approver disables from the Home; the Home shows it.
    slack.click(APPROVER, view=home, action_id=ops_ids.DISABLE)
    wait_home(standin, APPROVER, ":red_circle: inactive")
    assert connection_of(redis_url, "o-homeorg00001")["status"] == "inactive"
    assert connection_of(redis_url, "o-homepending1")["status"] == "active"
    wait_home(standin, REQUESTER, "*disable* (active")  # in everyone's last events
