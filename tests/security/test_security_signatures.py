"""Every HTTP request to /slack/events is checked against the signing secret before anything else:
a bad or missing signature, a missing or skewed timestamp (more than 5 minutes, either way), a
body changed after signing — 401, and nothing happens in Redis or in Slack. The same payloads,
signed properly, do act: the refusals are not an accident of the payload."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from bot.server import MAX_BODY
from bot.slack import ids
from bot.slack.views.modals import ids_modal
from tests.reliability.harness import (
    CHANNEL,
    SIGNING_SECRET,
    REQUESTER,
    bot_env,
    connection,
    dump,
    jobs_settled,
    set_up_connection,
    slack_for,
    wait_until,
)
from tests.support.slack_requests import signature

FORM = "application/x-www-form-urlencoded"


def command(standin, conn_id: str) -> tuple[bytes, str]:
    fields = {
        "command": "/ce", "text": "connect aws-org", "user_id": REQUESTER, "user_name": "req", "channel_id": CHANNEL,
        "team_id": "T0CE", "api_app_id": "A0CE", "response_url": standin.new_response_url(CHANNEL, REQUESTER),
        "trigger_id": standin.new_trigger_id(REQUESTER),
    }  # fmt: skip
    return urllib.parse.urlencode(fields).encode(), FORM


def click(standin, conn_id: str) -> tuple[bytes, str]:
    payload = {
        "type": "block_actions", "user": {"id": REQUESTER}, "team": {"id": "T0CE"}, "api_app_id": "A0CE",
        "trigger_id": standin.new_trigger_id(REQUESTER), "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1.0"},
        "response_url": standin.new_response_url(CHANNEL, REQUESTER),
        "actions": [{"type": "button", "action_id": ids.CANCEL, "block_id": "start", "value": conn_id, "action_ts": "1.0"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), FORM


def submission(standin, conn_id: str) -> tuple[bytes, str]:
    view = {**ids_modal(conn_id), "id": "V0FORGED", "state": {"values": {
        ids.ORGANIZATION_ID_BLOCK: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": "o-signatures01"}},
        ids.ROOT_ID_BLOCK: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": "r-sig1"}},
    }}}  # fmt: skip
    payload = {
        "type": "view_submission", "user": {"id": REQUESTER}, "team": {"id": "T0CE"}, "api_app_id": "A0CE",
        "trigger_id": standin.new_trigger_id(REQUESTER), "view": view,
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), FORM


def event(standin, conn_id: str) -> tuple[bytes, str]:
    envelope = {
        "type": "event_callback", "team_id": "T0CE", "api_app_id": "A0CE", "event_id": f"Ev{int(time.time() * 1e6)}",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": REQUESTER, "channel": "D0REQ", "tab": "home", "event_ts": "1.0"},
    }  # fmt: skip
    return json.dumps(envelope).encode(), "application/json"


def url_verification(standin, conn_id: str) -> tuple[bytes, str]:
    return json.dumps({"type": "url_verification", "challenge": "c" * 20, "token": "t"}).encode(), "application/json"


KINDS = {"slash command": command, "button": click, "modal submission": submission, "event": event,
         "url verification": url_verification}  # fmt: skip


def forgeries(slack, body: bytes, kind: str):
    """(what, response) for every way of getting the signature wrong."""
    now = int(time.time())
    other_body = body.replace(b"U0REQ", b"U0APP") if b"U0REQ" in body else body + b" "
    yield "wrong secret", slack.signed_post(body, kind, secret="not-the-signing-secret")
    yield "no signature", slack.signed_post(body, kind, headers={"X-Slack-Signature": None})
    yield "no timestamp", slack.signed_post(body, kind, headers={"X-Slack-Request-Timestamp": None})
    yield "6 minutes old", slack.signed_post(body, kind, timestamp=now - 6 * 60)
    yield "6 minutes ahead", slack.signed_post(body, kind, timestamp=now + 6 * 60)
    yield "timestamp not a number", slack.signed_post(
        body, kind, headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": signature(slack.signing_secret, "soon", body)}
    )
    yield "body changed after signing", slack.signed_post(
        other_body, kind, timestamp=now, headers={"X-Slack-Signature": signature(slack.signing_secret, now, body)}
    )
    yield "another scheme", slack.signed_post(
        body, kind, timestamp=now, headers={"X-Slack-Signature": "v1=" + signature(slack.signing_secret, now, body)[3:]}
    )
    yield "empty signature", slack.signed_post(body, kind, headers={"X-Slack-Signature": ""})


@pytest.mark.parametrize("name", list(KINDS))
def test_unsigned_or_badly_signed_requests_get_401_and_change_nothing(name, standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-signatures00", until="started")
    body, kind = KINDS[name](standin, conn_id)
    before, calls = dump(redis_url), len(standin.calls)

    answers = {what: response.status for what, response in forgeries(slack, body, kind)}
    assert set(answers.values()) == {401}, answers
    time.sleep(0.2)  # anything started after the answer would show by now
    assert dump(redis_url) == before
    assert standin.calls[calls:] == [] and not standin.responses

    # The same request, signed properly, is acted on.
    response = slack.signed_post(body, kind)
    assert response.status == 200, response.text
    if name == "url verification":
        assert "c" * 20 in response.text
    elif name != "event":
        wait_until(lambda: dump(redis_url) != before, 5, "the signed request to change something")
    if name == "button":
        wait_until(lambda: connection(redis_url, conn_id)["state"] == "cancelled", 5, "the cancellation")
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")


def test_only_post_on_the_events_path(standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    import urllib.error
    import urllib.request

    for method, path, status in (("GET", "/slack/events", 405), ("PUT", "/slack/events", 405),
                                 ("POST", "/healthz", 405), ("POST", "/", 404), ("GET", "/slack", 404)):  # fmt: skip
        request = urllib.request.Request(bot.url + path, data=b"" if method != "GET" else None, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == status
        if status == 405:
            assert refused.value.headers["Allow"] == ("POST" if path == "/slack/events" else "GET, HEAD")
    with urllib.request.urlopen(urllib.request.Request(bot.url + "/healthz", method="HEAD"), timeout=5) as head:
        assert head.status == 200 and head.read() == b""
    assert not standin.calls


def test_an_oversized_body_is_refused_before_it_is_read(standin, redis_url, bots, tmp_path):
    """Slack's payloads are a few kilobytes; nobody unauthenticated gets the bot to buffer megabytes.
    The bot answers from the headers and closes, so the client sends the headers only (a client that
    keeps sending would see its pipe broken, which is the point)."""
    import socket
    from urllib.parse import urlsplit

    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    address = urlsplit(bot.url)
    size = 2 * MAX_BODY
    before = dump(redis_url)

    def status_for(headers: dict[str, str], sent: list[bytes] | None = None) -> int:
        """The status answered to the headers and the body's start (`sent`; by default its first kB)."""
        lines = ["POST /slack/events HTTP/1.1", f"Host: {address.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
        with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
            connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for part in sent or [b"payload=" + b"x" * 1024]:  # the rest never comes
                connection.sendall(part)
            return int(connection.recv(1024).split()[1])

    timestamp = int(time.time())
    body = b"payload=" + b"x" * (size - len(b"payload="))
    unsigned = {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": "v0=00"}
    assert status_for({"Content-Length": str(size), **unsigned}) == 413
    signed = {"Content-Length": str(size), **unsigned, "X-Slack-Signature": signature(SIGNING_SECRET, timestamp, body)}
    assert status_for(signed) == 413
    # Sent in chunks, with no length declared: refused once what arrived is too much (just beyond the
    # limit, so all of it is read).
    chunk = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY // len(chunk) + 1)
    assert status_for({"Transfer-Encoding": "chunked", **unsigned}, chunks) == 413
    assert not standin.calls and dump(redis_url) == before
