"""HTTP mode: Bolt behind Starlette, served by uvicorn.

`POST /slack/events` takes slash commands, interactivity and events;
`GET /healthz` answers 200 when Redis is reachable (503 otherwise). Bolt's
dispatch is synchronous, so it runs in the server's thread pool, never on
the event loop.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.runtime import Runtime


def create_http_app(runtime: Runtime) -> Starlette:
    async def slack_events(request: Request):
        bolt_request = to_bolt_request(request, await request.body())
        bolt_response = await run_in_threadpool(runtime.app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(request: Request):
        redis_up = await run_in_threadpool(runtime.store.ping)
        return JSONResponse(
            {"ok": redis_up, "redis": "up" if redis_up else "down"}, status_code=200 if redis_up else 503
        )

    @asynccontextmanager
    async def lifespan(app):
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
