"""End-to-end fixtures: the real bot over HTTP, a Slack Web API stand-in, a moto server, a real Redis.

The bot runs in this process under uvicorn on a free port, configured only
through its environment, exactly as `ce-bot serve` is; requests reach it
signed, as Slack sends them; AWS is a moto server reached through
AWS_ENDPOINT_URL with trust policies and ExternalIds enforced.
"""

from __future__ import annotations


import pytest

from bot.playground.sandbox_org import create_sandbox_organization, enforce_trust_policies
from bot.playground.slack_standin import SlackStandIn
from tests.support.bot_server import TRUSTED_ACCOUNT, free_port, serve_env, start_bot  # noqa: F401 - imported by tests
from tests.support.slack_requests import SlackClientSim

SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e-token"
REQUESTER, APPROVER, SECOND_APPROVER, BYSTANDER = "U0REQ", "U0APP", "U0APP2", "U0BYS"
CHANNEL = "C0CE"


@pytest.fixture
def standin():
    with SlackStandIn(bot_token=BOT_TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def sandbox(moto_endpoint):
    """A fresh AWS Organization (management account, members, trusted access) in the moto server."""
    with enforce_trust_policies():
        yield create_sandbox_organization(member_accounts=3)


@pytest.fixture
def bot_env(redis_url, standin, sandbox, tmp_path):
    return serve_env(
        token=BOT_TOKEN, secret=SIGNING_SECRET, api_url=standin.api_url, redis_url=redis_url,
        data_dir=tmp_path / "data", approvers=f"{APPROVER},{SECOND_APPROVER}",
    )  # fmt: skip


@pytest.fixture
def bot(bot_env):
    running = start_bot(bot_env)
    yield running
    running.stop()


@pytest.fixture
def slack(bot, standin):
    return SlackClientSim(bot.url, SIGNING_SECRET, standin)


@pytest.fixture
def connected(slack, standin, sandbox, redis_url):
    """An organization connected through the whole guided connection (see ops_support.connect_organization)."""
    from tests.e2e.ops_support import connect_organization  # (ops_support imports this module)

    return connect_organization(slack, standin, sandbox, redis_url)
