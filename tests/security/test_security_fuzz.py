"""Hypothesis fuzzing of what users type: the slash-command parser, `/ce …` over HTTP, the IDs modal,
the role modal's region, the rejection reason, and the identifier parsers.

Whatever arrives — random unicode, huge strings, Block Kit / mrkdwn injection (`<!channel>`,
`<@U…>`, links, `*bold*`, backticks) — the bot answers in time, accepts only what matches the
strict patterns, changes nothing otherwise, and shows user text back so that it can neither
mention, link nor format: escaped (`&`, `<`, `>`) inside a code span it cannot leave.
"""

from __future__ import annotations

import os
import re
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.connection.ids import ORGANIZATION_ID, ROOT_ID, InvalidInput, parse_organization_id, parse_role_arn, parse_root_id
from bot.connection.model import Connection
from bot.connection.regions import offered, parse_region
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.slack import ids
from bot.slack.command_text import MAX_TEXT, parse_command
from bot.slack.views.approval import approval_decided
from bot.slack.views.messages import moved_on
from bot.slack.views.modals import ids_modal, reject_modal, role_modal
from bot.slack.views.thread import closed_notice, parent_message
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from tests.reliability.harness import (
    ACK_BUDGET,
    APPROVER,
    CHANNEL,
    REQUESTER,
    approval_request,
    bot_env,
    connection,
    jobs_settled,
    set_up_connection,
    slack_for,
    timed,
    wait_until,
)

INJECTIONS = [
    "<!channel>", "<!here>", "<!everyone>", "<@U0EVIL>", "<#C0EVIL>", "<!subteam^S0EVIL>",
    "<http://evil.example|click here>", "<mailto:x@evil.example>", "*bold*", "_italic_", "~strike~",
    "`", "```", "> quoted", "&", "&lt;", "&amp;lt;", "\u202etxt", "\u200b", "\n", "\t",
]  # fmt: skip
WORDS = ["connect", "aws-org", "help", "list", "status", "enable", "disable", "disconnect", "cancel",
         "o-abcdefghij", "r-ab12", "CONNECT", "AWS-ORG"]  # fmt: skip
