"""The playground page and the small JSON API its script calls (no build step).

`GET /` serves `web/index.html`; `/static/…` its script and style sheet. The
API plays the part of Slack's own client: it shows a person what the stand-in
holds for them and turns what they do into the requests Slack would send the
bot (`SlackSender`). The tests drive the playground through the same API
(`bot/playground/browser_client.py`).

| endpoint | what it does |
|---|---|
| `GET /api/bootstrap` | the team, the channel, the people (requester, approver, bystander) |
| `GET /api/state?user=U…&etag=…&wait=20` | what `user` sees (channel, threads, their ephemerals, modals, Home, files, the sandbox), long-polled: answers when it differs from `etag` or after `wait` s |
| `POST /api/command` | `{user, text, thread_ts?}`: `/ce …` becomes a signed slash command; other text is a message |
| `POST /api/action` | `{user, ts or view_id, block_id, action_id, option?, values?}`: a click (`block_actions`) |
| `POST /api/view/submit` | `{user, view_id, values}`: `view_submission`; answers with the field errors, if any |
| `POST /api/view/close` | `{user, view_id}`: the modal closes (`view_closed` if the app asked) |
| `POST /api/home/open` | `{user}`: the Home tab opens (`app_home_opened`) |
| `GET /files/{id}/{name}` | an uploaded file's bytes, as the bot uploaded them |
| `GET /api/sandbox`, `POST /api/sandbox/{deploy,break,restore,delete-stack}` | the sandbox AWS panel |

Every POST takes JSON (so another site cannot post here without CORS) and
requests must name this machine in `Host`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bot.playground.sandbox_console import SandboxActionError
from bot.playground.slack_sender import Delivery, PayloadError
from bot.slack.views.text import escape

if TYPE_CHECKING:
    from bot.playground.main import Playground

WEB = Path(__file__).with_name("web")
STATIC = {"playground.js": "text/javascript", "playground.css": "text/css"}
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
MAX_WAIT = 25.0
NO_STORE = {"Cache-Control": "no-store"}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status, headers=NO_STORE)


def _delivery(delivery: Delivery | None) -> dict[str, Any]:
    if delivery is None:
        return {"sent": False}
    return {"sent": True, "status": delivery.status, "ms": round(delivery.elapsed * 1000)}


def _refused(delivery: Delivery) -> str:
    """What Slack's client says when the app did not answer 200."""
    if delivery.status == 0:
        return "the app did not answer (is it running?)"
    if delivery.status == 401:
        return "the app refused the request's signature (http_401)"
    return f"the app answered with an error (http_{delivery.status})"


