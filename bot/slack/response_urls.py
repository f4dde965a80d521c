"""Posts to Slack's response_urls, over kept-alive HTTPS connections.

The SDK's `WebhookClient` opens a new connection, TLS handshake included, for every message. A
worker answering clicks all day posts to the same host again and again, so each worker thread
keeps one HTTPS connection per host and reuses it. Slack closes idle connections; one idle longer
than `IDLE` is not reused, and a post that finds its reused connection closed is sent again at once
on a new one (the request never reached Slack). Plain-HTTP hosts (stand-ins, local tools) get a
connection per message with `Connection: close`, as urllib sends: a connection costs little there,
and a server that serves one connection at a time is never held by an idle one. Otherwise the
SDK's retry rules apply (`retries.py`): connection errors twice, a 429 after its Retry-After three
times, a 500 or 503 twice, with the SDK's backoff. Posts through a proxy (given, or from
HTTPS_PROXY and the like, read as the SDK reads them) go through the SDK's client, which knows
proxies.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl as ssl_lib
import threading
import time
from typing import Callable
from urllib.parse import urlsplit

from slack_sdk.proxy_env_variable_loader import load_http_proxy_from_env
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.slack.retries import CONNECTION_RETRIES, RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES, retry_handlers

IDLE = 30.0  # seconds a kept-alive connection may sit unused and still be reused
TIMEOUT = 30.0  # the SDK's WebhookClient default
SERVER_ERRORS = (500, 503)  # what the SDK's ServerErrorRetryHandler retries
_CONNECTION_ERRORS = (ConnectionError, socket.gaierror)  # RemoteDisconnected is a ConnectionResetError


class ResponsePoster:
    """POSTs JSON messages to response_urls; one kept-alive connection per host and thread for the
    `keep_alive` schemes."""

    def __init__(self, *, timeout: float = TIMEOUT, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, keep_alive: tuple[str, ...] = ("https",)):  # fmt: skip
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.sleep = sleep
        self.clock = clock
        self._local = threading.local()

    def post(self, url: str, message: dict, *, encoded: bytes | None = None, proxy: str | None = None,
             ssl: ssl_lib.SSLContext | None = None) -> WebhookResponse:  # fmt: skip
        """POST `message`; `encoded` is its `encode(message)` when the caller kept it."""
        proxy = proxy or load_http_proxy_from_env()  # what the SDK's clients read: HTTPS_PROXY and the like
        if proxy:
            return WebhookClient(url=url, proxy=proxy, ssl=ssl, timeout=int(self.timeout),
                                 retry_handlers=retry_handlers()).send_dict(message)  # fmt: skip
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a response_url is an http(s) URL")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        body = encode(message) if encoded is None else encoded
        failures = rate_limited = server_errors = 0
        while True:
            try:
                status, headers, text = self._send(parts, target, body, ssl)
            except _CONNECTION_ERRORS:
                failures += 1
                if failures > CONNECTION_RETRIES:
                    raise
                self.sleep(_backoff(failures - 1))
                continue
            if status == 429 and rate_limited < RATE_LIMIT_RETRIES:
                rate_limited += 1
                self.sleep(_retry_after(headers))
                continue
            if status in SERVER_ERRORS and server_errors < SERVER_ERROR_RETRIES:
                server_errors += 1
                self.sleep(_backoff(server_errors - 1))
                continue
            return WebhookResponse(url=url, status_code=status, body=text, headers=headers)

    def _send(self, parts, target: str, body: bytes, context) -> tuple[int, dict, str]:
        """One request and its answer; a kept-alive connection found closed is replaced once, at once."""
        keep = parts.scheme in self.keep_alive
        key = (parts.scheme, parts.hostname, parts.port, id(context))
        connections: dict = self._local.__dict__.setdefault("connections", {})
        kept = connections.pop(key, None)
        if kept is not None and self.clock() - kept[1] > IDLE:
            kept[0].close()
            kept = None
        if kept is not None:
            try:
                return self._exchange(connections, key, kept[0], target, body, keep)
            except (ConnectionError, http.client.BadStatusLine):
                kept[0].close()  # closed while idle: the request did not reach the server
        connection = self._connect(parts, context)
        try:
            return self._exchange(connections, key, connection, target, body, keep)
        except BaseException:
            connection.close()
            raise

    def _exchange(self, connections: dict, key, connection, target: str, body: bytes,
                  keep: bool) -> tuple[int, dict, str]:  # fmt: skip
        headers = {"Content-Type": "application/json;charset=utf-8", "User-Agent": "ce-bot"}
        if not keep:
            headers["Connection"] = "close"
        connection.request("POST", target, body=body, headers=headers)
        if hasattr(socket, "TCP_QUICKACK") and connection.sock is not None:
            # A server writing its headers and body apart waits (Nagle) for the headers' ACK, which a
            # kept-alive connection delays by 40 ms: ACK at once.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        answer = {name.lower(): value for name, value in response.getheaders()}
        if keep and not response.will_close:
            connections[key] = (connection, self.clock())
        else:
            connection.close()
        return response.status, answer, text

    def _connect(self, parts, context) -> http.client.HTTPConnection:
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)


def encode(message: dict) -> bytes:
    """A message as a response_url's JSON body."""
    return json.dumps(message).encode("utf-8")


def _backoff(attempt: int) -> float:
    """The SDK's default interval before retry `attempt` (0 first): 0.5 s × 2^attempt, plus jitter."""
    return 0.5 * (2**attempt) + random.random()


def _retry_after(headers: dict) -> float:
    try:
        return max(0.0, float(headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


POSTER = ResponsePoster()
