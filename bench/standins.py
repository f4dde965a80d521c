"""Stand-ins the benchmark runs in their own processes, each printing one JSON line when ready.

- `python -m bench.standins slack [--tls-cert C --tls-key K]`: the bot's Slack Web API stand-in
  (`bot.playground.slack_standin`), and a sink for response_url posts (answers `ok`, keeps count), over
  HTTPS when given a certificate (`bench/tls.py`), as Slack's response_urls are.
- `python -m bench.standins aws --orgs K --accounts N [--stack-set] [--delay S]`: a moto server
  holding K AWS Organizations with N member accounts each (seeded in-process before the server
  starts, so 5,000 accounts take seconds), and in front of it a proxy that waits `--delay` seconds before passing each
  request on: the "AWS that answers every call in 2 s" of the background-validation scenario. The proxy
  counts requests by operation (`GET /_bench/stats`).

Both stop when their standard input closes (the harness ending, however it ends).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import ssl
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from bench.payloads import APPROVERS, BOT_TOKEN, REGION, REQUESTER
from bench.procs import AWS_CREDENTIALS
from bench.tls import HOST, server_context

TRUSTED_ACCOUNT = "111122223333"  # ce-bot's own account (CE_TRUSTED_ACCOUNT_ID): the member roles trust it
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def _ready(info: dict) -> None:
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()


def _wait_for_stdin_close() -> None:
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive, quiet; reads a request's body and writes an answer with its length."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (flushed after each request), as a real server's do

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, headers, data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(handler: type[_Handler], tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """`handler` on 127.0.0.1 at a free port (over TLS with `tls`), served from a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:  # each connection's handshake runs in its own thread, on its first read
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.daemon_threads = True
    server.request_queue_size = 256
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


# --- Slack ---------------------------------------------------------------------------------------


def response_sink(tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """Where the benchmark's response_urls point: answers `ok` at once, as Slack does, and keeps count
    and the last few messages (`GET /_bench/responses`). Slack's own cost of showing a message is not the
    bot's, so it should not compete with the bot for the machine's two cores."""
    counts: Counter = Counter()
    last: list = []
    lock = threading.Lock()

    class Sink(_Handler):
        def do_POST(self) -> None:
            body = self._body()
            with lock:
                counts[self.path.split("/")[1]] += 1
                last.append(body)
                del last[:-5]
            self._answer(200, [("Content-Type", "text/plain")], b"ok")

        def do_GET(self) -> None:
            with lock:
                payload = {"counts": dict(counts), "last": [b.decode("utf-8", "replace") for b in last]}
            self._answer(200, [("Content-Type", "application/json")], json.dumps(payload).encode())

    return _serve(Sink, tls)


def slack(args) -> None:
    from bot.playground.slack_standin import SlackStandIn

    standin = SlackStandIn(bot_token=args.token).start()
    for user in (REQUESTER, *APPROVERS):
        standin.add_user(user)
    tls = server_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    sink = response_sink(tls)
    scheme = "https" if tls else "http"
    _ready({"api_url": standin.api_url, "responses_url": f"{scheme}://{HOST}:{sink.server_address[1]}/"})
    _wait_for_stdin_close()
    sink.shutdown()
    standin.stop()


# --- AWS -----------------------------------------------------------------------------------------


def seed_organizations(orgs: int, accounts: int, stack_set: bool, region: str = REGION) -> list[dict]:
    """`orgs` organizations (all features, StackSets trusted access), each with `accounts` member
    accounts, written into moto's in-memory backends through the in-process mock. The first lives in
    moto's default account; the others each in an account of their own (a role in that account acts
    in its organization, as in AWS)."""
    for name, value in AWS_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.organizations.models import OrganizationsBackend, organizations_backends

    made = []
    mock = mock_aws()
    mock.start()
    # moto attaches the default policies to each new account by scanning every account: quadratic.
    # The benchmark's accounts need no policies, so that step is skipped while seeding.
    attach = OrganizationsBackend.attach_policy
    OrganizationsBackend.attach_policy = lambda self, **kwargs: None  # type: ignore[method-assign]
    try:
        for k in range(orgs):
            account = DEFAULT_ACCOUNT_ID if k == 0 else f"{200000000000 + k:012d}"
            os.environ["MOTO_ACCOUNT_ID"] = account
            org = boto3.client("organizations", region_name=REGION)
            organization = org.create_organization(FeatureSet="ALL")["Organization"]
            backend = organizations_backends[account]["aws"]
            for i in range(accounts):
                backend.create_account(AccountName=f"Member {i + 1}", Email=f"aws+o{k}m{i + 1}@example.com")
            root_id = org.list_roots()["Roots"][0]["Id"]
            org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
            if stack_set:
                from bot.playground.sandbox_org import deploy_member_stack_set, member_template

                deploy_member_stack_set(
                    root_id=root_id,
                    region=region,
                    template_body=member_template(external_id="bench", trusted_account_id=TRUSTED_ACCOUNT),
                    session=boto3.Session(region_name=region),
                )
            made.append({"org_id": organization["Id"], "root_id": root_id, "management_account_id": account})
    finally:
        os.environ.pop("MOTO_ACCOUNT_ID", None)
        OrganizationsBackend.attach_policy = attach  # type: ignore[method-assign]
        mock.stop(remove_data=False)
    return made


def _operation(headers, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    try:
        return parse_qs(body.decode()).get("Action", ["?"])[0]
    except UnicodeDecodeError:
        return "?"


def delaying_proxy(upstream_port: int, delay: float) -> ThreadingHTTPServer:
    counts: Counter = Counter()
    lock = threading.Lock()

    class Proxy(_Handler):
        def _forward(self) -> None:
            body = self._body()
            if self.path == "/_bench/stats":
                with lock:
                    payload = json.dumps(dict(counts)).encode()
                self._answer(200, [("Content-Type", "application/json")], payload)
                return
            with lock:
                counts[_operation(self.headers, body)] += 1
            time.sleep(delay)
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")]
                self._answer(answer.status, passed, data)
            finally:
                upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    return _serve(Proxy)


def aws(args) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    info = {"orgs": seed_organizations(args.orgs, args.accounts, args.stack_set)}
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = delaying_proxy(port, args.delay)
    info.update(moto_url=f"http://{host}:{port}", url=f"http://127.0.0.1:{proxy.server_address[1]}")
    _ready(info)
    _wait_for_stdin_close()
    proxy.shutdown()
    server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.standins")
    roles = parser.add_subparsers(dest="role", required=True)
    s = roles.add_parser("slack")
    s.add_argument("--token", default=BOT_TOKEN)
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    a = roles.add_parser("aws")
    a.add_argument("--orgs", type=int, default=1)
    a.add_argument("--accounts", type=int, default=3)
    a.add_argument("--stack-set", action="store_true")
    a.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    {"slack": slack, "aws": aws}[args.role](args)


if __name__ == "__main__":
    main()
