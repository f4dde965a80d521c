"""Bad input of every kind gets a clear message on the field and changes nothing."""

from __future__ import annotations

import time

import pytest
import redis as redis_py

from bot.slack import ids
from tests.e2e.conftest import APPROVER, BYSTANDER, CHANNEL, REQUESTER
from tests.e2e.journey import Journey
from tests.e2e.ops_support import settle
from tests.reliability.harness import jobs_settled
from tests.support.redis_state import connection_of, dump


@pytest.fixture
def journey(slack, standin):
    journey = Journey(slack, standin)
    journey.start()
    journey.wait_button(ids.ENTER_IDS)
    return journey


def errors_of(response) -> dict:
    body = response.json()
    assert body["response_action"] == "errors", body
    return body["errors"]


def submit_and_expect_no_change(journey, standin, redis_url, values: dict, user=REQUESTER) -> dict:
    view = journey.open_ids_modal(user)
    time.sleep(0.3)  # let the bot finish what the click started before taking the picture
    before, calls_before = settle(redis_url), len(standin.calls)
    response = journey.slack.submit(user, view, values)
    time.sleep(0.3)
    assert dump(redis_url) == before
    assert [c.method for c in standin.calls[calls_before:]] == []
    return errors_of(response)


@pytest.mark.parametrize(
    "org, root, field, words",
    [
        ("o-short", "r-ab12", ids.ORGANIZATION_ID_BLOCK, "10 to 32"),
        ("O-ABCDEFGHIJ", "r-ab12", ids.ORGANIZATION_ID_BLOCK, "lowercase"),
        ("r-ab12", "r-ab12", ids.ORGANIZATION_ID_BLOCK, "root ID"),
        ("o-abcdefghij", "o-abcdefghij", ids.ROOT_ID_BLOCK, "organization ID"),
        ("o-abcdefghij", "r-a", ids.ROOT_ID_BLOCK, "4 to 32"),
        ("<!channel>", "r-ab12", ids.ORGANIZATION_ID_BLOCK, "o- followed by"),
    ],
)
def test_malformed_ids_are_refused_on_the_field(journey, standin, redis_url, org, root, field, words):
    errors = submit_and_expect_no_change(journey, standin, redis_url, {"Organization ID": org, "Root ID": root})
    assert field in errors and words in errors[field]


def test_swapped_ids_get_an_error_on_both_fields(journey, standin, redis_url):
    errors = submit_and_expect_no_change(
        journey, standin, redis_url, {"Organization ID": "r-ab12", "Root ID": "o-abcdefghij"}
    )
    assert set(errors) == {ids.ORGANIZATION_ID_BLOCK, ids.ROOT_ID_BLOCK}


def test_an_organization_being_connected_cannot_be_taken_twice(journey, slack, standin, redis_url, sandbox):
    assert journey.submit_ids(sandbox.org_id, sandbox.root_id).status == 200
    journey.wait_button(ids.ENTER_ROLE)

    other = Journey(slack, standin, user=BYSTANDER)
    other.start()
    other.wait_button(ids.ENTER_IDS)
    errors = submit_and_expect_no_change(
        other, standin, redis_url, {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id}, user=BYSTANDER
    )
    assert "already being connected" in errors[ids.ORGANIZATION_ID_BLOCK]


def test_someone_else_cannot_open_or_submit_the_requesters_modal(journey, slack, standin, redis_url, sandbox):
    message = journey.wait_button(ids.ENTER_IDS)
    slack.click(BYSTANDER, message=message, action_id=ids.ENTER_IDS)
    standin.wait_for_response(lambda r: "Only <@U0REQ>" in str(r.payload))
    assert not standin.open_views(BYSTANDER)

    # A forged submission by someone else, reusing the requester's modal, is refused too.
    view = journey.open_ids_modal()
    before = settle(redis_url)
    response = slack.submit(BYSTANDER, view, {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id})
    assert "Only the person who started" in errors_of(response)[ids.ORGANIZATION_ID_BLOCK]
    assert dump(redis_url) == before