class PageApi:
    def __init__(self, playground: Playground):
        self.pg = playground

    # ----------------------------------------------------------------- helpers

    def person(self, user_id: Any) -> str:
        if not isinstance(user_id, str) or self.pg.person(user_id) is None:
            raise ApiError(400, "pick one of the playground's people")
        return user_id

    def version(self) -> tuple[int, int, int]:
        standin = self.pg.standin
        return (len(standin.calls), len(standin.responses), self.pg.version)

    def bootstrap(self) -> dict[str, Any]:
        standin = self.pg.standin
        team = standin.workspace.team
        return {
            "team": {"id": team["id"], "name": team["name"]},
            "bot": {"user_id": standin.workspace.bot["user_id"], "name": standin.workspace.bot["name"]},
            "channel": {"id": self.pg.channel, "name": standin.channel(self.pg.channel).get("name", "")},
            "people": [
                {"id": p.user_id, "name": p.name, "real_name": p.real_name, "role": p.role, "title": p.title}
                for p in self.pg.people
            ],
            "approvers": [p.user_id for p in self.pg.people if p.role == "approver"],
            "default_region": self.pg.region,
        }

    def state(self, user: str) -> dict[str, Any]:
        snapshot = self.pg.standin.snapshot()
        channels = {c["info"]["id"]: c for c in snapshot["channels"]}
        channel = channels.get(self.pg.channel, {"messages": []})
        dm = channels.get("D" + user[1:], {"messages": []})
        views = snapshot["views"].get(user, [])
        state = {
            "user": user,
            "messages": [_shown_message(m) for m in channel["messages"]],
            "dm_messages": [_shown_message(m) for m in dm["messages"]],
            "ephemerals": [_shown_message(m) for m in snapshot["ephemerals"].get(user, [])],
            "views": views,
            "view_errors": {v["id"]: snapshot["view_errors"][v["id"]] for v in views if v["id"] in snapshot["view_errors"]},
            "home": snapshot["homes"].get(user),
            "files": [_shown_file(f) for f in snapshot["files"]],
            "users": {
                u["id"]: {"name": u["name"], "real_name": u.get("real_name") or u["name"], "is_bot": u.get("is_bot", False)}
                for u in snapshot["users"]
            },
            "usergroups": {g["id"]: g.get("handle", g["id"]) for g in snapshot["usergroups"]},
            "sandbox": self.pg.console.public_state(),
        }
        state["etag"] = hashlib.sha1(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return state

    # ----------------------------------------------------------------- actions

    def command(self, body: dict) -> dict[str, Any]:
        user = self.person(body.get("user"))
        text = str(body.get("text") or "").strip()
        if not text:
            raise ApiError(400, "type something first")
        thread_ts = body.get("thread_ts") or None
        if not text.startswith("/"):
            # Slack's client escapes what a person types, so `<!channel>` or `<b>` stays text.
            message = self.pg.standin.post_as_user(self.pg.channel, user, escape(text), thread_ts=thread_ts)
            self.pg.bump()
            return {"ok": True, "kind": "message", "ts": message["ts"]}
        command, _, rest = text.partition(" ")
        if command != "/ce":
            return {"ok": False, "kind": "command", "error": f"{command} is not a valid command. Try /ce help."}
        delivery = self.pg.sender.command(user, command, rest.strip(), channel_id=self.pg.channel)
        answer = {"ok": delivery.ok, "kind": "command", **_delivery(delivery)}
        if not delivery.ok:
            answer["error"] = f"{command} failed: {_refused(delivery)}"
        return answer

    def action(self, body: dict) -> dict[str, Any]:
        user = self.person(body.get("user"))
        block_id, action_id = str(body.get("block_id") or ""), str(body.get("action_id") or "")
        option = body.get("option")
        option = None if option is None else str(option)
        if body.get("view_id"):
            values = body.get("values") or {}
            if not isinstance(values, dict):
                raise ApiError(400, "values must be an object")
            delivery = self.pg.sender.click_view(
                user, str(body["view_id"]), block_id=block_id, action_id=action_id, option=option, typed=values
            )
        elif body.get("ts"):
            delivery = self.pg.sender.click_message(
                user, str(body["ts"]), block_id=block_id, action_id=action_id, option=option
            )
        else:
            raise ApiError(400, "say where the click happened: ts or view_id")
        answer = {"ok": delivery.ok, **_delivery(delivery)}
        if not delivery.ok:
            answer["error"] = _refused(delivery)
        return answer

    def submit(self, body: dict) -> dict[str, Any]:
        user = self.person(body.get("user"))
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise ApiError(400, "values must be an object")
        delivery, errors = self.pg.sender.submit(user, str(body.get("view_id") or ""), values)
        self.pg.bump()
        answer: dict[str, Any] = {"ok": delivery is not None and delivery.ok and not errors, "errors": errors}
        answer.update(_delivery(delivery))
        if delivery is not None and not delivery.ok:
            answer["error"] = "We had some trouble connecting: " + _refused(delivery)
        return answer

    def close(self, body: dict) -> dict[str, Any]:
        user = self.person(body.get("user"))
        delivery = self.pg.sender.close(user, str(body.get("view_id") or ""))
        self.pg.bump()
        return {"ok": True, **_delivery(delivery)}

    def open_home(self, body: dict) -> dict[str, Any]:
        user = self.person(body.get("user"))
        delivery = self.pg.sender.home_opened(user)
        # An app that does not listen to app_home_opened answers 404 to Bolt's dispatch: not an error here.
        return {"ok": True, **_delivery(delivery)}

    def file(self, file_id: str) -> tuple[bytes, dict]:
        files = {f["id"]: f for f in self.pg.standin.files()}
        if file_id not in files:
            raise ApiError(404, "no such file")
        return self.pg.standin.file_bytes(file_id), files[file_id]

    # ----------------------------------------------------------------- sandbox

    def deploy(self, body: dict) -> dict[str, Any]:
        data, info = self.file(str(body.get("file_id") or ""))
        region = str(body.get("region") or "") or None
        return {"ok": True, "sandbox": self.pg.console.deploy(data, file_id=info["id"], filename=info["name"], region=region)}

    def break_(self, body: dict) -> dict[str, Any]:
        what = body.get("what")
        if what == "trusted_access":
            return {"ok": True, "sandbox": self.pg.console.disable_trusted_access()}
        if what == "role":
            return {"ok": True, "sandbox": self.pg.console.delete_management_role()}
        raise ApiError(400, "break what? trusted_access or role")


def _host_name(header: str) -> str:
    """`localhost:3000` → `localhost`; `[::1]:3000` → `[::1]`."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def _shown_message(message: dict) -> dict:
    shown = dict(message)
    if shown.get("files"):
        shown["files"] = [_shown_file(f) for f in shown["files"]]
    return shown


def _shown_file(file: dict) -> dict:
    keys = ("id", "name", "title", "mimetype", "filetype", "pretty_type", "size", "created")
    shown = {k: file.get(k) for k in keys}
    shown["download"] = f"/files/{quote(file['id'])}/{quote(file.get('name') or 'file')}"
    return shown


def create_page_app(playground: Playground) -> Starlette:
    api = PageApi(playground)

    def local(request: Request) -> bool:
        return _host_name(request.headers.get("host") or "") in LOCAL_HOSTS

    async def call(request: Request, handler, *, needs_body: bool = True) -> Response:
        if not local(request):
            return _error(403, "the playground answers on localhost only")
        body: dict = {}
        if needs_body:
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return _error(415, "send JSON")
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return _error(400, "the body is not JSON")
            if not isinstance(body, dict):
                return _error(400, "the body must be a JSON object")
        try:
            result = await run_in_threadpool(handler, body) if needs_body else await run_in_threadpool(handler)
        except ApiError as error:
            return _error(error.status, error.message)
        except PayloadError as error:
            return _error(409, str(error))
        except SandboxActionError as error:
            return _error(409, str(error))
        return JSONResponse(result, headers=NO_STORE)

    async def index(request: Request) -> Response:
        if not local(request):
            return _error(403, "the playground answers on localhost only")
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8", headers=NO_STORE)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _error(404, "not found")
        return FileResponse(WEB / name, media_type=STATIC[name] + "; charset=utf-8", headers=NO_STORE)

    async def bootstrap(request: Request) -> Response:
        return await call(request, api.bootstrap, needs_body=False)

    async def state(request: Request) -> Response:
        if not local(request):
            return _error(403, "the playground answers on localhost only")
        try:
            user = api.person(request.query_params.get("user"))
            wait = min(max(float(request.query_params.get("wait") or 0), 0.0), MAX_WAIT)
        except (ApiError, ValueError):
            return _error(400, "pick one of the playground's people")
        etag = request.query_params.get("etag") or ""
        deadline = time.monotonic() + wait
        while True:
            seen = api.version()
            current = await run_in_threadpool(api.state, user)
            if current["etag"] != etag or time.monotonic() >= deadline:
                return JSONResponse(current, headers=NO_STORE)
            while api.version() == seen and time.monotonic() < deadline:
                if playground.closing:
                    return JSONResponse(current, headers=NO_STORE)
                await asyncio.sleep(0.1)

    async def sandbox(request: Request) -> Response:
        return await call(request, playground.console.public_state, needs_body=False)

    def post(handler):
        async def endpoint(request: Request) -> Response:
            return await call(request, handler)

        return endpoint

    async def download(request: Request) -> Response:
        if not local(request):
            return _error(403, "the playground answers on localhost only")
        try:
            data, info = await run_in_threadpool(api.file, request.path_params["file_id"])
        except ApiError as error:
            return _error(error.status, error.message)
        name = info.get("name") or "file"
        headers = {
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            **NO_STORE,
        }
        return Response(data, media_type=info.get("mimetype") or "application/octet-stream", headers=headers)

    console = playground.console
    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
            Route("/api/bootstrap", bootstrap, methods=["GET"]),
            Route("/api/state", state, methods=["GET"]),
            Route("/api/command", post(api.command), methods=["POST"]),
            Route("/api/action", post(api.action), methods=["POST"]),
            Route("/api/view/submit", post(api.submit), methods=["POST"]),
            Route("/api/view/close", post(api.close), methods=["POST"]),
            Route("/api/home/open", post(api.open_home), methods=["POST"]),
            Route("/files/{file_id}/{name}", download, methods=["GET"]),
            Route("/api/sandbox", sandbox, methods=["GET"]),
            Route("/api/sandbox/deploy", post(api.deploy), methods=["POST"]),
            Route("/api/sandbox/break", post(api.break_), methods=["POST"]),
            Route("/api/sandbox/restore", post(lambda body: {"ok": True, "sandbox": console.restore()}), methods=["POST"]),
            Route(
                "/api/sandbox/delete-stack",
                post(lambda body: {"ok": True, "sandbox": console.delete_stack()}),
                methods=["POST"],
            ),
        ]
    )
