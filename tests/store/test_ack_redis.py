"""The ack paths' Redis client against a real redis-server: replies in order to many callers at once,
scripts by SHA, redis-py's error classes, and a Redis that is hung, killed or not there."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import redis as redis_py

from bot.store.ack_redis import AckRedis
from bot.store.embedded import redis_server_binary
from tests.support.bot_server import free_port
from tests.support.event_loop import run


def test_commands_replies_and_errors(redis_url, redis):
    async def scenario():
        client = AckRedis(redis_url)
        try:
            assert await client.execute("SET", "k", "v", "NX", "EX", 60) == "OK"
            assert await client.execute("SET", "k", "w", "NX", "EX", 60) is None
            assert await client.execute("XADD", "s", "*", "kind", "x") != ""
            with pytest.raises(redis_py.ResponseError, match="WRONGTYPE"):
                await client.execute("INCR", "s")
            assert await client.execute("PING") == "PONG"  # an error reply leaves the connection usable
        finally:
            await client.close()

    run(scenario())
    assert redis.get("k") == "v" and redis.xlen("s") == 1


def test_a_script_unknown_to_redis_is_sent_whole_once(redis_url, redis):
    async def scenario():
        client = AckRedis(redis_url)
        script = client.script("return {KEYS[1], ARGV[1]}")
        try:
            first = await script(["a"], ["1"])
            second = await script(["b"], ["2"])
        finally:
            await client.close()
        return first, second

    redis.script_flush()
    assert run(scenario()) == (["a", "1"], ["b", "2"])


def test_many_callers_at_once_each_get_their_own_reply(redis_url):
    async def scenario():
        client = AckRedis(redis_url)
        try:
            return await asyncio.gather(*(client.execute("ECHO", f"caller {i}") for i in range(500)))
        finally:
            await client.close()

    assert run(scenario()) == [f"caller {i}" for i in range(500)]


def test_a_hung_redis_times_out_and_the_next_call_gets_a_fresh_connection(own_redis):
    server = own_redis.start()

    async def scenario():
        client = AckRedis(server.url, timeout=0.3)
        assert await client.execute("PING") == "PONG"
        server.pause()
        started = time.monotonic()
        with pytest.raises(redis_py.TimeoutError):
            await client.execute("SET", "late", "1")
        took = time.monotonic() - started
        server.resume()
        assert await client.execute("PING") == "PONG"
        await client.close()
        return took

    assert run(scenario()) < 1.0
    assert server.client().get("late") == "1"  # a timed-out write may still be applied: hence maybe_applied


def test_callers_waiting_together_on_a_hung_redis_all_time_out(own_redis):
    """The first caller's timeout drops the shared connection: the others' commands were sent too and
    may be applied when Redis wakes, so they time out as well (maybe applied), never "connection lost"
    (which would tell their person nothing was changed, and let a handler try again, waiting again)."""
    server = own_redis.start()

    async def scenario():
        client = AckRedis(server.url, timeout=0.3)
        assert await client.execute("PING") == "PONG"
        server.pause()

        async def later(delay: float, *command):
            await asyncio.sleep(delay)
            return await client.execute(*command)

        outcomes = await asyncio.gather(later(0, "SET", "first", "1"), later(0.1, "SET", "second", "1"),
                                        return_exceptions=True)  # fmt: skip
        server.resume()
        await client.close()
        return outcomes

    assert [type(outcome) for outcome in run(scenario())] == [redis_py.TimeoutError, redis_py.TimeoutError]
    assert server.client().mget("first", "second") == ["1", "1"]


def test_redis_down_then_killed_then_back(own_redis):

    async def scenario():
        client = AckRedis(own_redis.url)
        with pytest.raises(redis_py.ConnectionError):
            await client.execute("PING")  # not started: refused at once
        own_redis.start()
        assert await client.execute("PING") == "PONG"
        own_redis.kill()
        await asyncio.sleep(0.05)
        with pytest.raises(redis_py.ConnectionError):
            await client.execute("PING")
        own_redis.start()
        assert await client.execute("PING") == "PONG"
        await client.close()

    run(scenario())


@pytest.fixture
def tcp_redis_with_password(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--requirepass", "s3cret",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    client = redis_py.Redis(port=port, password="s3cret", decode_responses=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis_py.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    client.close()
    yield port
    process.kill()
    process.wait()


@pytest.mark.parametrize("credentials", [":s3cret", "default:s3cret"])
def test_tcp_with_a_password_and_a_database(tcp_redis_with_password, credentials):
    port = tcp_redis_with_password

    async def scenario(url):
        client = AckRedis(url)
        try:
            return await client.execute("SET", "where", credentials)
        finally:
            await client.close()

    assert run(scenario(f"redis://{credentials}@127.0.0.1:{port}/3")) == "OK"
    assert redis_py.Redis(port=port, password="s3cret", db=3, decode_responses=True).get("where") == credentials
    with pytest.raises(redis_py.ResponseError):  # a wrong password is an error reply, not a hang
        run(scenario(f"redis://:wrong@127.0.0.1:{port}/3"))
