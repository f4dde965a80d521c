"""`make run` without Slack tokens: the real bot against a Slack stand-in, a sandbox AWS and an embedded Redis.

`run_playground()` starts, all in this process and all on 127.0.0.1:

- a moto server (the sandbox AWS) holding an AWS Organization with a handful
  of member accounts and trusted access for StackSets on; AssumeRole honours
  trust policies and ExternalIds (`enforce_trust_policies`). The bot reaches
  it through `AWS_ENDPOINT_URL` with fake credentials, as it would reach AWS;
- the Slack Web API stand-in (`SlackStandIn`) with three people: a requester,
  an approver (the bot's `CE_APPROVERS`) and a bystander;
- the real bot, configured by `bot.config.load("serve", …)` like `ce-bot serve`
  (a generated signing secret and bot token, `SLACK_API_URL` = the stand-in,
  the embedded Redis unless `REDIS_URL` is set), on a free port;
- the playground page on http://localhost:$PORT (default 3000): a Slack-like
  channel that sends the bot signed requests exactly as Slack would, and a
  "sandbox AWS" panel (`bot/playground/web_app.py`).

It prints one line, the page's address, and stops cleanly on Ctrl-C.
Never imported by the production path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from bot import config as configuration
from bot.store.embedded import EmbeddedRedisError, EmbeddedRedisInUse

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
CHANNEL = "C0CE"
TRUSTED_ACCOUNT_ID = "111122223333"  # a fixed, fake Cloud Entitlements account
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "playground", "AWS_SECRET_ACCESS_KEY": "playground"}
ASSUME_ROLE_TIMEOUT = "5"  # seconds the bot waits for a new role; short, so a broken role fails fast
MEMBER_ACCOUNTS = 4


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    real_name: str
    role: str  # requester | approver | bystander
    title: str


PEOPLE = (
    Person("U0PGALEX", "alex", "Alex Rivera", "requester", "Platform engineer"),
    Person("U0PGSAM", "sam", "Sam Okafor", "approver", "Security lead"),
    Person("U0PGJORDAN", "jordan", "Jordan Lee", "bystander", "Developer"),
)
REQUESTER, APPROVER, BYSTANDER = (p.user_id for p in PEOPLE)


class PlaygroundError(RuntimeError):
    """The playground could not start (a port in use, a component that did not come up)."""


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PlaygroundError(f"port {port} is in use ({error.strerror}); set PORT to another port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _put_env(name: str, value: str | None) -> None:
    """Set an environment variable, or remove it for None."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class _Served:
    """A Starlette/ASGI app under uvicorn in a thread, on a socket we bound ourselves."""

    def __init__(self, app: Any, sock: socket.socket, name: str):
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise PlaygroundError(f"{self.thread.name} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(10)
        with contextlib.suppress(OSError):
            self.sock.close()


class Playground:
    """Every piece of the playground, started and stopped together (also used by the tests)."""

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        redis_url: str = "",
        data_dir: str | Path = "",
        member_accounts: int = MEMBER_ACCOUNTS,
        assume_role_timeout: str = ASSUME_ROLE_TIMEOUT,
        region: str = "us-east-1",
    ):
        self.host = host
        self.requested_port = port
        self.redis_url = redis_url
        self.data_dir = Path(data_dir) if data_dir else Path(".ce-bot") / "playground"
        self.member_accounts = member_accounts
        self.assume_role_timeout = assume_role_timeout
        self.region = region
        self.signing_secret = secrets.token_hex(16)
        self.bot_token = "xoxb-playground-" + secrets.token_hex(12)
        self.people = PEOPLE
        self.channel = CHANNEL
        self._stack = contextlib.ExitStack()
        self._saved_env: dict[str, str | None] = {}
        self.moto_url = ""
        self.standin: Any = None
        self.console: Any = None
        self.runtime: Any = None
        self.sender: Any = None
        self._bot: _Served | None = None
        self._page: _Served | None = None
        self.closing = False  # set on stop: long-polling requests answer at once
        self.version = 0  # bumped on every change the stand-in does not record (sandbox actions)
        self._version_lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        if self._page is None:
            raise RuntimeError("the playground is not started")
        return self._page.port

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def local_url(self) -> str:
        """The page's address by IP (what tests and scripts use: no name lookup)."""
        return f"http://{self.host}:{self.port}"

    def bump(self) -> None:
        with self._version_lock:
            self.version += 1

    def start(self) -> Playground:
        self.closing = False
        try:
            page_socket = listening_socket(self.host, self.requested_port)  # first: a busy port fails fast
            self._stack.callback(page_socket.close)
            self._start_aws()
            self._start_slack()
            self._start_bot()
            self._start_page(page_socket)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.closing = True
        for served in (self._page, self._bot):
            if served is not None:
                served.stop()
        self._page = self._bot = None
        self._stack.close()
        self._stack = contextlib.ExitStack()
        for name, value in self._saved_env.items():
            _put_env(name, value)
        self._saved_env = {}

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------- the pieces

    def _setenv(self, name: str, value: str | None) -> None:
        if name not in self._saved_env:
            self._saved_env[name] = os.environ.get(name)
        _put_env(name, value)

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        from bot.playground.sandbox_console import SandboxConsole
        from bot.playground.sandbox_org import create_sandbox_organization, enforce_trust_policies

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        # The bot (in this process) reaches the sandbox as it would reach AWS: the standard
        # credential chain and AWS_ENDPOINT_URL. Fake credentials only: never real AWS.
        self._setenv("AWS_ENDPOINT_URL", self.moto_url)
        for name, value in FAKE_CREDENTIALS.items():
            self._setenv(name, value)
        self._setenv("AWS_DEFAULT_REGION", self.region)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"):
            self._setenv(name, None)
        # moto's backends are process-wide: start from a clean sandbox every time.
        urllib.request.urlopen(urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST"), timeout=10).read()
        self._stack.enter_context(enforce_trust_policies())
        sandbox = create_sandbox_organization(member_accounts=self.member_accounts, session=self.aws_session())
        self.console = SandboxConsole(
            sandbox, session_for=self.aws_session, default_region=self.region, on_change=self.bump
        )

    def aws_session(self, region: str | None = None) -> Any:
        import boto3

        return boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=region or self.region,
        )

    def _start_slack(self) -> None:
        from bot.playground.slack_standin import SlackStandIn

        self.standin = SlackStandIn(bot_token=self.bot_token)
        self.standin.start()
        self._stack.callback(self.standin.stop)
        for person in self.people:
            self.standin.add_user(person.user_id, person.name, real_name=person.real_name)
        self.standin.add_channel(self.channel, "ce-connections")

    def bot_environment(self, port: int) -> dict[str, str]:
        """What the bot is configured with: only what `ce-bot serve` would read from its environment."""
        env = {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.standin.api_url,
            "REDIS_URL": self.redis_url,
            "CE_TRUSTED_ACCOUNT_ID": TRUSTED_ACCOUNT_ID,
            "CE_APPROVERS": APPROVER,
            "CE_ASSUME_ROLE_TIMEOUT": self.assume_role_timeout,
            "CE_DATA_DIR": str(self.data_dir),
            "AWS_REGION": self.region,
            "PORT": str(port),
        }
        return env

    def _start_bot(self) -> None:
        from bot.playground.slack_sender import SlackSender
        from bot.runtime import Runtime
        from bot.server import create_http_app

        bot_socket = listening_socket("127.0.0.1", 0)
        self._stack.callback(bot_socket.close)
        port = bot_socket.getsockname()[1]
        config = configuration.load("serve", environ=self.bot_environment(port))
        self.runtime = Runtime(config)
        self._stack.callback(self.runtime.stop)  # the lifespan stops it too; stopping twice is harmless
        if self.runtime.embedded is not None:
            # The playground's own Redis: the stand-in and the sandbox are new each run, so old
            # connections (pointing at threads and stacks that no longer exist) are dropped.
            self.runtime.redis.flushdb()
        self._bot = _Served(create_http_app(self.runtime), bot_socket, "ce-bot")
        self._bot.start()
        self.sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", self.signing_secret, self.standin)

    def _start_page(self, sock: socket.socket) -> None:
        from bot.playground.web_app import create_page_app

        self._page = _Served(create_page_app(self), sock, "playground-page")
        self._page.start()

    # ------------------------------------------------------------------ people

    def person(self, user_id: str) -> Person | None:
        return next((p for p in self.people if p.user_id == user_id), None)


