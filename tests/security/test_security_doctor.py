"""`ce-bot doctor`: configuration, Slack token, Redis and AWS credentials checked; what is wrong is said
plainly, and no secret is ever printed."""

from __future__ import annotations

import io
import logging
import urllib.request

import pytest

from bot import cli, doctor, logs
from tests.reliability.harness import BOT_TOKEN, SIGNING_SECRET, free_port

MOTO_ACCOUNT = "123456789012"  # the identity moto answers get_caller_identity with
AWS_SECRET = "Zm9vYmFyYmF6cXV4/DoctorSecretKey+0123456"


@pytest.fixture
def environment(monkeypatch, standin, redis_url, moto_server, tmp_path):
    """A complete, working configuration in the process environment (as `ce-bot doctor` reads it)."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.api_url,
        "REDIS_URL": redis_url,
        "CE_TRUSTED_ACCOUNT_ID": MOTO_ACCOUNT,
        "CE_APPROVERS": "U0APP",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_REGION": "us-east-1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_APP_TOKEN", "AWS_PROFILE", "AWS_SESSION_TOKEN", "CE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    level = logging.getLogger().level
    yield values
    logs.uninstall_redaction()
    logging.getLogger().setLevel(level)


def run() -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.main(out=out)
    text = out.getvalue()
    for secret in (BOT_TOKEN, SIGNING_SECRET, AWS_SECRET):
        assert secret not in text
    return code, text


def line(text: str, what: str) -> str:
    return "\n".join(l for l in text.splitlines() if l[5:].startswith(what + ":"))


def test_everything_in_order(environment):
    code, text = run()
    assert code == 0, text
    for what in ("config", "slack", "redis", "aws"):
        assert line(text, what).startswith("ok"), text
    assert "auth.test" in line(text, "slack") and MOTO_ACCOUNT in line(text, "aws")
    assert "ready" in text.splitlines()[-1]


def test_a_refused_token_is_named_not_shown(environment, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-9999999999-8888888888888-SomeoneElsesTokenValue")
    code, text = run()
    assert code == 1
    assert line(text, "slack").startswith("FAIL") and "invalid_auth" in text and "SLACK_BOT_TOKEN" in text
    assert "SomeoneElsesTokenValue" not in text


def test_redis_unreachable(environment, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://:hunter2hunter2@127.0.0.1:{free_port()}/0")
    code, text = run()
    assert code == 1 and line(text, "redis").startswith("FAIL") and "cannot reach Redis" in text
    assert "hunter2" not in text


def test_aws_unreachable_and_wrong_account(environment, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    code, text = run()
    assert code == 1 and line(text, "aws").startswith("FAIL") and "cannot reach AWS" in text

    monkeypatch.setenv("AWS_ENDPOINT_URL", environment["AWS_ENDPOINT_URL"])
    monkeypatch.setenv("CE_TRUSTED_ACCOUNT_ID", "111122223333")
    code, text = run()
    assert code == 0 and line(text, "aws").splitlines()[-1].startswith("warn") and "denied" in text


def test_no_aws_credentials(environment, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, text = run()
    assert code == 1 and "no AWS credentials found" in line(text, "aws")


def test_bad_configuration_names_the_variable_and_checks_the_rest(environment, monkeypatch):
    monkeypatch.delenv("CE_TRUSTED_ACCOUNT_ID")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    code, text = run()
    assert code == 1 and line(text, "config").startswith("FAIL")
    assert "SLACK_SIGNING_SECRET" in line(text, "config") or "CE_TRUSTED_ACCOUNT_ID" in line(text, "config")
    assert line(text, "slack").startswith("ok") and line(text, "redis").startswith("ok")


def test_the_cli_runs_it(environment, capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok   slack" in out and BOT_TOKEN not in out
