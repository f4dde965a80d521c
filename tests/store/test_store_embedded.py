"""The embedded Redis: a real redis-server under data_dir whose data survives restarts and kill -9."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bot.store.client import connect
from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError


@pytest.fixture
def embedded(tmp_path):
    servers = []

    def make(path=tmp_path / "data"):
        server = EmbeddedRedis(path)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def write_and_read(url, key, value=None):
    client = connect(url)
    try:
        if value is not None:
            client.hset(key, mapping={"v": value})
        return client.hget(key, "v")
    finally:
        client.close()


def test_start_stop_start_keeps_data(embedded, tmp_path):
    first = embedded()
    url = first.start()
    assert url.startswith("unix://")
    assert first.start() == url  # already running: same server
    write_and_read(url, "ce:conn:0123456789abcdef", "kept")
    first.stop()
    assert not first.running()
    assert (tmp_path / "data" / "appendonly.aof").exists()

    second = embedded()
    assert write_and_read(second.start(), "ce:conn:0123456789abcdef") == "kept"


def test_append_only_file_is_on(embedded):
    client = connect(embedded().start())
    config = client.config_get("append*")
    client.close()
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"


def test_survives_kill_9(embedded):
    server = embedded()
    url = server.start()
    write_and_read(url, "ce:org:o-abcdefghij", "survivor")
    time.sleep(1.3)  # appendfsync everysec
    os.kill(server.pid, signal.SIGKILL)
    time.sleep(0.1)
    assert not server.running()
    assert write_and_read(server.start(), "ce:org:o-abcdefghij") == "survivor"


def test_replaces_a_server_left_by_a_killed_bot(embedded):
    old = embedded()
    url = old.start()
    orphan_pid = old.pid
    write_and_read(url, "k", "from-before")
    old._unlock()  # what the kernel does when the bot process dies; its Redis keeps running
    old._process = None

    new = embedded()
    assert write_and_read(new.start(), "k") == "from-before"
    assert new.pid != orphan_pid
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(orphan_pid, 0)  # gone (or a zombie about to be reaped)
            time.sleep(0.02)
            if open(f"/proc/{orphan_pid}/stat").read().split(") ", 1)[1][0] == "Z":
                raise ProcessLookupError


def test_one_server_per_data_dir(embedded):
    embedded().start()
    with pytest.raises(EmbeddedRedisError):
        embedded().start()


def test_deep_data_dir_gets_a_short_socket_path(embedded, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = embedded(deep)
    url = server.start()
    assert len(url) < 110
    assert write_and_read(url, "k", "v") == "v"
    assert (deep / "appendonly.aof").exists()
