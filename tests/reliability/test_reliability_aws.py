"""AWS throttling, 5xx and outages between the bot and AWS (a proxy in front of the moto server).

Throttling and transient errors are retried by botocore (standard mode, bounded timeouts); a
validation that cannot reach AWS at all says so in plain words, offers to try again, and passes
once AWS answers again.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.aws.session import AwsAccess
from bot.aws.validation import ValidationRequest, validate_connection
from bot.playground.sandbox_stack import deploy_rendered_template
from bot.slack import ids
from bot.template import render
from tests.e2e.journey import Journey, has_button, text_of
from tests.reliability.harness import TRUSTED_ACCOUNT, bot_env, slack_for
from tests.support.redis_state import connection_of


class FaultyEndpoint:
    """AWS_ENDPOINT_URL for the bot: forwards to moto, except the faults it is told to answer."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.faults: list[dict] = []
        self.seen: list[tuple[str, int]] = []  # (operation, status answered)
        self.lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, operation: str, *, times: int = 1, status: int = 400, code: str = "Throttling") -> None:
        with self.lock:
            self.faults.append({"operation": operation, "times": times, "status": status, "code": code})

    def start(self) -> "FaultyEndpoint":
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                endpoint._forward(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until `start()` again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        target = request.headers.get("X-Amz-Target") or ""
        operation = target.rsplit(".", 1)[-1] if target else _query_action(body)
        with self.lock:
            fault = next((f for f in self.faults if f["operation"] == operation and f["times"] > 0), None)
            if fault:
                fault["times"] -= 1
        if fault:
            status, headers, data = _error(fault, json_protocol=bool(target))
        else:
            forwarded = urllib.request.Request(
                self.upstream + request.path,
                data=body if request.command == "POST" else None,
                headers={k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")},
                method=request.command,
            )
            try:
                with urllib.request.urlopen(forwarded, timeout=10) as answer:
                    status, headers, data = answer.status, dict(answer.headers), answer.read()
            except urllib.error.HTTPError as error:
                status, headers, data = error.code, dict(error.headers), error.read()
        with self.lock:
            self.seen.append((operation, status))
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def statuses(self, operation: str) -> list[int]:
        with self.lock:
            return [status for op, status in self.seen if op == operation]


def _query_action(body: bytes) -> str:
    for pair in body.decode(errors="replace").split("&"):
        if pair.startswith("Action="):
            return pair[len("Action="):]
    return ""


def _error(fault: dict, *, json_protocol: bool) -> tuple[int, dict, bytes]:
    if json_protocol:
        body = json.dumps({"__type": fault["code"], "message": "Rate exceeded"}).encode()
        return fault["status"], {"Content-Type": "application/x-amz-json-1.1"}, body
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{fault['code']}</Code><Message>Rate exceeded</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    return fault["status"], {"Content-Type": "text/xml"}, body


@pytest.fixture
def endpoint(sandbox, moto_server, monkeypatch):
    proxy = FaultyEndpoint(moto_server).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield proxy
    proxy.stop()


def deployed(sandbox, external_id: str) -> str:
    template = render.render_management_template(
        trusted_account_id=TRUSTED_ACCOUNT, external_id=external_id, root_id=sandbox.root_id,
        stack_set_name=render.STACK_SET_NAME,
    )  # fmt: skip
    return deploy_rendered_template(template, region="us-east-1")


def test_throttling_and_server_errors_are_retried_by_botocore(sandbox, endpoint):
    config = AwsAccess().client(None, "sts", "us-east-1").meta.config  # (botocore rewrites max_attempts)
    assert config.retries["mode"] == "standard" and config.retries["total_max_attempts"] >= 3
    assert config.connect_timeout <= 5 and config.read_timeout <= 15
    external_id = render.new_external_id()
    role_arn = deployed(sandbox, external_id)
    endpoint.fail("AssumeRole", code="Throttling")  # STS, query protocol
    endpoint.fail("DescribeOrganization", code="TooManyRequestsException")  # Organizations, JSON protocol
    endpoint.fail("ListAccounts", status=503, code="ServiceUnavailableException", times=2)
    endpoint.fail("ListStackInstances", status=500, code="InternalFailure")  # CloudFormation

    request = ValidationRequest(
        sandbox.org_id, sandbox.root_id, role_arn, external_id, "us-east-1", render.STACK_SET_NAME
    )
    outcome = validate_connection(request, aws=AwsAccess(), assume_timeout=2)
    assert outcome.passed, [(c.key, c.found) for c in outcome.checks]
    assert endpoint.statuses("AssumeRole")[:2] == [400, 200]
    assert endpoint.statuses("DescribeOrganization")[:2] == [400, 200]
    assert endpoint.statuses("ListAccounts")[:3] == [503, 503, 200]
    assert endpoint.statuses("ListStackInstances")[:2] == [500, 200]


def test_aws_unreachable_is_said_plainly_and_the_user_can_retry(sandbox, endpoint, standin, redis_url, bots, tmp_path):
    bot = bots(bot_env(redis_url, standin, tmp_path / "data"))
    journey = Journey(slack_for(bot, standin), standin)
    role_arn = journey.deployed_role(sandbox.org_id, sandbox.root_id)

    endpoint.stop()  # AWS cannot be reached: connections refused
    journey.submit_role(role_arn)
    failed = journey.checklist_done()
    text = text_of(failed)
    assert "could not reach AWS; try again" in text and "Try again in a few minutes" in text
    assert "EndpointConnectionError" not in text and "127.0.0.1" not in text
    assert has_button(failed, ids.ENTER_ROLE)  # "Try another role ARN": the same one will do
    assert connection_of(redis_url, sandbox.org_id)["state"] == "validation_failed"

    endpoint.start()  # AWS is back
    journey.submit_role(role_arn, message=failed)
    passed = journey.wait_reply(lambda m: "passed every check" in text_of(m), "a passing checklist", timeout=30)
    assert ":x:" not in text_of(passed)
    assert connection_of(redis_url, sandbox.org_id)["state"] == "pending_approval"