FORMATTING = ("*bold*", "_italic_", "~strike~")
# What the bot itself may put between < and >: mentions of real IDs, dates, its own links.
BOT_CONTROL = re.compile(r"<(?:@[UW]0(?:REQ|REQ2|APP|APP2)\w*|!date\^\d+\^[^|>]*\|[^>]*|https://[^\s|>]+\|[^>]*)>")
FAST = settings(max_examples=int(os.environ.get("CE_FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def typed_text(max_words: int = 8):
    token = st.one_of(st.sampled_from(INJECTIONS), st.sampled_from(WORDS), st.text(max_size=12))
    return st.lists(token, max_size=max_words).map(" ".join)


def huge_text():
    return st.one_of(typed_text(), st.text(min_size=2000, max_size=6000), st.just("A" * 100_000))


def assert_shown_safely(text: str) -> None:
    """No mention, broadcast or link the bot did not write, and no user formatting outside code spans."""
    for match in re.finditer(r"<[^>]*>?", text):
        assert BOT_CONTROL.fullmatch(match.group(0)), f"unescaped {match.group(0)!r} in {text[:300]!r}"
    outside_code = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)
    for token in FORMATTING:
        assert token not in outside_code, f"user formatting {token!r} outside a code span in {text[:300]!r}"


def mrkdwn_texts(message: dict) -> list[str]:
    """Every piece of mrkdwn in a message: the fallback text and each block's."""
    texts = [message.get("text", "")]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return texts


# -- the parser ------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.none(), st.text(), typed_text(), huge_text()))
def test_parse_command_never_fails_and_keeps_its_shape(text):
    line = parse_command(text)
    assert line.verb == line.verb.lower() and not any(c.isspace() for c in line.verb)
    assert all(arg and not any(c.isspace() for c in arg) for arg in line.args)
    assert len(line.text) <= MAX_TEXT
    assert (line.verb == "") == (not (text or "")[:MAX_TEXT].split())


# -- /ce over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def bot(standin, redis_url, bots, tmp_path):
    return bots(bot_env(redis_url, standin, tmp_path / "data"))


@FAST
@given(text=typed_text())
def test_any_command_text_is_answered_in_time_and_shown_back_escaped(bot, standin, text):
    response, took = timed(lambda: slack_for(bot, standin).command(REQUESTER, text))
    assert response.status == 200 and took < ACK_BUDGET
    if response.body.strip():
        body = response.json()
        assert body["response_type"] == "ephemeral"
        assert_shown_safely(body.get("text", ""))
        for block in body.get("blocks", []):
            assert_shown_safely(str(block))


# -- the IDs modal over HTTP ---------------------------------------------------------------------------


def id_like(prefix: str, low: int):
    near = st.text(alphabet=string.ascii_lowercase + string.digits + "٣Ａ-_ ", min_size=0, max_size=40)
    return st.one_of(near.map(lambda s: prefix + s), st.sampled_from(INJECTIONS), huge_text(),
                     st.text(alphabet=string.ascii_lowercase + string.digits, min_size=low, max_size=32).map(lambda s: prefix + s))  # fmt: skip


def view_of(conn_id: str) -> dict:
    return {**ids_modal(conn_id), "id": "V0FUZZ" + conn_id.upper()}


def submit(slack, user: str, view: dict, values: dict[str, str]):
    """A view_submission with these values, whatever their length (Slack's client would cap them;
    a forged payload does not)."""
    state = {block: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": value}} for block, value in values.items()}
    return submit_state(slack, user, view, state)


def submit_state(slack, user: str, view: dict, state: dict):
    """A view_submission whose inputs hold `state` (block_id -> action_id -> value), as a forger writes it."""
    shown = {**view, "state": {"values": state}}
    return slack._post_payload({
        "type": "view_submission", "team": {"id": "T0CE"}, "user": {"id": user}, "api_app_id": "A0CE",
        "trigger_id": slack.standin.new_trigger_id(user), "view": shown,
    })  # fmt: skip


def test_ids_modal_accepts_only_valid_ids_and_changes_nothing_otherwise(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    state = {"conn": set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-placeholder0", until="started"),
             "held": set()}  # fmt: skip
    # set_up_connection only claims at submit_ids; "started" holds nothing yet

    @FAST
    @given(org=id_like("o-", 10), root=id_like("r-", 4))
    def run(org, root):
        conn_id = state["conn"]
        before = connection(redis_url, conn_id)
        response, took = timed(lambda: submit(slack, REQUESTER, view_of(conn_id), {ids.ORGANIZATION_ID_BLOCK: org, ids.ROOT_ID_BLOCK: root}))
        assert response.status == 200 and took < ACK_BUDGET
        valid = bool(ORGANIZATION_ID.fullmatch(org.strip()) and ROOT_ID.fullmatch(root.strip()))
        body = response.json() if response.body.strip() else None
        if body is None:
            assert valid and org.strip() not in state["held"]
            assert connection(redis_url, conn_id)["org_id"] == org.strip()
            state["held"].add(org.strip())
            state["conn"] = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-placeholder0", until="started")
            return
        assert body["response_action"] == "errors"
        assert set(body["errors"]) <= {ids.ORGANIZATION_ID_BLOCK, ids.ROOT_ID_BLOCK}
        assert not valid or org.strip() in state["held"]
        for message in body["errors"].values():
            assert "<" not in message and len(message) < 300  # plain text, never the input echoed at length
        assert connection(redis_url, conn_id) == before

    run()
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")


# -- the role modal's region over HTTP ---------------------------------------------------------------------

OFFERED = offered("us-east-1")  # the bot's AWS_REGION (tests.support.bot_server)


def region_like():
    near = st.text(alphabet=string.ascii_lowercase + string.digits + "-١٣Ａ \u200b", max_size=24)
    return st.one_of(st.sampled_from(OFFERED), near, st.sampled_from(INJECTIONS), huge_text(),
                     st.just("us-east-١"), st.just("us-" + "a" * 50_000 + "-1"), st.just("US-EAST-1"))  # fmt: skip


def test_the_role_modal_takes_only_an_offered_region(bot, standin, redis_url):
    """The region is a select, but a forged payload says anything: only an offered region (or none, the
    select being optional) gets past the region check to the transition, which then refuses, the
    connection being in validating, so that nothing changes whatever is sent."""
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-fuzzregion01", until="validating")
    view = {**role_modal(ConnectionStore(connect(redis_url)).get(conn_id)), "id": "V0FUZZREGION"}
    before = connection(redis_url, conn_id)

    @FAST
    @given(region=region_like())
    def run(region):
        state = {ids.ROLE_ARN_BLOCK: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": "arn:aws:iam::210987654321:role/R"}},
                 ids.REGION_BLOCK: {ids.INPUT_ACTION: {"type": "static_select", "selected_option": {"value": region}}}}  # fmt: skip
        response, took = timed(lambda: submit_state(slack, REQUESTER, view, state))
        assert response.status == 200 and took < ACK_BUDGET
        errors = response.json()["errors"]
        if region == "" or region.strip() in OFFERED:
            assert errors.keys() == {ids.ROLE_ARN_BLOCK} and "moved on" in errors[ids.ROLE_ARN_BLOCK]
        else:
            assert errors.keys() == {ids.REGION_BLOCK}
        assert all("<" not in message and len(message) < 300 for message in errors.values())
        assert connection(redis_url, conn_id) == before

    run()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), region_like()))
def test_regions_are_strict(text):
    try:
        region = parse_region(text, configured="us-east-1")
    except InvalidInput as refused:
        assert "<" not in refused.message and len(refused.message) < 300
        return
    assert region in OFFERED and region == text.strip()


# -- the rejection reason: over HTTP, then everywhere it is shown -----------------------------------------


def pending(store: ConnectionStore, org_id: str) -> str:
    conn = store.create(requester=REQUESTER, channel=CHANNEL, ttl=3600)
    fields = {"org_id": org_id, "root_id": "r-fuzz", "region": "us-east-1", "stack_set_name": "CloudEntitlements-MemberRoles"}
    assert store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields=fields).ok
    assert store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER,
                            fields={"role_arn": "arn:aws:iam::210987654321:role/R"}).ok  # fmt: skip
    assert store.transition(conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR, accounts=[{"id": "210987654321"}]).ok
    return conn.id


