from __future__ import annotations

import pytest
from store_testkit import Clock

from bot.store.client import connect
from bot.store.connections import ConnectionStore
from tests.reliability.harness import own_redis  # noqa: F401 - a Redis of the test's own, to hang, kill and restart


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(redis_url):
    c = connect(redis_url)
    yield c
    c.close()


@pytest.fixture
def store(client, clock):
    return ConnectionStore(client, clock=clock)
