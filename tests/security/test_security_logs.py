"""Logging: every record has its secrets masked, and CE_LOG_JSON gives one JSON line per event."""

from __future__ import annotations

import io
import json
import logging
import secrets
import string

import pytest

from bot import logs

BOT_TOKEN = "xoxb-1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-" + "ab" * 32
USER_TOKEN = "xoxp-1234567890-1234567890-1234567890123-" + "cd" * 16
SIGNING_SECRET = secrets.token_hex(16)  # 32 hex characters: no shape to recognise
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters, like every AWS secret key
SESSION_TOKEN = "FQoGZXIvYXdzEBYaD" + "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(339))
SECRETS = (BOT_TOKEN, APP_TOKEN, USER_TOKEN, SIGNING_SECRET, AWS_SECRET, SESSION_TOKEN)


@pytest.fixture
def logged():
    """The root logger at DEBUG through logs.setup (as `ce-bot` does), writing to a buffer."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "LOG_LEVEL": "DEBUG"}
    handler = logs.setup(env, stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)
    logs.uninstall_redaction()


@pytest.mark.parametrize(
    "template",
    [
        "token {s}",
        "headers: {{'Authorization': 'Bearer {s}'}}",
        "b'<Credentials><SecretAccessKey>{s}</SecretAccessKey></Credentials>'",
        "{{'X-Amz-Security-Token': b'{s}'}}",
        '{{"SessionToken": "{s}"}}',
        "aws_secret_access_key={s}",
        "posted with {s}.",
    ],
)
@pytest.mark.parametrize("secret", SECRETS, ids=["bot", "app", "user", "signing", "aws-secret", "session"])
def test_no_secret_survives_in_any_record(logged, caplog, template, secret):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore.parsers").debug("Response body: %s", template.format(s=secret))
    try:
        raise RuntimeError(template.format(s=secret))
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed with %r", secret)
    output = logged.getvalue()
    assert "[redacted]" in output
    assert secret not in output
    for record in caplog.records:  # what every other handler (here pytest's) receives
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")


def test_ordinary_text_is_left_alone(logged):
    line = "job 1700000000000-0 (validate, connection 0123456789abcdef) sha 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
    logging.getLogger("bot.jobs").info(line)
    assert line in logged.getvalue()


def test_password_in_a_redis_url_is_masked(logged):
    logging.getLogger("bot").warning("cannot reach redis://:hunter2hunter2@redis.internal:6379/0")
    assert "hunter2" not in logged.getvalue()
    assert "redis.internal:6379" in logged.getvalue()


def test_json_lines_carry_connection_and_user():
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.setup({"CE_LOG_JSON": "true", "SLACK_BOT_TOKEN": BOT_TOKEN}, stream=buffer)
    try:
        log = logging.getLogger("bot.test")
        with logs.bind(conn="0123456789abcdef", user="U0REQ"):
            log.info("submitted ids\nwith a second line and %s", BOT_TOKEN)
        log.warning("job 1-0 (send_template, connection fedcba9876543210) on queue slack failed")
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("no context here")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logs.uninstall_redaction()
    lines = buffer.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(entries) == 3
    first, second, third = entries
    assert first["conn"] == "0123456789abcdef" and first["user"] == "U0REQ" and first["level"] == "INFO"
    assert "second line" in first["message"] and BOT_TOKEN not in lines[0]
    assert second["conn"] == "fedcba9876543210" and "user" not in second
    assert "ZeroDivisionError" in third["exc"] and "conn" not in third
    assert first["logger"] == "bot.test" and first["time"].endswith("Z")


def test_request_identity_takes_only_well_formed_ids():
    assert logs.request_identity({"user_id": "U0REQ"}) == ("", "U0REQ")
    action = {"user": {"id": "U0APP"}, "actions": [{"value": "0123456789abcdef"}]}
    assert logs.request_identity(action) == ("0123456789abcdef", "U0APP")
    forged = {"user": {"id": "<!channel>"}, "view": {"private_metadata": "x" * 3000}}
    assert logs.request_identity(forged) == ("", "")
    assert logs.request_identity({"event": {"user": "W0ABC"}}) == ("", "W0ABC")


def test_a_running_bot_logs_json_lines_with_user_and_connection(own_redis, standin, bots, tmp_path):
    from tests.reliability.harness import REQUESTER, bot_env, slack_for, wait_until

    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    env = bot_env(own_redis.url, standin, tmp_path / "data", CE_LOG_JSON="1", LOG_LEVEL="INFO")
    logs.setup(env, stream=buffer)
    try:
        bot = bots(env, claim_idle={"slack": 0.3})
        logs.instrument(bot.runtime)
        slack = slack_for(bot, standin)
        assert "state store" in slack.command(REQUESTER, "connect aws-org").json()["text"]  # Redis not started
        own_redis.start()
        standin.fail_next("chat.postMessage", error="fatal_error", status=200)  # the job fails once
        slack.command(REQUESTER, "connect aws-org")
        standin.wait_until(lambda s: s.messages("C0CE"), 10, "the parent message after the retry")
        wait_until(lambda: "failed (attempt 1" in buffer.getvalue(), 5, "the job failure in the log")
    finally:
        root.setLevel(level)
        logs.uninstall_redaction()
    entries = [json.loads(line) for line in buffer.getvalue().splitlines()]
    unavailable = next(e for e in entries if "state store unavailable" in e["message"])
    assert unavailable["user"] == REQUESTER and unavailable["level"] == "WARNING"
    failed = next(e for e in entries if "failed (attempt 1" in e["message"])
    assert len(failed["conn"]) == 16 and failed["conn"] in failed["message"]
    assert BOT_TOKEN not in buffer.getvalue() and standin.bot_token not in buffer.getvalue()
