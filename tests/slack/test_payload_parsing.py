"""The fast payload decoding gives exactly what Bolt's parser gives, for every body, well-formed or not."""

from __future__ import annotations

import json
import random
from urllib.parse import quote, quote_plus, urlencode

import pytest
from slack_bolt.request import async_request
from slack_bolt.request.internals import parse_body as bolt_parse_body

from bench import payloads
from bot.slack import payload_parsing
from bot.slack.payload_parsing import parse_body


def outcome(parse, body: str, content_type: str | None = payloads.FORM):
    try:
        return "ok", parse(body, content_type)
    except Exception as error:  # noqa: BLE001 - the same failure is part of "the same"
        return "raised", type(error).__name__


def same_as_bolt(body: str, content_type: str | None = payloads.FORM) -> bool:
    return outcome(parse_body, body, content_type) == outcome(bolt_parse_body, body, content_type)


def test_what_slack_sends_is_parsed_as_bolt_does():
    conn = payloads.pending_connection("0123456789abcdef", "o-abcdefghij")
    bodies = [
        payloads.approve_click_body(conn, "https://hooks.slack.com/"),
        payloads.ids_submission_body("0123456789abcdef", "o-abcdefghij"),
        payloads.command_body("connect aws-org", "https://hooks.slack.com/"),
        payloads.command_body("list", "https://hooks.slack.com/"),
    ]
    for body in bodies:
        assert same_as_bolt(body.decode())


def test_a_click_is_decoded_without_bolts_parser(monkeypatch):
    conn = payloads.pending_connection("0123456789abcdef", "o-abcdefghij")
    body = payloads.approve_click_body(conn, "https://hooks.slack.com/").decode()
    expected = bolt_parse_body(body, payloads.FORM)
    monkeypatch.setattr(payload_parsing, "bolt_parse_body", lambda *_: pytest.fail("Bolt's parser was used"))
    assert parse_body(body, payloads.FORM) == expected


@pytest.mark.parametrize(
    "value",
    [
        '{"a": "b c+d", "e": "✓ – ünïcode", "f": "100% & more = less; x<y>"}',  # every character escaped
        '{"text": "line one\\nline two\\r\\n\\ttab"}',
        '{"x": "%41 is not an escape once decoded"}',
        "[1, 2, 3]",
        "",
        "not json",
    ],
)
def test_encoded_payloads_of_every_shape(value):
    for encode in (quote_plus, quote):
        assert same_as_bolt("payload=" + encode(value))


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7B%7D%",  # a lone % at the end (a2b_qp would drop a trailing '=')
        "payload=%7B%7D%4",
        "payload=%7B%22a%22%3A%22%zz%22%7D",  # not an escape: kept as typed
        "payload=%7B%22a%22%3A%22%FF%22%7D",  # not UTF-8: replaced, as unquote does
        "payload=%7B%22a%22%3A%22=41%22%7D",  # a literal '=' (a2b_qp would decode it)
        "payload=%7B%22a%22%3A%22b%0Ac%22%7D",
        "payload=%7B%22a%22%3A%22b\nc%22%7D",  # a raw line break
        'payload={"a": "ü"}',  # not encoded at all, not ASCII
        "payload=%7B%7D&payload=%5B%5D",  # two fields: the last wins in Bolt's dict
        "payload=%7B%7D&token=x",
        "token=x&payload=%7B%7D",
        "command=%2Fce&text=list+all",
        '{"type": "event_callback"}',
    ],
)
def test_unusual_bodies_are_parsed_as_bolt_does(body):
    assert same_as_bolt(body)


def test_a_json_content_type_is_left_to_bolt():
    assert same_as_bolt("payload=%7B%7D", "application/json")


def test_random_bodies_are_parsed_as_bolt_does():
    rng = random.Random(6)
    alphabet = 'ab {}":,%=&+\n\r_-~.✓ü0123456789ABCDEFabcdef\\/'
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        candidates = [
            "payload=" + text,  # raw, often malformed
            "payload=" + quote_plus(text),
            "payload=" + quote_plus(json.dumps({"v": text})),
            urlencode({"payload": json.dumps({"v": text})}),
        ]
        for body in candidates:
            assert same_as_bolt(body), body


def test_install_is_what_bolt_requests_use(monkeypatch):
    monkeypatch.setattr(async_request, "parse_body", bolt_parse_body)
    payload_parsing.install()
    body = "payload=" + quote_plus(json.dumps({"type": "block_actions", "user": {"id": "U0APP"}}))
    request = async_request.AsyncBoltRequest(body=body, headers={"content-type": payloads.FORM})
    assert async_request.parse_body is parse_body
    assert request.body == {"type": "block_actions", "user": {"id": "U0APP"}}
    assert request.context.user_id == "U0APP"


def test_install_leaves_a_parser_that_is_not_bolts_own(monkeypatch):
    def other(body, content_type):
        return {}

    monkeypatch.setattr(async_request, "parse_body", other)
    payload_parsing.install()
    assert async_request.parse_body is other
