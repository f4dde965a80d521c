"""No secret reaches a log or Slack: the whole guided connection runs with every logger at DEBUG
(boto3 and botocore then print whole requests and responses), and neither the bot token, nor the
signing secret, nor the bot's AWS secret key, nor any assumed-role secret key or session token
appears in any log record or in anything the Slack stand-in received."""

from __future__ import annotations

import io
import json
import logging
import secrets
import string

from bot import logs
from bot.slack import ids
from tests.e2e.journey import Journey, text_of
from tests.reliability.harness import APPROVER, BOT_TOKEN, SIGNING_SECRET, bot_env, slack_for

ALPHABET = string.ascii_letters + string.digits + "/+"


def assumed_role_credentials() -> list[str]:
    from moto.sts.models import sts_backends

    found = []
    for account in list(sts_backends.keys()):
        for backend in sts_backends[account].values():
            for role in backend.assumed_roles:
                found += [role.secret_access_key, role.session_token]
    return found


def everything_slack_received(standin) -> str:
    parts = [json.dumps(standin.snapshot(), default=str)]
    parts += [json.dumps({"args": c.args, "response": c.response}, default=str) for c in standin.calls]
    parts += [json.dumps(r.payload, default=str) for r in standin.responses]
    parts += [standin.file_bytes(f["id"]).decode(errors="replace") for f in standin.files() if f.get("id") in standin.workspace.file_data]
    return "\n".join(parts)


def test_no_secret_in_any_log_record_or_slack_message(monkeypatch, standin, sandbox, redis_url, bots, tmp_path, caplog):
    aws_secret = "".join(secrets.choice(ALPHABET) for _ in range(39)) + "Q"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16)))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws_secret)
    env = bot_env(redis_url, standin, tmp_path / "data", LOG_LEVEL="DEBUG")
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.setup({**env, "AWS_SECRET_ACCESS_KEY": aws_secret}, stream=buffer)  # as `ce-bot` does at start-up
    caplog.set_level(logging.DEBUG)
    try:
        bot = bots(env)
        slack = slack_for(bot, standin)
        journey = Journey(slack, standin)
        journey.submit_role(journey.deployed_role(sandbox.org_id, sandbox.root_id))
        assert "passed every check" in text_of(journey.checklist_done())
        slack.click(APPROVER, message=journey.approval_request(), action_id=ids.APPROVE)
        journey.wait_parent("Connected")
        slack.command("U0REQ", "frobnicate")  # an error path or two as well
        slack.command("U0REQ", "connect aws-org")
    finally:
        root.setLevel(level)
        records = list(caplog.records)
        logs.uninstall_redaction()

    credentials = assumed_role_credentials()
    assert len(credentials) >= 2, "the validation assumed no role"
    secrets_to_hide = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, "AWS secret key": aws_secret}
    secrets_to_hide.update({f"assumed-role credential {i}": value for i, value in enumerate(credentials)})

    logged = buffer.getvalue()
    assert "botocore" in logged and "DEBUG" in logged  # the log really was at DEBUG
    record_texts = "\n".join(r.getMessage() + "\n" + (r.exc_text or "") + "\n" + (r.stack_info or "") for r in records)
    slack_side = everything_slack_received(standin)
    for name, value in secrets_to_hide.items():
        assert value not in logged, f"the {name} is in the log output"
        assert value not in record_texts, f"the {name} is in a log record"
        assert value not in slack_side, f"the {name} reached Slack"
