"""A local stand-in for Slack's Web API, good enough that the real bot cannot tell.

The bot talks to it with an ordinary `slack_sdk.WebClient(base_url=standin.api_url)`;
tests (and later the playground page) read what happened from its workspace model
and from the calls it recorded::

    with SlackStandIn() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        client.chat_postMessage(channel="C0CE", text="hello")
        assert slack.messages("C0CE")[0]["text"] == "hello"

What it serves, all on 127.0.0.1:

- `POST /api/<method>`: the Web API methods in `slack_web_api.METHODS`, form-encoded
  or JSON bodies, token from `Authorization: Bearer` or a `token` field.
- `POST /upload/v1/<token>`: the `upload_url` of `files.getUploadURLExternal`
  (raw bytes, as slack_sdk sends them, or a multipart form).
- `POST /commands/...`, `POST /actions/...`: response URLs issued by `new_response_url`.
- `GET /files-pri/<team>-<file>/...`: a file's bytes (`url_private`), with the bot token.
- `GET /_standin/snapshot`: the workspace as JSON.

It is a test and playground tool: the bot's production code never imports it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.playground.slack_web_api import METHODS, decode_args
from bot.playground.slack_workspace import SlackError, Workspace

T = TypeVar("T")

UPLOAD = "upload"  # the pseudo-method name recorded for a POST to an upload_url
RESPONSE_URL = "response_url"  # the pseudo-method name fail_next/set_latency use for response URLs


@dataclass(frozen=True)
class ApiCall:
    """One request the stand-in received: Web API method (or `upload`), decoded arguments, answer."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass(frozen=True)
class ResponseUrlPost:
    """One message the app sent to a response_url, with the context the URL was issued for."""

    url: str
    payload: dict[str, Any]
    at: float
    channel: str | None
    user: str | None
    status: int = 200
    outcome: dict[str, Any] = field(default_factory=dict)  # {"action": "replaced"|"deleted"|…, "ts": …}


