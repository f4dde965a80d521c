"""HTTP mode: Bolt's `AsyncApp` behind a small ASGI app, served by uvicorn.

`POST /slack/events` takes slash commands, interactivity and events;
`GET /healthz` answers 200 when Redis is reachable (503 otherwise), and
says whether the worker child is running (it is restarted when it is not). Bolt's
`AsyncApp` dispatches on the server's event loop: an ack path awaits its
Redis call (bounded by the client's timeouts) and never blocks the loop.

Two routes need no framework: this ASGI app replaced Starlette, whose middleware, routing and
request and response objects were about an eighth of an ack's time in-process, for nothing the bot
used.
"""

from __future__ import annotations

import json
from typing import Awaitable, Callable

from slack_bolt.async_app import AsyncBoltRequest

from bot.runtime import Runtime
from bot.slack import payload_parsing

# Slack's payloads are a few kilobytes: an unauthenticated body is never buffered beyond this.
MAX_BODY = 1024 * 1024
ROUTES = {"/slack/events": ("POST",), "/healthz": ("GET", "HEAD")}
TEXT = {"content-type": "text/plain; charset=utf-8"}

Answer = tuple[int, dict[str, str], bytes]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def create_http_app(runtime: Runtime):
    payload_parsing.install()

    async def slack_events(headers: dict[str, str], query: str, receive: Receive) -> Answer:
        timestamp = headers.get("x-slack-request-timestamp", "")
        if runtime.config.slack_signing_secret and not (timestamp.isascii() and timestamp.isdigit()):
            return 401, {}, b""  # Bolt's verifier raises on it, and the error handler answers 200
        body = await _read_at_most(headers, receive, MAX_BODY)
        if body is None:
            return 413, {}, b""
        request = AsyncBoltRequest(body=body.decode("utf-8"), query=query, headers=headers)
        answer = await runtime.app.async_dispatch(request)
        return answer.status, answer.first_headers_without_set_cookie(), answer.body.encode("utf-8")

    async def healthz() -> Answer:
        redis_up = await runtime.ack_store.ping()
        state = {"ok": redis_up, "redis": "up" if redis_up else "down", "worker": runtime.worker_state()}
        return 200 if redis_up else 503, {"content-type": "application/json"}, json.dumps(state).encode()

    async def http(scope: dict, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        allowed = ROUTES.get(path)
        if allowed is None:
            answer: Answer = 404, TEXT, b"Not Found"
        elif method not in allowed:
            answer = 405, {**TEXT, "allow": ", ".join(allowed)}, b"Method Not Allowed"
        elif path == "/healthz":
            answer = await healthz()
        else:
            headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
            try:
                answer = await slack_events(headers, scope["query_string"].decode("latin-1"), receive)
            except ClientGone:
                return  # before its body arrived: nobody to answer
        status, headers, body = answer
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
               if name.lower() != "content-length"]  # fmt: skip
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    runtime.start()
                except Exception as error:  # noqa: BLE001 - uvicorn reports it and stops
                    await send({"type": "lifespan.startup.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    runtime.stop()
                    await runtime.ack_store.close()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)

    return app


class ClientGone(Exception):
    """The client disconnected while its request was being read."""


async def _read_at_most(headers: dict[str, str], receive: Receive, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