def test_rejection_reasons_are_bounded_and_shown_back_escaped(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    store = ConnectionStore(connect(redis_url))
    counter = iter(range(10**6))

    @FAST
    @given(reason=huge_text())
    def run(reason):
        conn_id = pending(store, f"o-fuzzreason{next(counter):06d}")
        view = {**reject_modal(store.get(conn_id)), "id": "V0REJ" + conn_id.upper()}
        response, took = timed(lambda: submit(slack, APPROVER, view, {ids.REASON_BLOCK: reason}))
        assert response.status == 200 and took < ACK_BUDGET
        normalized = " ".join(reason.split())
        conn = store.get(conn_id)
        if not normalized or len(normalized) > 500:
            assert response.json()["response_action"] == "errors" and conn.state.value == "pending_approval"
            return
        assert response.body.strip() == b"" and conn.state.value == "rejected" and conn.reject_reason == normalized
        for message in (approval_decided(conn), closed_notice(conn, APPROVER), parent_message(conn)):
            for text in mrkdwn_texts(message):
                assert_shown_safely(text)
                assert len(text) <= 3000  # Block Kit's limit for a section's text
        assert_shown_safely(moved_on(conn))

    run()
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")


def test_a_hostile_reason_reaches_slack_inert(bot, standin, redis_url):
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-hostile0001", until="pending_approval")
    request = approval_request(standin, redis_url, conn_id)
    slack.click(APPROVER, message=request, action_id=ids.REJECT)
    view = standin.wait_until(lambda s: s.open_views(APPROVER), 5, "the reason modal")[-1]
    hostile = "<!channel> *bold* `x` ` _it_ <@U0EVIL> & <http://evil.example|click>"
    assert slack.submit(APPROVER, view, {"Reason": hostile}).json() is None
    parent_ts = connection(redis_url, conn_id)["parent_ts"]
    standin.wait_until(lambda s: any("rejected this connection" in str(m) for m in s.messages(CHANNEL, parent_ts)), 10, "the notice")
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    time.sleep(0.1)
    shown = [standin.message(CHANNEL, parent_ts), standin.message(CHANNEL, request["ts"]), *standin.messages(CHANNEL, parent_ts)]
    for message in shown:
        for text in mrkdwn_texts(message):
            assert_shown_safely(text)
    assert any("&lt;!channel&gt;" in str(m) for m in shown)


# -- identifier parsers ----------------------------------------------------------------------------------

UNICODE_DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩０１２３"
NAME_CHARS = string.ascii_letters + string.digits + "+=,.@_-éßД٣ "


@settings(max_examples=300, deadline=None)
@given(
    partition=st.sampled_from(["aws", "aws-cn", "aws-us-gov", "aws-iso", "awś", "AWS"]),
    account=st.text(alphabet=UNICODE_DIGITS, min_size=11, max_size=13),
    path=st.sampled_from(["", "team/", "a/b/", "é/"]),
    name=st.text(alphabet=NAME_CHARS, min_size=0, max_size=70),
)
def test_only_ascii_role_arns_in_aws_format_are_accepted(partition, account, path, name):
    text = f"arn:{partition}:iam::{account}:role/{path}{name}"
    try:
        arn = parse_role_arn(text)
    except InvalidInput:
        return
    assert arn.arn.isascii(), f"accepted a non-ASCII role ARN: {text!r}"
    assert re.fullmatch(r"[0-9]{12}", arn.account_id) and re.fullmatch(r"[A-Za-z0-9+=,.@_-]{1,64}", arn.name)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), id_like("o-", 10), id_like("r-", 4)))
def test_organization_and_root_ids_are_strict(text):
    for parse, pattern in ((parse_organization_id, r"o-[a-z0-9]{10,32}"), (parse_root_id, r"r-[a-z0-9]{4,32}")):
        try:
            value = parse(text)
        except InvalidInput as refused:
            assert "<" not in refused.message
            continue
        assert re.fullmatch(pattern, value, re.ASCII) and value == text.strip()


def test_connection_model_round_trips_hostile_text():
    conn = Connection(id="0123456789abcdef", state="rejected", requester=REQUESTER, channel=CHANNEL, created_at=1.0,
                      updated_at=1.0, reject_reason="<!channel> *x*")  # fmt: skip
    assert Connection.from_hash(conn.to_hash()).reject_reason == "<!channel> *x*"