@pytest.mark.parametrize("metadata", ["", "not-an-id", "0" * 16, "x" * 3000])
def test_forged_private_metadata_is_refused(journey, slack, standin, redis_url, sandbox, metadata):
    view = journey.open_ids_modal()
    forged = {**view, "private_metadata": metadata}
    before = settle(redis_url)
    response = slack.submit(REQUESTER, forged, {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id})
    assert "no longer exists" in errors_of(response)[ids.ORGANIZATION_ID_BLOCK]
    assert dump(redis_url) == before


def test_a_replayed_ids_submission_changes_nothing(journey, slack, standin, redis_url, sandbox):
    view = journey.open_ids_modal()
    values = {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id}
    assert slack.submit(REQUESTER, view, values).status == 200
    journey.wait_button(ids.ENTER_ROLE)
    standin.wait_until(lambda _: not dump(redis_url).get("ce:jobs:slack"), 5, "the send_template job to finish")
    before = settle(redis_url)
    replay = slack.submit(REQUESTER, view, values)
    assert "moved on" in errors_of(replay)[ids.ORGANIZATION_ID_BLOCK]
    assert dump(redis_url) == before


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::12345678901:role/R",
        "arn:aws:iam::123456789012:user/R",
        "arn:aws:sts::123456789012:assumed-role/R/x",
        "not an arn",
    ],
)
def test_malformed_role_arns_get_a_field_error(journey, slack, standin, redis_url, sandbox, arn):
    journey.submit_ids(sandbox.org_id, sandbox.root_id)
    journey.wait_button(ids.ENTER_ROLE)
    time.sleep(0.3)
    view = journey.open_role_modal()
    before = settle(redis_url)
    errors = errors_of(slack.submit(REQUESTER, view, {"Role ARN": arn}))
    assert "arn:aws:iam::123456789012:role/RoleName" in errors[ids.ROLE_ARN_BLOCK]
    assert dump(redis_url) == before


def test_help_and_unknown_commands_answer_with_usage_ephemerally(slack, standin):
    for text in ("", "help", "frobnicate <!channel>", "connect gcp-project"):
        response = slack.command(REQUESTER, text)
        assert response.status == 200
        body = response.json()
        assert body["response_type"] == "ephemeral"
        assert "/ce connect aws-org" in body["text"]
        assert "<!channel>" not in body["text"]
    assert not standin.messages(CHANNEL)


def test_unsigned_forged_and_stale_requests_get_401_and_change_nothing(slack, standin, redis_url):
    body = b"command=%2Fce&text=connect+aws-org&user_id=U0REQ&channel_id=C0CE&team_id=T0CE"
    kind = "application/x-www-form-urlencoded"
    before = settle(redis_url)
    assert slack.signed_post(body, kind, secret="wrong-secret").status == 401
    assert slack.signed_post(body, kind, timestamp=int(time.time()) - 6 * 60).status == 401
    assert slack.signed_post(body, kind, headers={"X-Slack-Signature": None}).status == 401
    assert slack.signed_post(body, kind, headers={"X-Slack-Request-Timestamp": None}).status == 401
    time.sleep(0.5)
    assert dump(redis_url) == before
    assert not standin.messages(CHANNEL)


def test_non_approver_reject_gets_no_modal(slack, standin, redis_url, sandbox):
    """Checked before the reason modal opens: nobody types a reason only to be refused."""
    from tests.e2e.test_validation import connect_until_approval

    journey, request = connect_until_approval(slack, standin, sandbox)
    slack.click(BYSTANDER, message=request, action_id=ids.REJECT)
    standin.wait_for_response(lambda r: "Only approvers" in str(r.payload))
    assert not standin.open_views(BYSTANDER)
    slack.click(REQUESTER, message=request, action_id=ids.REJECT)
    standin.wait_for_response(lambda r: "four-eyes" in str(r.payload))
    assert not standin.open_views(REQUESTER)
    assert APPROVER  # the approver's path is in test_validation.py