class SlackStandIn:
    """Slack's Web API on a local port, with a workspace model, call log and fault injection."""

    def __init__(
        self,
        bot_token: str = "xoxb-standin",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0CE",
        app_id: str = "A0CE",
        bot_user_id: str = "U0CEBOT",
        bot_id: str = "B0CEBOT",
    ):
        self.bot_token = bot_token
        self.host = host
        self._port = port
        self.workspace = Workspace(team_id=team_id, app_id=app_id, bot_user_id=bot_user_id, bot_id=bot_id)
        self.lock = threading.RLock()  # one lock around the model and the logs
        self._changed = threading.Condition(self.lock)
        self._calls: list[ApiCall] = []
        self._responses: list[ResponseUrlPost] = []
        self._faults: list[dict[str, Any]] = []
        self._latency: dict[str | None, float] = {}
        self.internal_errors: list[str] = []  # tracebacks of stand-in bugs (answered as fatal_error)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer((self.host, self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        with self.lock:
            self.workspace.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/`: the workspace URL (auth.test `url`, permalinks, file URLs)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        """`http://127.0.0.1:PORT/api/`: what the bot gets as `SLACK_API_URL` / `WebClient(base_url=…)`."""
        return f"{self.base_url}api/"

    @property
    def trigger_ttl(self) -> float:
        return self.workspace.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        with self.lock:
            self.workspace.trigger_ttl = seconds

    # ------------------------------------------------------------ recording

    @property
    def calls(self) -> list[ApiCall]:
        with self.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        with self.lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self, method: str, predicate: Callable[[ApiCall], bool] = lambda call: True, timeout: float = 5.0
    ) -> ApiCall:
        """The first call to `method` matching `predicate`, waiting up to `timeout` seconds for it."""
        found = self._wait(lambda: next((c for c in self._calls if c.method == method and predicate(c)), None), timeout)
        if found is None:
            raise AssertionError(f"no {method} call matched within {timeout}s; recent calls:\n{self._recent()}")
        return found

    @property
    def responses(self) -> list[ResponseUrlPost]:
        with self.lock:
            return list(self._responses)

    def wait_for_response(
        self, predicate: Callable[[ResponseUrlPost], bool] = lambda post: True, timeout: float = 5.0
    ) -> ResponseUrlPost:
        """The first response_url post matching `predicate`, waiting up to `timeout` seconds."""
        found = self._wait(lambda: next((r for r in self._responses if predicate(r)), None), timeout)
        if found is None:
            posts = "\n".join(f"  {r.url} {json.dumps(r.payload)[:200]}" for r in self._responses[-10:]) or "  (none)"
            raise AssertionError(f"no response_url post matched within {timeout}s; posts:\n{posts}")
        return found

    def wait_until(self, condition: Callable[[SlackStandIn], T], timeout: float = 5.0, message: str = "") -> T:
        """Wait until `condition(self)` is truthy (checked on every change and every 50 ms); return it."""
        found = self._wait(lambda: condition(self), timeout)
        if not found:
            raise AssertionError(f"{message or 'condition'} not met within {timeout}s; recent calls:\n{self._recent()}")
        return found

    def _wait(self, probe: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = probe()
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._changed.wait(min(remaining, 0.05))

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """Hold the lock for a change, then wake whoever waits for one (even if the change failed)."""
        with self._changed:
            try:
                yield
            finally:
                self._changed.notify_all()

    def _recent(self, n: int = 20) -> str:
        lines = []
        for c in self._calls[-n:]:
            args = json.dumps(c.args, default=str)
            answer = "ok" if c.ok else c.response.get("error", c.status)
            lines.append(f"  {c.method} {args[:300]} -> {answer}")
        return "\n".join(lines) or "  (none)"

    def reset(self, *, workspace: bool = False) -> None:
        """Forget recorded calls and posts, pending faults and latency.

        With `workspace=True` also empty the workspace (messages, views, files, triggers),
        keeping its users, channels and user groups."""
        with self._changing():
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
            self._latency.clear()
            self.internal_errors.clear()
            if workspace:
                self.workspace.clear(keep_directory=True)

    # ------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls to `method` (`"*"`: any) with `error` and HTTP `status`.

        A 429 carries `Retry-After: retry_after` like Slack's rate limiting. `method` may also be
        `"upload"` (the upload URL) or `"response_url"`."""
        with self.lock:
            self._faults.append(
                {"method": method, "error": error, "status": status, "retry_after": int(retry_after), "times": times}
            )

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay every answer (or only `method`'s) by `seconds`; 0 removes the delay."""
        with self.lock:
            if seconds:
                self._latency[method] = seconds
            else:
                self._latency.pop(method, None)

    def _take_fault(self, method: str) -> dict[str, Any] | None:
        for fault in self._faults:
            if fault["method"] in (method, "*") and fault["times"] > 0:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _pause(self, method: str) -> None:
        with self.lock:
            delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            time.sleep(delay)

    # --------------------------------------------- issued by "Slack" to the app

    def new_trigger_id(self, user_id: str | None = None, *, age: float = 0.0) -> str:
        """A trigger_id as Slack puts in interaction payloads: single use, valid `trigger_ttl` (3) s.

        `age` issues it that many seconds in the past (an expired trigger: `age=4`)."""
        with self.lock:
            return self.workspace.issue_trigger(user_id, age=age)

    def new_response_url(
        self,
        channel: str,
        user: str,
        *,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url served here; with `message_ts` it can replace/delete that message."""
        with self.lock:
            return self.base_url + self.workspace.issue_response_url(
                channel, user, message_ts=message_ts, thread_ts=thread_ts, is_ephemeral=is_ephemeral
            )

    def apply_response(self, response_url: str, payload: dict | str) -> dict:
        """Apply a message to a response_url without recording it (a slash command's ack body)."""
        with self._changing():
            return self.workspace.respond(self._url_key(response_url), payload)

    def apply_view_ack(self, user_id: str, view_id: str, response: dict | None) -> None:
        """Do what Slack does with the app's answer to a view_submission (close, errors, update…)."""
        with self._changing():
            self.workspace.apply_view_ack(user_id, view_id, response)

    def close_view(self, user_id: str, view_id: str) -> bool:
        """The user closed a modal; returns whether the whole stack was cleared."""
        with self._changing():
            return self.workspace.close_view(user_id, view_id)

    def remember_view_state(self, view_id: str, state: dict) -> None:
        with self.lock:
            self.workspace.remember_state(view_id, state)

    def locate(self, ts: str) -> dict | None:
        """Where the message with this ts is: {channel, is_ephemeral, user?, thread_ts}."""
        with self.lock:
            return copy.deepcopy(self.workspace.locate(ts))

    def _url_key(self, url: str) -> str:
        path = urlsplit(url).path
        return path.lstrip("/")

    # -------------------------------------------------------------- directory

    def add_user(self, user_id: str, name: str | None = None, **profile: Any) -> dict:
        """Declare a user (`real_name`, `email`, `is_admin`, `tz`); unknown U… IDs are made up on sight."""
        with self.lock:
            return copy.deepcopy(self.workspace.add_user(user_id, name, **profile))

    def add_channel(
        self, channel_id: str, name: str | None = None, *, is_private: bool = False, bot_is_member: bool = True
    ) -> dict:
        """Declare a channel; unknown C…/G… IDs are created on first use with the bot as a member."""
        with self.lock:
            record = self.workspace.add_channel(channel_id, name, is_private=is_private, bot_is_member=bot_is_member)
            return copy.deepcopy(record["info"])

    def set_usergroup(self, group_id: str, users: list[str], *, handle: str | None = None) -> dict:
        """Define (or redefine) a user group for `usergroups.users.list`."""
        with self.lock:
            return copy.deepcopy(self.workspace.set_usergroup(group_id, users, handle=handle))

    def post_as_user(self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None) -> dict:
        """A person writes in a channel or thread (for the playground and tests)."""
        with self._changing():
            _, message = self.workspace.post_message(channel, text=text, thread_ts=thread_ts, user_id=user_id)
            return copy.deepcopy(message)

    def user(self, user_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.workspace.user(user_id))

    def channel(self, channel_id: str) -> dict:
        """The channel object as `conversations.info` returns it."""
        with self.lock:
            return copy.deepcopy(self.workspace.channel(channel_id)["info"])

    # ----------------------------------------------------------- reading it

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict]:
        """Without `thread_ts`: what the channel shows (top-level and broadcast messages).

        With `thread_ts`: the replies in that thread, without the parent. Oldest first."""
        with self.lock:
            if thread_ts is None:
                return copy.deepcopy(self.workspace.history(channel))
            return copy.deepcopy([m for m in self.workspace.replies(channel, thread_ts) if m["ts"] != thread_ts])

    def thread(self, channel: str, ts: str) -> list[dict]:
        """The parent message and its replies, oldest first (like `conversations.replies`)."""
        with self.lock:
            return copy.deepcopy(self.workspace.replies(channel, ts))

    def message(self, channel: str, ts: str) -> dict | None:
        with self.lock:
            try:
                return copy.deepcopy(self.workspace.message(channel, ts))
            except SlackError:
                return None

    def ephemerals(self, user: str) -> list[dict]:
        """Ephemeral messages shown to `user` (each with its `channel`), oldest first."""
        with self.lock:
            return copy.deepcopy(self.workspace.ephemerals.get(user, []))

    def open_views(self, user: str) -> list[dict]:
        """The user's open modal stack, root first (the visible one is last)."""
        with self.lock:
            return copy.deepcopy(self.workspace.views.get(user, []))

    def view(self, view_id: str) -> dict | None:
        """An open modal or a published Home by id."""
        with self.lock:
            try:
                return copy.deepcopy(self.workspace.find_view(view_id)[1])
            except SlackError:
                return None

    def view_errors(self, view_id: str) -> dict:
        """The errors the app last answered with (`response_action: errors`) for an open modal."""
        with self.lock:
            return copy.deepcopy(self.workspace.view_errors.get(view_id, {}))

    def home(self, user: str) -> dict | None:
        with self.lock:
            return copy.deepcopy(self.workspace.homes.get(user))

    def files(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.workspace.files.values()))

    def file_bytes(self, file_id: str) -> bytes:
        with self.lock:
            return self.workspace.file_data[file_id]

    def snapshot(self) -> dict:
        """The whole workspace as JSON-able data, for a UI."""
        with self.lock:
            return self.workspace.snapshot()

    # --------------------------------------------------------------- serving

    def _handle(self, request: _Handler, verb: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = parts.path
        if path.startswith("/api/"):
            status, headers, payload = self._api(path[len("/api/"):], request.headers, parts.query, body)
        elif path.startswith("/upload/v1/") and verb == "POST":
            status, headers, payload = self._upload(path[len("/upload/v1/"):], request.headers, body)
        elif path.startswith(("/commands/", "/actions/")) and verb == "POST":
            status, headers, payload = self._response_url(path.lstrip("/"), request.headers, body)
        elif path.startswith("/files-pri/") and verb == "GET":
            status, headers, payload = self._download(path, request.headers)
        elif path == "/_standin/snapshot":
            status, headers, payload = 200, {}, self.snapshot()
        else:
            status, headers, payload = 404, {}, {"ok": False, "error": "not_found"}
        if isinstance(payload, (bytes, str)):
            data = payload.encode() if isinstance(payload, str) else payload
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _api(self, method: str, headers: Any, query: str, body: bytes) -> tuple[int, dict, Any]:
        self._pause(method)
        try:
            args = _parse_body(headers.get("Content-Type"), body)
            args = {**dict(parse_qsl(query, keep_blank_values=True)), **args}
        except ValueError:
            args, parse_error = {}, SlackError("invalid_form_data")
        else:
            parse_error = None
        auth = headers.get("Authorization") or ""
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        token = token or args.pop("token", None)
        args.pop("token", None)
        status, extra = 200, {"X-OAuth-Scopes": SCOPES}
        with self._changing():
            fault = self._take_fault(method)
            try:
                if fault is not None:
                    status, payload = fault["status"], {"ok": False, "error": fault["error"]}
                    if fault["status"] == 429:
                        extra["Retry-After"] = str(fault["retry_after"])
                elif method not in METHODS:
                    payload = {"ok": False, "error": "unknown_method", "req_method": method}
                elif not token:
                    payload = {"ok": False, "error": "not_authed"}
                elif token != self.bot_token:
                    payload = {"ok": False, "error": "invalid_auth"}
                elif parse_error is not None:
                    raise parse_error
                else:
                    args = decode_args(args)
                    payload = METHODS[method](self.workspace, args)
            except SlackError as refusal:
                status, payload = refusal.status, refusal.body()
            except Exception:  # a stand-in bug: answer like Slack's fatal_error, keep the traceback
                self.internal_errors.append(traceback.format_exc())
                status, payload = 500, {"ok": False, "error": "fatal_error"}
            self._calls.append(ApiCall(method, args, time.time(), status, payload))
        return status, extra, payload

    def _upload(self, token: str, headers: Any, body: bytes) -> tuple[int, dict, Any]:
        self._pause(UPLOAD)
        content_type = headers.get("Content-Type") or ""
        data = _multipart_file(content_type, body) if content_type.startswith("multipart/form-data") else body
        with self._changing():
            fault = self._take_fault(UPLOAD)
            args: dict[str, Any] = {"token": token, "length": len(data), "content_type": content_type}
            if fault is not None:
                status, payload = fault["status"], {"ok": False, "error": fault["error"]}
            else:
                try:
                    args["file_id"] = self.workspace.receive_upload(token, data)
                    status, payload = 200, {"ok": True}
                except SlackError as refusal:
                    status, payload = refusal.status, refusal.body()
            self._calls.append(ApiCall(UPLOAD, args, time.time(), status, payload))
        return status, {}, (f"OK - {len(data)}" if status == 200 else json.dumps(payload))

    def _response_url(self, key: str, headers: Any, body: bytes) -> tuple[int, dict, Any]:
        self._pause(RESPONSE_URL)
        try:
            payload = _parse_body(headers.get("Content-Type"), body)
            if isinstance(payload.get("payload"), str):
                payload = json.loads(payload["payload"])
        except ValueError:
            payload = {}
        with self._changing():
            context = self.workspace.response_urls.get(key) or {}
            fault = self._take_fault(RESPONSE_URL)
            outcome: dict[str, Any] = {}
            if fault is not None:
                status, answer = fault["status"], {"ok": False, "error": fault["error"]}
            else:
                try:
                    outcome = self.workspace.respond(key, payload)
                    status, answer = 200, {"ok": True}
                except SlackError as refusal:
                    status, answer = refusal.status, refusal.body()
            self._responses.append(
                ResponseUrlPost(
                    url=self.base_url + key,
                    payload=payload,
                    at=time.time(),
                    channel=context.get("channel"),
                    user=context.get("user"),
                    status=status,
                    outcome=outcome,
                )
            )
        return status, {}, answer

    def _download(self, path: str, headers: Any) -> tuple[int, dict, Any]:
        auth = headers.get("Authorization") or ""
        if auth != f"Bearer {self.bot_token}":
            return 403, {}, {"ok": False, "error": "invalid_auth"}
        segment = path[len("/files-pri/"):].split("/", 1)[0]
        file_id = segment.split("-", 1)[-1]
        with self.lock:
            data = self.workspace.file_data.get(file_id)
            mimetype = self.workspace.files.get(file_id, {}).get("mimetype", "application/octet-stream")
        if data is None:
            return 404, {}, {"ok": False, "error": "file_not_found"}
        return 200, {"Content-Type": mimetype}, data


# What auth.test's X-OAuth-Scopes says the bot was granted (Bolt reads it into the context).
SCOPES = ",".join(
    [
        "commands", "chat:write", "files:write", "files:read", "users:read", "usergroups:read",
        "channels:read", "channels:join", "groups:read", "im:write",
    ]
)


class _Handler(BaseHTTPRequestHandler):
    standin: SlackStandIn
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (flushed after each request), as a real server's do

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.standin._handle(self, "POST")

    def do_GET(self) -> None:  # noqa: N802
        self.standin._handle(self, "GET")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the call log instead
        pass


def _parse_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """Form, JSON or multipart body → dict of arguments (ValueError if malformed)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json" or (not kind and body.lstrip()[:1] == b"{"):
        parsed = json.loads(body)
        if not isinstance(parsed, dict):
            raise ValueError("a JSON body must be an object")
        return parsed
    if kind == "multipart/form-data":
        return _multipart_fields(content_type or "", body)
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))


def _multipart(content_type: str, body: bytes) -> list[Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    return list(message.iter_parts())


def _multipart_fields(content_type: str, body: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for part in _multipart(content_type, body):
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        fields[name] = data if part.get_filename() else data.decode("utf-8")
    return fields


def _multipart_file(content_type: str, body: bytes) -> bytes:
    """The bytes of the (first) file part of a multipart upload."""
    try:
        parts = _multipart(content_type, body)
    except ValueError:
        return body
    for part in parts:
        if part.get_filename() or part.get_param("name", header="content-disposition") in ("file", "filename"):
            return part.get_payload(decode=True) or b""
    return body
