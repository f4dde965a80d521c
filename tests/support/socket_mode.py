"""Slack's side of Socket Mode on 127.0.0.1, for end-to-end tests of `ce-bot socket`.

In Socket Mode the app calls the Web API method `apps.connections.open` with its
app-level token (`xapp-…`, in the Authorization header), gets `{"ok": true, "url":
"wss://…/link/?ticket=…"}`, and opens that WebSocket. Slack sends `hello`, then one
envelope per delivery::

    {"envelope_id": "…", "type": "slash_commands" | "interactive" | "events_api",
     "payload": {…}, "accepts_response_payload": …}        # events_api adds retry_attempt / retry_reason

and the app acknowledges each with `{"envelope_id": "…"}`, plus `"payload": {…}` for
what an HTTP app would have answered in its response body (a slash command's
message, a view_submission's `response_action`).

- `SocketModeStandIn` is the Web API stand-in (`SlackStandIn`: the same workspace,
  call log and fault injection) that also answers `apps.connections.open` with a
  `ws://` URL it serves (aiohttp, in a thread with its own event loop). Tests push
  envelopes (`push`) and read the app's acks (`wait_ack`).
- `SocketModeSlack` is `SlackClientSim` over that WebSocket: the same payloads,
  built from the stand-in's workspace, delivered as envelopes instead of signed
  HTTP POSTs, the ack's `payload` standing for the HTTP response body.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.playground.slack_standin import ApiCall, SlackStandIn
from tests.support.slack_requests import BotResponse, SlackClientSim

CONNECTIONS_OPEN = "apps.connections.open"


class SocketModeStandIn(SlackStandIn):
    """The Slack Web API stand-in plus Socket Mode: `apps.connections.open` and the WebSocket it points to."""

    def __init__(self, bot_token: str = "xoxb-standin", app_token: str = "xapp-standin", **options: Any):
        super().__init__(bot_token, **options)
        self.app_token = app_token
        self._tickets: set[str] = set()  # issued by apps.connections.open, each good for one connection
        self._sockets: list[web.WebSocketResponse] = []  # open connections, oldest first
        self._connections = 0  # connections accepted so far
        self._acks: dict[str, dict] = {}  # envelope_id → the app's ack
        self._other: list[str] = []  # anything else the app sent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ws_port = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SocketModeStandIn:
        if self._loop is not None:
            return self
        super().start()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="socket-mode-standin", daemon=True)
        self._loop_thread.start()
        self._call(self._serve())
        return self

    def stop(self) -> None:
        if self._loop is not None:
            try:
                self._call(self._shutdown())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._loop_thread is not None:
                    self._loop_thread.join(timeout=5)
                self._loop.close()
                self._loop = self._loop_thread = self._runner = None
        super().stop()

    def _call(self, coroutine, timeout: float = 5.0) -> Any:
        """Run a coroutine on the stand-in's event loop, from any other thread, and return its result."""
        assert self._loop is not None, "the Socket Mode stand-in is not started"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._ws_port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        with self.lock:
            sockets = list(self._sockets)
        for ws in sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------- apps.connections.open

    def _api(self, method: str, headers: Any, query: str, body: bytes) -> tuple[int, dict, Any]:
        if method != CONNECTIONS_OPEN:
            return super()._api(method, headers, query, body)
        auth = headers.get("Authorization") or ""
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        with self.lock:
            fault = self._take_fault(method)
            status = 200
            if fault is not None:
                status, payload = fault["status"], {"ok": False, "error": fault["error"]}
            elif not token:
                payload = {"ok": False, "error": "not_authed"}  # Slack wants the app-level token in the header
            elif not token.startswith("xapp-"):
                payload = {"ok": False, "error": "not_allowed_token_type"}
            elif token != self.app_token:
                payload = {"ok": False, "error": "invalid_auth"}
            else:
                ticket = secrets.token_hex(8)
                self._tickets.add(ticket)
                app_id = self.workspace.bot["app_id"]
                payload = {"ok": True, "url": f"ws://{self.host}:{self._ws_port}/link/?ticket={ticket}&app_id={app_id}"}
            self._calls.append(ApiCall(method, {}, time.time(), status, payload))
            self._changed.notify_all()
        return status, {}, payload

    # ------------------------------------------------------------- WebSocket

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self.lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse()  # answers the client's pings
        await ws.prepare(request)
        with self.lock:
            count = len(self._sockets) + 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.workspace.bot["app_id"]},
                }
            )
        )
        with self.lock:
            self._sockets.append(ws)
            self._connections += 1
            self._changed.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._received(message.data)
        finally:
            with self.lock:
                self._sockets.remove(ws)
                self._changed.notify_all()
        return ws

    def _received(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        with self.lock:
            if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                self._acks[data["envelope_id"]] = data
            else:
                self._other.append(text)
            self._changed.notify_all()

    # ------------------------------------------------------------ for tests

    @property
    def open_connections(self) -> int:
        with self.lock:
            return len(self._sockets)

    @property
    def connections(self) -> int:
        """How many WebSocket connections the app has opened so far (each was sent `hello`)."""
        with self.lock:
            return self._connections

    @property
    def unexpected(self) -> list[str]:
        """What the app sent that is not an ack (an envelope_id)."""
        with self.lock:
            return list(self._other)

    def wait_disconnected(self, timeout: float = 5.0) -> int:
        """Wait until the app has no connection open; returns how many are still open."""
        self._wait(lambda: not self._sockets, timeout)
        return self.open_connections

    def push(
        self,
        kind: str,
        payload: dict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Send one envelope on the newest open connection, as Slack does; returns its envelope_id."""
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":  # Slack sends both on every Events API envelope: 0 and "" the first time
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        with self.lock:
            if not self._sockets:
                raise AssertionError("no Socket Mode connection is open")
            ws = self._sockets[-1]
        self._call(ws.send_str(json.dumps(envelope)))
        return envelope["envelope_id"]

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        """The app's ack of an envelope: `{"envelope_id": …}` and, when it answered with one, `"payload"`."""
        ack = self._wait(lambda: self._acks.get(envelope_id), timeout)
        if ack is None:
            raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout}s")
        return ack


def envelope_type(payload: dict) -> str:
    """Which Socket Mode envelope carries a payload Slack would otherwise POST to the request URL."""
    if "command" in payload:
        return "slash_commands"
    if payload.get("type") == "event_callback":
        return "events_api"
    return "interactive"


class SocketModeSlack(SlackClientSim):
    """`SlackClientSim` over Socket Mode: the same payloads, as envelopes on the stand-in's WebSocket.

    There is no request URL and no signature in Socket Mode: the WebSocket, opened with the
    app-level token, is the authentication. Each call waits for the ack and returns it as a
    `BotResponse` (status 200; body: the ack's `payload` as JSON, empty when it had none)."""

    standin: SocketModeStandIn

    def __init__(self, standin: SocketModeStandIn, *, timeout: float = 10.0):
        super().__init__("socket-mode:", "", standin, timeout=timeout)

    def signed_post(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Socket Mode has no request URL: deliveries are envelopes (see _post)")

    def _post(self, body: bytes, content_type: str, payload: dict, headers: dict | None = None) -> BotResponse:
        sent = {name.lower(): value for name, value in (headers or {}).items() if value is not None}
        kind = envelope_type(payload)
        envelope_id = self.standin.push(
            kind,
            payload,
            accepts_response_payload=kind == "slash_commands"
            or (kind == "interactive" and payload.get("type") in ("view_submission", "block_suggestion")),
            retry_attempt=int(sent["x-slack-retry-num"]) if "x-slack-retry-num" in sent else None,
            retry_reason=sent.get("x-slack-retry-reason"),
        )
        ack = self.standin.wait_ack(envelope_id, self.timeout)
        answer = ack.get("payload")
        return BotResponse(
            200,
            {"content-type": "application/json"} if answer is not None else {},
            json.dumps(answer).encode() if answer is not None else b"",
            payload=payload,
            trigger_id=payload.get("trigger_id"),
            response_url=payload.get("response_url"),
            extra={"envelope_id": envelope_id, "ack": ack},
        )