def test_a_channel_the_bot_cannot_post_in_is_explained_and_nothing_stays_open(slack, standin, redis_url):
    standin.fail_next("chat.postMessage", error="channel_not_found", status=200)
    assert slack.command(REQUESTER, "connect aws-org", channel_id="G0PRIVATE").status == 200
    told = standin.wait_for_response(lambda r: "can't post in this channel" in str(r.payload), timeout=10)
    assert told.payload.get("response_type", "ephemeral") == "ephemeral"
    state = dump(redis_url)
    conns = [v for k, v in state.items() if k.startswith("ce:conn:") and isinstance(v, dict)]
    assert [c["state"] for c in conns] == ["cancelled"]


# -- a modal's submission is accepted once: Slack sends the view's ID with every submission of it ---------


def failed_validation(journey, slack, standin, redis_url, sandbox) -> tuple[dict, dict]:
    """A role ARN submitted from its modal and refused by validation: (that modal, the checklist)."""
    journey.submit_ids(sandbox.org_id, sandbox.root_id)
    journey.template()
    view = journey.open_role_modal()
    missing = {"Role ARN": f"arn:aws:iam::{sandbox.management_account_id}:role/NotTheStackRole"}
    assert slack.submit(REQUESTER, view, missing).json() is None
    checklist = journey.checklist_done()
    standin.wait_until(lambda _: jobs_settled(redis_url), 10, "every job done")
    return view, checklist


def test_a_role_submission_replayed_after_its_validation_failed_is_refused(journey, slack, standin, redis_url, sandbox):
    view, checklist = failed_validation(journey, slack, standin, redis_url, sandbox)
    assert connection_of(redis_url, sandbox.org_id)["state"] == "validation_failed"  # accepts submit_role again
    before, calls_before = settle(redis_url), len(standin.calls)

    replay = slack.submit(REQUESTER, view, {"Role ARN": f"arn:aws:iam::{sandbox.management_account_id}:role/Other"})

    assert "already submitted" in errors_of(replay)[ids.ROLE_ARN_BLOCK]
    time.sleep(0.3)
    assert dump(redis_url) == before  # no second validation
    assert [c.method for c in standin.calls[calls_before:]] == []
    # "Try another role ARN" opens a new modal: a new view, accepted
    fresh = journey.open_role_modal(checklist)
    assert fresh["id"] != view["id"]
    assert slack.submit(REQUESTER, fresh, {"Role ARN": f"arn:aws:iam::{sandbox.management_account_id}:role/Other"}).json() is None
    assert connection_of(redis_url, sandbox.org_id)["state"] == "validating"


def test_a_modal_corrected_after_a_field_error_is_accepted(journey, slack, standin, redis_url, sandbox):
    """Slack sends the corrected modal with the same view ID: only an accepted submission uses it up."""
    view = journey.open_ids_modal()
    used = redis_py.Redis.from_url(redis_url, decode_responses=True).get
    assert ids.ORGANIZATION_ID_BLOCK in errors_of(slack.submit(REQUESTER, view, {"Organization ID": "o-short", "Root ID": "r-ab12"}))
    assert used(f"ce:seen:view:{view['id']}") is None
    assert slack.submit(REQUESTER, view, {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id}).json() is None
    conn = connection_of(redis_url, sandbox.org_id)
    assert conn["state"] == "awaiting_stack" and used(f"ce:seen:view:{view['id']}") == conn["id"]


@pytest.mark.parametrize("view_id", ["", "v0lowercase", "V0" + "A" * 3000, "V0١٢٣"])
def test_a_submission_whose_view_cannot_be_identified_is_refused(journey, slack, standin, redis_url, sandbox, view_id):
    """Without its view's ID, a submission cannot be told from a replay."""
    view = {**journey.open_ids_modal(), "id": view_id}
    before = settle(redis_url)
    response = slack.submit(REQUESTER, view, {"Organization ID": sandbox.org_id, "Root ID": sandbox.root_id})
    assert "already submitted" in errors_of(response)[ids.ORGANIZATION_ID_BLOCK]
    assert dump(redis_url) == before
