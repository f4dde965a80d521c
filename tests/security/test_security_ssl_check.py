"""Slack's SSL check (`ssl_check=1`, form-encoded) is a request like any other: unsigned or badly
signed, 401 and nothing happens; signed, 200 and nothing happens either."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

from tests.reliability.harness import bot_env, dump, slack_for
from tests.security.test_security_signatures import FORM, forgeries

SSL_CHECK = urllib.parse.urlencode({"ssl_check": "1", "token": "x"}).encode()


def test_an_ssl_check_without_a_valid_signature_gets_401(standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    slack = slack_for(bot, standin)
    before, calls = dump(redis_url), len(standin.calls)

    answers = {what: response.status for what, response in forgeries(slack, SSL_CHECK, FORM)}
    bare = urllib.request.Request(bot.url + "/slack/events", data=SSL_CHECK, headers={"Content-Type": FORM})
    try:
        answers["no Slack headers at all"] = urllib.request.urlopen(bare, timeout=5).status
    except urllib.error.HTTPError as refused:
        answers["no Slack headers at all"] = refused.code
    assert set(answers.values()) == {401}, answers

    signed = slack.signed_post(SSL_CHECK, FORM)
    assert signed.status == 200 and signed.body == b""
    time.sleep(0.2)  # anything started after the answers would show by now
    assert dump(redis_url) == before
    assert [c.method for c in standin.calls[calls:]] in ([], ["auth.test"])  # Bolt's authorization, at most
    assert not standin.responses