def _quiet_logs() -> None:
    """The playground prints one line; the bot's INFO logs are there with LOG_LEVEL=INFO."""
    if not os.environ.get("LOG_LEVEL"):
        logging.getLogger().setLevel(logging.WARNING)
    for name in ("werkzeug", "botocore.credentials", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # moto ignores the template's AWS::CloudFormation::StackSet (the sandbox creates it itself) and says so.
    warnings.filterwarnings("ignore", message=r".*AWS::CloudFormation::StackSet.*")


def run_playground() -> int:
    _quiet_logs()
    env = configuration.environment()
    port_text = (env.get("PORT") or str(DEFAULT_PORT)).strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        print("ce-bot: configuration error: PORT: must be a TCP port number", file=sys.stderr)
        return 2
    playground = Playground(
        port=int(port_text),
        redis_url=(env.get("REDIS_URL") or "").strip(),
        data_dir=(env.get("CE_DATA_DIR") or "").strip(),
        assume_role_timeout=(env.get("CE_ASSUME_ROLE_TIMEOUT") or ASSUME_ROLE_TIMEOUT).strip(),
        region=(env.get("AWS_REGION") or "us-east-1").strip(),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    # Ctrl-C, a kill, or the terminal closed (SIGHUP): each stops everything, the embedded Redis too.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            playground.start()
        except EmbeddedRedisInUse:
            print(
                f"ce-bot: playground: another playground (or bot) runs in {playground.data_dir}; stop it, "
                "or start this one with CE_DATA_DIR set to another folder",
                file=sys.stderr,
            )
            return 1
        except (PlaygroundError, EmbeddedRedisError) as error:
            print(f"ce-bot: playground: {error}", file=sys.stderr)
            return 1
        except configuration.ConfigError as error:
            print(f"ce-bot: configuration error: {error}", file=sys.stderr)
            return 2
        print(playground.url, flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        playground.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
