"""`/ce` in-process: only the operations start Bolt's lazy listener (whose start deep-copies the whole
request on the ack path); help, `/ce` alone, unknown or malformed text and `connect` are answered in
the ack and start nothing after it."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.listener.thread_runner import ThreadListenerRunner

from bot.slack import commands


class FakeFlow:
    def __init__(self):
        self.started = []

    def start(self, **kwargs):
        self.started.append(kwargs)


@pytest.fixture
def app_and_lazy(monkeypatch):
    started: list[str] = []
    monkeypatch.setattr(
        ThreadListenerRunner, "_start_lazy_function", lambda self, lazy_func, request: started.append(lazy_func.__name__)
    )
    flow = FakeFlow()
    app = App(
        signing_secret=None,
        request_verification_enabled=False,
        process_before_response=True,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T0TEAM", bot_token="xoxb-test", bot_user_id="U0BOT"),
    )

    @app.middleware
    def attach_services(context, next):
        context["services"] = SimpleNamespace(flow=flow)
        return next()

    commands.register(app)
    return app, started, flow


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
    return app.dispatch(BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]}))


@pytest.mark.parametrize("text", ["help", "", "frobnicate now", "status not-an-org", "list extra"])
def test_answers_in_the_ack_start_no_lazy_listener(app_and_lazy, text):
    app, started, _ = app_and_lazy
    response = command(app, text)
    assert response.status == 200
    assert json.loads(response.body)["response_type"] == "ephemeral"
    assert started == []


def test_connect_writes_in_the_ack_and_starts_no_lazy_listener(app_and_lazy):
    app, started, flow = app_and_lazy
    response = command(app, "connect aws-org")
    assert response.status == 200 and response.body == ""
    assert [s["requester"] for s in flow.started] == ["U0REQ"]
    assert started == []


@pytest.mark.parametrize("text", ["list", "status o-a1b2c3d4e5", "cancel", "disable o-a1b2c3d4e5"])
def test_operations_ack_empty_and_run_after_the_ack(app_and_lazy, text):
    app, started, flow = app_and_lazy
    response = command(app, text)
    assert response.status == 200 and response.body == ""
    assert len(started) == 1 and flow.started == []
