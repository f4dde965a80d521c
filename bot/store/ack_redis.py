"""A small asyncio Redis client for the ack paths: one connection, commands pipelined in order.

An ack makes at most two Redis calls, and redis-py's asyncio client spends
60-90 µs of Python on each (a connection pool, retry, timeout and
observability layers): measured, a third of an ack. This client writes each
command on one shared connection and resolves the callers' futures in reply
order (hiredis packs and parses), about a third of that. It does what the ack
paths need: any command, scripts by SHA (sent whole on NOSCRIPT), the URL
forms of REDIS_URL (redis://, rediss://, unix://, with user, password, db).

Errors are redis-py's classes, so `unavailable_as_store_error` maps them as
for the threaded client: a refused or dropped connection is
`redis.ConnectionError`; no reply within the bound is `redis.TimeoutError`
(the command may still be applied); a server error reply is
`redis.ResponseError`. After a timeout the connection is dropped and the
next call opens another.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque

import hiredis
import redis
from redis.connection import SSLConnection, parse_url

from bot.store.client import CONNECT_TIMEOUT, SOCKET_TIMEOUT


class Script:
    """A Lua script called by SHA; its text goes along only when Redis does not know it yet."""

    def __init__(self, client: "AckRedis", text: str):
        self.client = client
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, keys: list[str], args: list[str]):
        try:
            return await self.client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except redis.ResponseError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        return await self.client.execute("EVAL", self.text, len(keys), *keys, *args)  # EVAL caches it too


class AckRedis:
    def __init__(self, url: str, *, connect_timeout: float = CONNECT_TIMEOUT, timeout: float = SOCKET_TIMEOUT):
        self.options = parse_url(url)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    def script(self, text: str) -> Script:
        return Script(self, text)

    async def execute(self, *args):
        """One command's reply (bulk strings decoded as UTF-8), within `timeout` seconds."""
        connection = await self._connected()
        try:
            async with asyncio.timeout(self.timeout):
                return await connection.call(args)
        except TimeoutError:
            error = redis.TimeoutError(f"Redis did not answer within {self.timeout:g} s")
            connection.close(error)  # the commands sent behind this one may be applied too: they time out
            raise error from None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _connected(self) -> "_Connection":
        if self._connection is not None and self._connection.open:
            return self._connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # callers arriving together share one attempt
            if self._connection is None or not self._connection.open:
                self._connection = await self._connect()
        return self._connection

    async def _connect(self) -> "_Connection":
        loop = asyncio.get_running_loop()
        o = self.options
        try:
            async with asyncio.timeout(self.connect_timeout):
                if "path" in o:
                    _, connection = await loop.create_unix_connection(_Connection, o["path"])
                else:
                    _, connection = await loop.create_connection(
                        _Connection, o.get("host", "localhost"), o.get("port", 6379), ssl=_tls(o)
                    )
                try:
                    if o.get("password"):
                        auth = ("AUTH", o["username"], o["password"]) if o.get("username") else ("AUTH", o["password"])
                        await connection.call(auth)
                    if o.get("db"):
                        await connection.call(("SELECT", o["db"]))
                except BaseException:
                    connection.close()
                    raise
        except TimeoutError:
            raise redis.ConnectionError(f"Timeout connecting to Redis ({self.connect_timeout:g} s)") from None
        except OSError as error:
            raise redis.ConnectionError(f"Error connecting to Redis: {error}") from error
        return connection


class _Connection(asyncio.Protocol):
    """One socket: commands written in order, replies matched to the waiting futures in order."""

    def __init__(self):
        self.reader = hiredis.Reader(encoding="utf-8", replyError=redis.ResponseError)
        self.waiting: deque[asyncio.Future] = deque()
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.closed_by: Exception | None = None  # what those still waiting are told, when we closed it

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.open = True

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter = self.waiting.popleft()
            if not waiter.done():  # a caller that timed out is gone; its reply is dropped
                waiter.set_result(reply)

    def connection_lost(self, exc) -> None:
        self.open = False
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                if self.closed_by is not None:
                    waiter.set_exception(type(self.closed_by)(*self.closed_by.args))  # one each: tracebacks differ
                else:
                    waiter.set_exception(redis.ConnectionError(f"Connection to Redis lost: {exc or 'closed'}"))

    async def call(self, args):
        if not self.open:
            raise redis.ConnectionError("Connection to Redis closed")
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        self.transport.write(hiredis.pack_command(args))
        reply = await waiter
        if isinstance(reply, redis.ResponseError):
            raise reply
        return reply

    def close(self, error: Exception | None = None) -> None:
        """Close; whoever still waits gets `error` (by default, "connection lost")."""
        self.open = False
        self.closed_by = error
        if self.transport is not None:
            self.transport.close()  # connection_lost fails whoever still waits


def _tls(options: dict) -> ssl.SSLContext | None:
    if options.get("connection_class") is not SSLConnection:
        return None
    context = ssl.create_default_context()
    if str(options.get("ssl_cert_reqs", "")).lower() in ("none", str(int(ssl.CERT_NONE))):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
