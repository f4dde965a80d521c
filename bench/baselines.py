"""The two baselines: bare Bolt apps whose listeners only ack, for the same /ce command, Approve,
Disable and Enable buttons and IDs modal that ce-bot answers.

- `served` (baseline 1): `AsyncApp(process_before_response=True)` with ce-bot's options, served
  exactly as ce-bot is: the bot's own `bot.server.create_http_app` (its ASGI app, dispatch on the event
  loop) under `uvicorn.run` with `ce-bot serve`'s arguments.
- `async` (baseline 2): `AsyncApp(process_before_response=True)` behind Bolt's ASGI adapter under
  uvicorn: the fastest bare Bolt configuration measured on this machine.

Run as `python -m bench.baselines served|async` with the same environment as `ce-bot serve`
(SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL, HOST, PORT).
"""

from __future__ import annotations

import os
import sys

from bot.slack import ids
from bot.slack import operation_ids as ops_ids


def _settings() -> dict:
    return {
        "secret": os.environ["SLACK_SIGNING_SECRET"],
        "token": os.environ["SLACK_BOT_TOKEN"],
        "api_url": os.environ.get("SLACK_API_URL", "http://127.0.0.1:9/api/"),
        "host": os.environ.get("HOST", "127.0.0.1"),
        "port": int(os.environ["PORT"]),
    }


class BareRuntime:
    """What `bot.server.create_http_app` needs from a runtime: the configuration, an app, a store that
    answers, start/stop. Nothing else of ce-bot runs (no Redis, no workers)."""

    class _Store:
        async def ping(self) -> bool:
            return True

        async def close(self) -> None:
            pass

    def __init__(self, app):
        from bot import config as configuration

        self.config = configuration.load("serve")
        self.app = app
        self.ack_store = self._Store()

    def start(self) -> None:
        pass

    def worker_state(self) -> str:
        return "none"

    def stop(self) -> None:
        pass


def async_app(secret: str, token: str, api_url: str):
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url, timeout=10),
        signing_secret=secret,
        process_before_response=True,  # AsyncApp never calls auth.test at start-up
        raise_error_for_unhandled_request=False,
    )

    async def just_ack(ack):
        await ack()

    app.command("/ce")(just_ack)
    app.action(ids.APPROVE)(just_ack)
    app.action(ops_ids.DISABLE)(just_ack)
    app.action(ops_ids.ENABLE)(just_ack)
    app.view(ids.IDS_MODAL)(just_ack)
    return app


def serve_served() -> None:
    import uvicorn

    from bot.server import create_http_app

    s = _settings()
    app = async_app(s["secret"], s["token"], s["api_url"])
    uvicorn.run(create_http_app(BareRuntime(app)), host=s["host"], port=s["port"], log_level="warning", access_log=False)


def serve_async() -> None:
    import uvicorn
    from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler

    s = _settings()
    handler = AsyncSlackRequestHandler(async_app(s["secret"], s["token"], s["api_url"]))
    uvicorn.run(handler, host=s["host"], port=s["port"], log_level="warning", access_log=False)


if __name__ == "__main__":
    {"served": serve_served, "async": serve_async}[sys.argv[1]]()
