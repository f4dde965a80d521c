"""Posts to response_urls: kept-alive connections, a connection closed while idle, the SDK's retry rules."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from bot.slack import response_urls
from bot.slack.app import RetryingRespond
from bot.slack.response_urls import IDLE, ResponsePoster
from tests.support.bot_server import free_port


class Hooks:
    """A response_url host: answers each POST with the next scripted (status, headers, close) and
    records what arrived, on which connection."""

    def __init__(self):
        self.script: list[tuple[int, dict, bool]] = []
        self.received: list[tuple[int, dict]] = []  # (connection number, message)
        self.closing: list[bool] = []  # whether each request asked for its connection to be closed
        self.connections = 0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                hooks.connections += 1
                self.number = hooks.connections

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers["Content-Length"])
                hooks.received.append((self.number, json.loads(self.rfile.read(length))))
                hooks.closing.append(self.headers.get("Connection", "").lower() == "close")
                status, headers, drop = hooks.script.pop(0) if hooks.script else (200, {}, False)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                self.wfile.flush()
                if drop:  # closed without saying so, as an idle connection is
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/commands/T1/abc?x=1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks():
    server = Hooks()
    yield server
    server.close()


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def poster(clock):
    """Keeping plain-HTTP connections alive too, as it does HTTPS ones (the stand-in speaks HTTP)."""
    return ResponsePoster(timeout=5, sleep=clock.sleep, clock=clock, keep_alive=("http", "https"))


def test_posts_reuse_one_connection(hooks, poster):
    for n in range(3):
        answer = poster.post(hooks.url, {"text": f"page {n}", "response_type": "ephemeral"})
        assert (answer.status_code, answer.body) == (200, "ok")
    assert hooks.received == [(1, {"text": f"page {n}", "response_type": "ephemeral"}) for n in range(3)]
    assert hooks.connections == 1
    assert hooks.closing == [False, False, False]


def test_plain_http_hosts_get_a_connection_per_message_closed_after_it(hooks, clock):
    """A server that serves one connection at a time is never held by an idle one of ours."""
    poster = ResponsePoster(timeout=5, sleep=clock.sleep, clock=clock)
    for n in range(3):
        assert poster.post(hooks.url, {"text": f"page {n}"}).status_code == 200
    assert [number for number, _ in hooks.received] == [1, 2, 3]
    assert hooks.closing == [True, True, True]


def test_a_connection_closed_while_idle_is_replaced_and_the_message_sent_once(hooks, poster, clock):
    hooks.script = [(200, {}, True)]
    poster.post(hooks.url, {"text": "first"})
    poster.post(hooks.url, {"text": "second"})
    assert hooks.received == [(1, {"text": "first"}), (2, {"text": "second"})]
    assert clock.slept == []  # not a retry: the request never reached the server


def test_a_connection_idle_too_long_is_not_reused(hooks, poster, clock):
    poster.post(hooks.url, {"text": "first"})
    clock.now += IDLE + 1
    poster.post(hooks.url, {"text": "second"})
    assert [number for number, _ in hooks.received] == [1, 2]


def test_each_thread_keeps_its_own_connection(hooks, poster):
    poster.post(hooks.url, {"text": "main"})
    thread = threading.Thread(target=poster.post, args=(hooks.url, {"text": "worker"}))
    thread.start()
    thread.join()
    poster.post(hooks.url, {"text": "main again"})
    assert hooks.received == [(1, {"text": "main"}), (2, {"text": "worker"}), (1, {"text": "main again"})]


def test_a_429_is_retried_after_its_retry_after(hooks, poster, clock):
    hooks.script = [(429, {"Retry-After": "2"}, False)]
    assert poster.post(hooks.url, {"text": "hi"}).status_code == 200
    assert clock.slept == [2.0]
    assert len(hooks.received) == 2


def test_rate_limited_three_retries_then_the_429_is_returned(hooks, poster, clock):
    hooks.script = [(429, {"Retry-After": "1"}, False)] * 4 + [(200, {}, False)]
    assert poster.post(hooks.url, {"text": "hi"}).status_code == 429
    assert clock.slept == [1.0, 1.0, 1.0]


def test_server_errors_are_retried_twice_with_backoff(hooks, poster, clock):
    hooks.script = [(500, {}, False), (503, {}, False)]
    assert poster.post(hooks.url, {"text": "hi"}).status_code == 200
    assert len(hooks.received) == 3
    assert 0.5 <= clock.slept[0] < 1.5 and 1.0 <= clock.slept[1] < 2.0

    hooks.script = [(500, {}, False)] * 3
    assert poster.post(hooks.url, {"text": "again"}).status_code == 500


def test_a_client_error_is_returned_at_once(hooks, poster, clock):
    hooks.script = [(404, {}, False)]
    answer = poster.post(hooks.url, {"text": "hi"})
    assert (answer.status_code, len(hooks.received), clock.slept) == (404, 1, [])


def test_an_unreachable_host_is_tried_three_times_then_raises(poster, clock):
    with pytest.raises(ConnectionRefusedError):
        poster.post(f"http://127.0.0.1:{free_port()}/commands/T1/abc", {"text": "hi"})
    assert len(clock.slept) == 2


def test_only_http_urls_are_posted_to(poster):
    with pytest.raises(ValueError):
        poster.post("file:///etc/passwd", {"text": "hi"})


def test_respond_sends_blocks_through_the_poster(hooks):
    respond = RetryingRespond(response_url=hooks.url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Organizations*"}}]
    assert respond(text="Organizations", blocks=blocks, response_type="ephemeral").status_code == 200
    assert hooks.received[-1][1] == {"text": "Organizations", "blocks": blocks, "response_type": "ephemeral"}


def test_a_message_kept_encoded_is_sent_as_it_was_encoded(hooks):
    """A list page is posted with the JSON kept from its first post; without a response_url, nothing is."""
    message = {"text": "Organizations", "response_type": "ephemeral", "replace_original": True}
    assert RetryingRespond(response_url=hooks.url).post(message, response_urls.encode(message)).status_code == 200
    assert hooks.received[-1][1] == message
    with pytest.raises(ValueError):
        RetryingRespond(response_url=None).post(message)


def test_a_proxy_from_the_environment_is_used_as_the_sdk_would(monkeypatch, poster):
    """Behind an egress proxy (HTTPS_PROXY), posts go through the SDK's client and that proxy, as before."""
    sent = []

    class Client:
        def __init__(self, url, proxy, **_):
            sent.append((url, proxy))

        def send_dict(self, message):
            sent.append(message)
            return SimpleNamespace(status_code=200)

    monkeypatch.setattr(response_urls, "WebhookClient", Client)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert poster.post("https://hooks.slack.com/actions/T1/1/abc", {"text": "hi"}, encoded=b"{}").status_code == 200
    assert sent == [("https://hooks.slack.com/actions/T1/1/abc", "http://proxy.internal:3128"), {"text": "hi"}]
