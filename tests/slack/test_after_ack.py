"""The worker's side of a request handed over after its ack: run at once, or, too late or taken over
from a worker that died, not run and its person told which."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bot.jobs.queue import Job
from bot.slack import after_ack
from bot.slack.views import messages

NOW = 1_800_000_000.0
BODY = {"type": "block_actions", "user": {"id": "U0REQ"}, "response_url": "https://hooks.invalid/actions/1"}


@pytest.fixture
def told(monkeypatch):
    replies = []

    class Respond:
        def __init__(self, response_url, **_):
            self.url = response_url

        def __call__(self, **message):
            replies.append((self.url, message["text"]))
            return SimpleNamespace(status_code=200)

    monkeypatch.setattr(after_ack, "RetryingRespond", Respond)
    return replies


@pytest.fixture
def ran(monkeypatch):
    calls = []

    def clicked(body, client, context, respond):
        calls.append(body["user"]["id"])

    monkeypatch.setitem(after_ack.HANDLERS, "clicked", clicked)
    return calls


def job(seconds_ago: float, attempt: int = 1) -> Job:
    entry_id = f"{int((NOW - seconds_ago) * 1000)}-0"
    return Job(after_ack.QUEUE, "clicked", "", {"body": json.dumps(BODY)}, id=entry_id, attempt=attempt)


def runner() -> after_ack.AfterAck:
    return after_ack.AfterAck(SimpleNamespace(), SimpleNamespace(proxy=None, ssl=None), clock=lambda: NOW)


def test_a_request_handed_over_just_now_is_run(told, ran):
    runner().run(job(0.05))
    assert ran == ["U0REQ"] and told == []


def test_one_that_waited_past_the_deadline_is_not_run_and_its_person_is_told(told, ran):
    runner().run(job(after_ack.DEADLINE + 1))
    assert ran == []
    assert told == [(BODY["response_url"], messages.TOO_LATE)]


def test_one_taken_over_from_a_worker_that_died_is_not_run_again(told, ran):
    runner().run(job(after_ack.DEADLINE + 1, attempt=2))
    assert ran == []
    assert told == [(BODY["response_url"], messages.INTERRUPTED)]


def test_the_deadline_is_judged_on_redis_clock_read_once_a_minute(told, ran, monkeypatch):
    """Redis stamped the job; this host's clock is an hour off. TIME is read once, then followed."""
    reads = []

    class Redis:
        def time(self):
            reads.append(1)
            return int(NOW), 0

    host = {"now": 5000.0}
    monkeypatch.setattr(after_ack.time, "monotonic", lambda: host["now"] - 3600)
    services = SimpleNamespace(store=SimpleNamespace(redis=Redis()))
    worker = after_ack.AfterAck(services, SimpleNamespace(proxy=None, ssl=None))
    worker.run(job(1))
    host["now"] += 10
    worker.run(job(after_ack.DEADLINE - 15))  # 25 s old by Redis's clock followed 10 s on: in time
    host["now"] += 20
    worker.run(job(after_ack.DEADLINE + 5))  # 65 s old: too late; still one read
    assert ran == ["U0REQ", "U0REQ"] and told == [(BODY["response_url"], messages.TOO_LATE)]
    assert len(reads) == 1
    host["now"] += after_ack.CLOCK_RESYNC
    worker.run(job(0))
    assert len(reads) == 2
