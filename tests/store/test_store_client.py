"""When Redis is down or hung, every store call fails fast with StoreUnavailable (Slack's 3 s budget)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bot.connection.states import Event
from bot.jobs.queue import Job, JobQueue
from bot.store.client import StoreUnavailable, connect
from bot.store.connections import ConnectionStore
from tests.support.bot_server import free_port

CONN_ID = "0123456789abcdef"

CALLS = {
    "get": lambda s: s.get(CONN_ID),
    "create": lambda s: s.create(requester="U1", channel="C1", ttl=60),
    "transition": lambda s: s.transition(CONN_ID, Event.CANCEL, actor="U1", job=Job("slack", "x", CONN_ID)),
    "update": lambda s: s.update(CONN_ID, parent_ts="1.0"),
    "holder": lambda s: s.holder("o-abcdefghij"),
    "accounts": lambda s: s.accounts(CONN_ID),
    "history": lambda s: s.history(CONN_ID),
    "due_to_expire": lambda s: s.due_to_expire(),
}


@pytest.fixture(params=["closed-unix-socket", "unused-port"])
def down_url(request, tmp_path):
    if request.param == "closed-unix-socket":
        path = tmp_path / "gone.sock"
        with socket.socket(socket.AF_UNIX) as s:  # a socket file nobody listens on any more
            s.bind(str(path))
        return f"unix://{path}"
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize("call", list(CALLS))
def test_store_unavailable_fast_when_down(down_url, call):
    store = ConnectionStore(connect(down_url))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        CALLS[call](store)
    assert time.monotonic() - started < 2.0  # refused: no waiting for timeouts


def test_queue_and_ping_when_down(down_url):
    client = connect(down_url)
    with pytest.raises(StoreUnavailable):
        JobQueue(client, "slack").enqueue(Job("slack", "open_thread", CONN_ID))
    assert ConnectionStore(client).ping() is False


@pytest.fixture
def hung_url():
    """A server that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_store_unavailable_within_three_seconds_when_hung(hung_url):
    store = ConnectionStore(connect(hung_url))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.transition(CONN_ID, Event.CANCEL, actor="U1")
    assert time.monotonic() - started < 3.0


def test_connect_settings():
    client = connect("redis://127.0.0.1:6399/0")
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["decode_responses"] is True
    assert kwargs["socket_connect_timeout"] <= 1.0
    assert kwargs["socket_timeout"] <= 2.0
    assert kwargs["health_check_interval"] > 0
