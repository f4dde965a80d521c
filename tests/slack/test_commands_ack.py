"""`/ce` in-process, on Bolt's AsyncApp: help, `/ce` alone, unknown or malformed text and `connect` are
answered in the ack and hand nothing to the worker; the operations ack empty and hand exactly one job
(the request) to the worker's `interactive` queue."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.authorization import AuthorizeResult

from bot.slack import after_ack, commands
from bot.slack.router import Router
from tests.support.event_loop import run


class FakeAckFlow:
    def __init__(self):
        self.started = []

    async def start(self, **kwargs):
        self.started.append(kwargs)


class FakeAckStore:
    def __init__(self):
        self.jobs = []

    async def enqueue(self, job):
        self.jobs.append(job)
        return "1-0"


@pytest.fixture
def app():
    services = SimpleNamespace(ack_flow=FakeAckFlow(), ack_store=FakeAckStore())

    async def authorize(**_):
        return AuthorizeResult(enterprise_id=None, team_id="T0TEAM", bot_token="xoxb-test", bot_user_id="U0BOT")

    bolt = AsyncApp(
        signing_secret=None,
        request_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        authorize=authorize,
    )

    @bolt.middleware
    async def attach_services(context, next):
        context["services"] = services
        return await next()

    router = Router()
    commands.register(router)
    router.attach(bolt)
    bolt.services = services
    return bolt


def command(app, text: str):
    body = urlencode(
        {
            "command": "/ce",
            "text": text,
            "user_id": "U0REQ",
            "channel_id": "C0CHAN",
            "team_id": "T0TEAM",
            "response_url": "https://hooks.invalid/commands/1",
            "trigger_id": "1.2.3",
        }
    )
    request = AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
    return run(app.async_dispatch(request))


@pytest.mark.parametrize("text", ["help", "", "frobnicate now", "status not-an-org", "list extra"])
def test_answers_in_the_ack_and_hands_nothing_over(app, text):
    response = command(app, text)
    assert response.status == 200
    assert json.loads(response.body)["response_type"] == "ephemeral"
    assert app.services.ack_store.jobs == [] and app.services.ack_flow.started == []


def test_connect_writes_in_the_ack_and_hands_nothing_over(app):
    response = command(app, "connect aws-org")
    assert response.status == 200 and response.body == ""
    assert [s["requester"] for s in app.services.ack_flow.started] == ["U0REQ"]
    assert app.services.ack_store.jobs == []


@pytest.mark.parametrize("text", ["list", "status o-a1b2c3d4e5", "cancel", "disable o-a1b2c3d4e5"])
def test_operations_ack_empty_and_hand_the_request_to_the_worker(app, text):
    response = command(app, text)
    assert response.status == 200 and response.body == ""
    [job] = app.services.ack_store.jobs
    assert (job.queue, job.kind) == (after_ack.QUEUE, "run_command")
    assert json.loads(job.data["body"])["text"] == text
    assert app.services.ack_flow.started == []
