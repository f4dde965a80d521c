"""`delivery_key`: a `/ce connect` is recognised by its trigger_id (the same in Slack's retry, whatever
its timestamp), else by its timestamp and body; nothing else is checked on the ack path."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncBoltRequest

from bot.slack.app import delivery_key

FORM = {"content-type": ["application/x-www-form-urlencoded"]}


def http_request(fields: dict, timestamp: str) -> tuple[AsyncBoltRequest, dict]:
    request = AsyncBoltRequest(body=urlencode(fields), headers={**FORM, "x-slack-request-timestamp": [timestamp]})
    return request, request.body


def connect(**extra) -> dict:
    return {"command": "/ce", "text": "connect aws-org", "user_id": "U0REQ", "channel_id": "C0CE", **extra}


def test_a_retry_signed_at_another_time_has_the_key_of_the_first_delivery():
    fields = connect(trigger_id="1234.5678.abcdef")
    assert delivery_key(*http_request(fields, "1700000000")) == delivery_key(*http_request(fields, "1700000042"))
    other = connect(trigger_id="1234.5678.fedcba")
    assert delivery_key(*http_request(other, "1700000000")) != delivery_key(*http_request(fields, "1700000000"))


def test_without_a_trigger_id_the_timestamp_and_body_are_the_key():
    fields = connect()
    first = delivery_key(*http_request(fields, "1700000000"))
    assert first.startswith("command:") and first == delivery_key(*http_request(fields, "1700000000"))
    assert first != delivery_key(*http_request(fields, "1700000042"))


def test_socket_mode_payloads_are_keyed_the_same_way():
    """Bolt gets a Socket Mode payload as a dict: no raw body, no timestamp."""
    body = connect(trigger_id="1234.5678.abcdef")
    socket = AsyncBoltRequest(body=body, mode="socket_mode")
    assert delivery_key(socket, body) == delivery_key(*http_request(body, "1700000000"))
    without = connect()
    assert delivery_key(AsyncBoltRequest(body=without, mode="socket_mode"), without).startswith("command:")


def test_only_a_connect_has_a_key():
    for fields in (connect(text="help", trigger_id="1.2.3"), connect(text="list", trigger_id="1.2.3")):
        assert delivery_key(*http_request(fields, "1700000000")) == ""
    click = {"type": "block_actions", "trigger_id": "1.2.3", "actions": [{"action_id": "cancel"}]}
    assert delivery_key(*http_request({"payload": json.dumps(click)}, "1700000000")) == ""
