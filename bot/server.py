"""HTTP mode: Bolt behind Starlette, served by uvicorn.

`POST /slack/events` takes slash commands, interactivity and events;
`GET /healthz` answers 200 when Redis is reachable (503 otherwise), and
says whether the worker child is running (it is restarted when it is not). Bolt's
`AsyncApp` dispatches on the server's event loop: an ack path awaits its
Redis call (bounded by the client's timeouts) and never blocks the loop.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime
from bot.slack import payload_parsing

# Slack's payloads are a few kilobytes: an unauthenticated body is never buffered beyond this.
MAX_BODY = 1024 * 1024


def create_http_app(runtime: Runtime) -> Starlette:
    payload_parsing.install()

    async def slack_events(request: Request):
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        if runtime.config.slack_signing_secret and not (timestamp.isascii() and timestamp.isdigit()):
            return Response(status_code=401)  # Bolt's verifier raises on it, and the error handler answers 200
        body = await _read_at_most(request, MAX_BODY)
        if body is None:
            return Response(status_code=413)
        bolt_response = await runtime.app.async_dispatch(to_async_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(request: Request):
        redis_up = await runtime.ack_store.ping()
        state = {"ok": redis_up, "redis": "up" if redis_up else "down", "worker": runtime.worker_state()}
        return JSONResponse(state, status_code=200 if redis_up else 503)

    @asynccontextmanager
    async def lifespan(app):
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()
            await runtime.ack_store.close()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
