"""Where the configuration comes from: the process's environment over the working folder's `.env`;
a caller that hands `load` an environment of its own (the playground's bot, tests) gets exactly that."""

from __future__ import annotations

import pytest

from bot import config as configuration

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CE_TRUSTED_ACCOUNT_ID": "123456789012"}


@pytest.fixture
def dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CE_APPROVAL_CHANNEL=C0FROMDOTENV\nCE_APPROVERS=U0DOTENV\n")
    for name in ("CE_APPROVAL_CHANNEL", "CE_APPROVERS"):
        monkeypatch.delenv(name, raising=False)


def test_the_environment_wins_over_dotenv_which_fills_the_rest(dotenv, monkeypatch):
    for name, value in {**BASE, "CE_APPROVERS": "U0ENV"}.items():
        monkeypatch.setenv(name, value)
    config = configuration.load("serve")
    assert config.approval_channel == "C0FROMDOTENV"
    assert config.approvers == frozenset({"U0ENV"})


def test_an_environment_handed_to_load_is_the_whole_configuration(dotenv):
    # The playground configures its bot this way: a .env kept for real mode must not leak into it.
    config = configuration.load("serve", environ={**BASE, "CE_APPROVERS": "U0GIVEN"})
    assert config.approval_channel == ""
    assert config.approvers == frozenset({"U0GIVEN"})
