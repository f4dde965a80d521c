"""Logging set-up: secrets masked in every record, and structured JSON lines on `CE_LOG_JSON`.

- **Redaction.** `install_redaction()` replaces the log record factory, so
  every record any library creates (boto3 and botocore at DEBUG print whole
  STS responses, with the assumed role's secret key and session token) has
  its message, exception text and stack already masked before any handler
  sees it. Masked: Slack tokens (`xox?-…`, `xapp-…`), AWS secret keys and
  session tokens (by shape and by name: `SecretAccessKey`, `SessionToken`,
  `X-Amz-Security-Token` …), passwords in URLs, and the literal values of the
  configured secrets (the signing secret has no recognisable shape).
- **JSON lines.** With `CE_LOG_JSON=true` each record is one JSON object on
  one line: time, level, logger, message, and `conn` / `user` when known.
  They are known from `bind(conn=…, user=…)`, from `scope_requests(app)`, which scopes every
  Slack request (once its signature is verified), and from `instrument(runtime)`, every job.
- **A line per event.** With `CE_LOG_JSON` and INFO, `bot.events` writes one line per Slack request
  handled and one per job run: what it was, how it ended (`what`, `outcome`), its user and connection.
  Whether they are written is decided once, when the app and the workers are built: a request pays
  nothing for a line that is not.

`setup()` is what `ce-bot` calls instead of `logging.basicConfig`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import threading
import time
import traceback
from typing import Any, Iterable, Iterator, Mapping, TextIO

MASK = "[redacted]"

#: Environment variables whose values are secrets, whatever they look like.
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
MIN_LITERAL = 8  # shorter configured "secrets" would mask ordinary words

_SECRET_NAMES = (
    r"SecretAccessKey|SessionToken|aws_secret_access_key|aws_session_token|X-Amz-Security-Token"
    r"|signing_secret|client_secret|secret_key|password|passwd"
)
_PATTERNS = [
    # Slack tokens: bot, user, app-level, legacy, refresh (xoxe.xoxp-…)
    (re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), MASK),
    # name = value, name: value, 'name': b'value', <Name>value</Name>
    (
        re.compile(rf"(?i)((?:{_SECRET_NAMES})[\"']?\s*(?:[:=]|>)\s*b?[\"']?)[^\s\"'<>,;&}}\]]+"),
        rf"\1{MASK}",
    ),
    # userinfo in URLs: redis://:password@host, https://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+@"), rf"\1{MASK}@"),
    # session tokens and other long base64 blobs
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{100,}"), MASK),
    # AWS secret access keys: 40 base64 characters, mixed case (so hex digests are left alone)
    (
        re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        MASK,
    ),
]

_literals: tuple[str, ...] = ()
_literals_lock = threading.Lock()


def add_secrets(values: Iterable[str | None]) -> None:
    """Mask these exact values too (the signing secret, configured tokens, keys)."""
    global _literals
    found = {v.strip() for v in values if v and len(v.strip()) >= MIN_LITERAL}
    with _literals_lock:
        _literals = tuple(sorted(set(_literals) | found, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with every secret masked."""
    if not text:
        return text
    for literal in _literals:
        if literal in text:
            text = text.replace(literal, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# -- connection and Slack user of the work in progress -------------------------------------------

_conn: contextvars.ContextVar[str] = contextvars.ContextVar("ce_log_conn", default="")
_user: contextvars.ContextVar[str] = contextvars.ContextVar("ce_log_user", default="")
# One Slack request being dispatched (filled in by middleware once the signature is verified), or one
# job being run: its `conn` and `user`, and its `outcome` when it did not end as usual.
_scope: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ce_log_scope", default=None)
_CONN_IN_TEXT = re.compile(r"\b(?:connection|conn)[ =:]+([0-9a-f]{16})\b")


@contextlib.contextmanager
def bind(*, conn: str = "", user: str = "") -> Iterator[None]:
    """Records logged inside carry this connection ID and Slack user."""
    tokens = []
    if conn:
        tokens.append((_conn, _conn.set(conn)))
    if user:
        tokens.append((_user, _user.set(user)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# -- the record factory ------------------------------------------------------------------------

_base_factory = logging.getLogRecordFactory()
_installed = False


def _scrub(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: keep the template, drop the arguments
        message = f"{record.msg} (unformattable arguments)"
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    request = _scope.get() or {}
    conn = _conn.get() or request.get("conn", "")
    if not conn:
        match = _CONN_IN_TEXT.search(record.msg)
        conn = match.group(1) if match else ""
    record.conn, record.user = conn, _user.get() or request.get("user", "")
    record.ce_scrubbed = True
    return record


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return _scrub(_base_factory(*args, **kwargs))


def install_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Mask secrets in every log record from now on, whichever logger or handler it goes to."""
    global _installed
    add_secrets(secrets)
    if not _installed:
        logging.setLogRecordFactory(_factory)
        _installed = True


def uninstall_redaction() -> None:
    """Back to the standard record factory, and remove the handler `setup` added (tests)."""
    global _installed, _literals, _handler, _json_lines
    logging.setLogRecordFactory(_base_factory)
    _installed = False
    _json_lines = False
    with _literals_lock:
        _literals = ()
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None


class RedactingFilter(logging.Filter):
    """For handlers that may receive records made before `install_redaction` (belt and braces): those
    the record factory made are scrubbed already (scrubbing costs about 20 µs a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "ce_scrubbed", False):
            _scrub(record)
        return True


# -- formatting --------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, conn and user when known, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "conn", ""):
            entry["conn"] = record.conn
        if getattr(record, "user", ""):
            entry["user"] = record.user
        if hasattr(record, "outcome"):  # a line of `bot.events`
            entry["what"], entry["outcome"] = record.what, record.outcome
        if hasattr(record, "change"):  # a line of `bot.changes`
            entry["change"] = record.change
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_handler: logging.Handler | None = None
_json_lines = False  # CE_LOG_JSON, as `setup` was told


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def setup(environ: Mapping[str, str] | None = None, *, stream: TextIO | None = None) -> logging.Handler:
    """Configure the root logger from the environment (LOG_LEVEL, CE_LOG_JSON) with redaction on.

    Called once by `ce-bot` at start-up; calling it again replaces its handler."""
    global _handler, _json_lines
    if environ is None:
        from bot.config import environment

        environ = environment()
    install_redaction(environ.get(name) for name in SECRET_VARIABLES)

    level_name = (environ.get("LOG_LEVEL") or "INFO").strip().upper()
    level = logging.getLevelName(level_name)
    handler = logging.StreamHandler(stream or sys.stderr)
    _json_lines = _flag(environ.get("CE_LOG_JSON"))
    handler.setFormatter(JsonFormatter() if _json_lines else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    if not isinstance(level, int):
        logging.getLogger(__name__).warning("LOG_LEVEL %r is not a level name; using INFO", level_name)
    return handler


# -- who and what, for the records of a running bot ----------------------------------------------


def request_identity(body: Mapping[str, Any]) -> tuple[str, str]:
    """(connection ID, Slack user ID) of a Slack request, each "" when not there or not well-formed."""
    from bot.store.connections import is_connection_id

    user = body.get("user_id") or ""
    if not user and isinstance(body.get("user"), Mapping):
        user = body["user"].get("id") or ""
    if not user and isinstance(body.get("event"), Mapping):
        user = body["event"].get("user") or ""
    conn = ""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        conn = actions[0].get("value") or ""
    elif isinstance(body.get("view"), Mapping):
        conn = body["view"].get("private_metadata") or ""
    user = user if isinstance(user, str) and re.fullmatch(r"[UW][A-Z0-9]{2,20}", user) else ""
    return (conn if is_connection_id(conn) else ""), user


def describe_request(body: Mapping[str, Any]) -> str:
    """What a Slack request was, for its line: `command /ce connect`, `action ce_approve`,
    `view_submission ce_ids_modal`, `event app_home_opened`, `ssl_check`. The verb is what the person
    typed first: named only when it is a word (the rest of what they typed is never logged)."""
    if body.get("command"):
        command = f"command {_name(body['command'])}"
        words = str(body.get("text") or "").split(maxsplit=1)
        if not words:
            return command
        verb = words[0].lower()
        return f"{command} {verb if _VERB.fullmatch(verb) else '?'}"
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
        return f"action {_name(first.get('action_id'))}"
    if kind in ("view_submission", "view_closed") and isinstance(body.get("view"), Mapping):
        return f"{kind} {_name(body['view'].get('callback_id'))}"
    if kind == "event_callback" and isinstance(body.get("event"), Mapping):
        return f"event {_name(body['event'].get('type'))}"
    if body.get("ssl_check"):
        return "ssl_check"
    return _name(kind)


_VERB = re.compile(r"[a-z]{1,20}")
_NAME = re.compile(r"[\w./:-]{1,64}")


def _name(value: Any) -> str:
    return value if isinstance(value, str) and _NAME.fullmatch(value) else "?"


def identify(body: Any) -> None:
    """Name the connection and the user of the request being handled, when `scope_requests` opened a scope
    (or of the request a job runs, in a job's scope)."""
    scope = _scope.get()
    if scope is not None:
        scope["conn"], scope["user"] = request_identity(body if isinstance(body, Mapping) else {})


def outcome(text: str) -> None:
    """How the request or job in scope ended, when not as usual (an error, a repeat, not run): its line says so."""
    scope = _scope.get()
    if scope is not None:
        scope["outcome"] = text


# -- one line per Slack request handled and per job run --------------------------------------------

EVENTS = logging.getLogger("bot.events")


def event_lines_wanted(logger: logging.Logger = EVENTS) -> bool:
    """Whether each request, job or change gets its line (`logger`'s): JSON lines on, and INFO let
    through. Off, a line costs nothing; on, about 35 µs, paid on the ack paths."""
    return _json_lines and logger.isEnabledFor(logging.INFO)


def _event_line(what: str, how: str) -> None:
    EVENTS.info("%s: %s", what, how, extra={"what": what, "outcome": how})


def _answered(response) -> str:
    if response.status != 200:
        return f"status {response.status}"
    return "answered" if response.body else "acknowledged"


def scope_requests(app) -> None:
    """Records carry the connection and Slack user of the Slack request they belong to; with
    `event_lines_wanted()` (asked now, once), each request handled is also one line of `bot.events`.

    Bolt runs listeners after its middleware chain has returned, so a middleware cannot wrap them:
    `async_dispatch` opens a scope for the request (a context variable: each request is its own
    task) and the app's middleware (after signature verification, so a forged request names nobody)
    fills it in with `identify`."""
    dispatch = app.async_dispatch
    lines = event_lines_wanted()

    async def dispatch_in_scope(request):
        scope: dict = {}
        token = _scope.set(scope)
        try:
            response = await dispatch(request)
            if lines and scope:  # identified (or failed): verified, and one of ours
                _event_line(describe_request(request.body), scope.get("outcome") or _answered(response))
            return response
        finally:
            _scope.reset(token)

    app.async_dispatch = dispatch_in_scope


def instrument(runtime) -> None:
    """Records carry the connection of the job they belong to (a request's: `scope_requests`); with
    `event_lines_wanted()` (asked now, once), each job run is also one line of `bot.events`."""
    lines = event_lines_wanted()
    for worker in runtime.jobs.workers:
        worker.handlers = {kind: _in_job_scope(handler, lines) for kind, handler in worker.handlers.items()}


def _in_job_scope(handler, lines: bool):
    def run(job):
        scope = {"conn": job.conn_id}
        token = _scope.set(scope)
        try:
            handler(job)
        except Exception as error:
            if lines:
                _event_line(f"job {job.kind}", f"failed: {type(error).__name__}")
            raise
        else:
            if lines:
                _event_line(f"job {job.kind}", scope.get("outcome") or "done")
        finally:
            _scope.reset(token)

    run.__name__ = getattr(handler, "__name__", "handler")
    return run
