"""The playground page's HTTP API as Python calls: what the page's script does, for tests and scripts.

    client = PlaygroundClient("http://127.0.0.1:3000")
    alex = client.as_user("U0PGALEX")
    alex.command("/ce connect aws-org")
    parent = alex.wait_for(lambda s: top_level(s, text="Connecting an AWS Organization"))
    alex.click(parent_of_thread_message, "ce_enter_ids")

Standard library only. Every call goes through the same endpoints as the
page (`bot/playground/web_app.py`); nothing reaches into the playground.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class PlaygroundApiError(AssertionError):
    def __init__(self, status: int, body: Any):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class PlaygroundClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # ------------------------------------------------------------- transport

    def request(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
                if answer.headers.get_content_type() == "application/json":
                    return json.loads(raw)
                return raw
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise PlaygroundApiError(error.code, parsed) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict) -> Any:
        return self.request("POST", path, body)

    # --------------------------------------------------------------- reading

    def bootstrap(self) -> dict:
        return self.get("/api/bootstrap")

    def state(self, user: str, *, etag: str = "", wait: float = 0) -> dict:
        return self.get(f"/api/state?user={user}&etag={etag}&wait={wait}")

    def download(self, file: dict) -> bytes:
        """A file's bytes through the link the page shows (`file["download"]`)."""
        return self.get(file["download"])

    def sandbox(self) -> dict:
        return self.get("/api/sandbox")

    def as_user(self, user: str) -> Person:
        return Person(self, user)

    # ----------------------------------------------------------------- sandbox

    def deploy(self, file_id: str, region: str | None = None) -> dict:
        body: dict[str, Any] = {"file_id": file_id}
        if region:
            body["region"] = region
        return self.post("/api/sandbox/deploy", body)["sandbox"]

    def break_trusted_access(self) -> dict:
        return self.post("/api/sandbox/break", {"what": "trusted_access"})["sandbox"]

    def delete_role(self) -> dict:
        return self.post("/api/sandbox/break", {"what": "role"})["sandbox"]

    def restore(self) -> dict:
        return self.post("/api/sandbox/restore", {})["sandbox"]


class Person:
    """One of the playground's people, acting through the page's API."""

    def __init__(self, client: PlaygroundClient, user: str):
        self.client = client
        self.user = user

    def state(self) -> dict:
        return self.client.state(self.user)

    def wait_for(self, probe: Callable[[dict], T], timeout: float = 15.0, message: str = "") -> T:
        """Long-poll this person's view until `probe(state)` is truthy; return it."""
        deadline = time.monotonic() + timeout
        state = self.client.state(self.user)
        while True:
            found = probe(state)
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{message or 'condition'} not met within {timeout}s for {self.user}:\n{_summary(state)}")
            state = self.client.state(self.user, etag=state["etag"], wait=min(remaining, 5.0))

    def command(self, text: str, *, thread_ts: str | None = None) -> dict:
        body: dict[str, Any] = {"user": self.user, "text": text}
        if thread_ts:
            body["thread_ts"] = thread_ts
        return self.client.post("/api/command", body)

    def click(self, message: dict, action_id: str, *, option: str | None = None) -> dict:
        block_id = block_of(message.get("blocks") or [], action_id)
        body: dict[str, Any] = {"user": self.user, "ts": message["ts"], "block_id": block_id, "action_id": action_id}
        if option is not None:
            body["option"] = option
        return self.client.post("/api/action", body)

    def submit(self, view: dict, values: dict[str, Any]) -> dict:
        """Submit a modal; `values` maps an input's label or block_id to text or an option value."""
        return self.client.post(
            "/api/view/submit", {"user": self.user, "view_id": view["id"], "values": by_block_id(view, values)}
        )

    def close(self, view: dict) -> dict:
        return self.client.post("/api/view/close", {"user": self.user, "view_id": view["id"]})

    def open_home(self) -> dict:
        return self.client.post("/api/home/open", {"user": self.user})


# ------------------------------------------------------------- reading a state


def top_level(state: dict) -> list[dict]:
    """The messages the channel shows (not thread replies), oldest first."""
    return [m for m in state["messages"] if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"]


def thread(state: dict, parent_ts: str) -> list[dict]:
    """A thread's replies (not the parent) and this person's ephemerals in it, oldest first."""
    replies = [m for m in state["messages"] if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts]
    mine = [m for m in state["ephemerals"] if m.get("thread_ts") == parent_ts]
    return sorted(replies + mine, key=lambda m: float(m["ts"]))


def text_of(message: dict) -> str:
    """Every piece of text in a message: its `text`, its blocks' mrkdwn, button labels, file names."""
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        parts.extend(_block_texts(block))
    for file in message.get("files") or []:
        parts.append(file.get("name") or "")
    return "\n".join(p for p in parts if p)


def _block_texts(block: dict) -> list[str]:
    texts = []
    for key in ("text", "label", "hint"):
        value = block.get(key)
        if isinstance(value, dict):
            texts.append(value.get("text") or "")
    for field in block.get("fields") or []:
        texts.append(field.get("text") or "")
    for element in block.get("elements") or []:
        if isinstance(element.get("text"), dict):
            texts.append(element["text"].get("text") or "")
        elif isinstance(element.get("text"), str):
            texts.append(element["text"])
    accessory = block.get("accessory")
    if isinstance(accessory, dict) and isinstance(accessory.get("text"), dict):
        texts.append(accessory["text"].get("text") or "")
    return texts


def find(messages: list[dict], contains: str) -> dict | None:
    """The latest message whose text contains `contains`."""
    return next((m for m in reversed(messages) if contains in text_of(m)), None)


def has_action(message: dict, action_id: str) -> bool:
    try:
        block_of(message.get("blocks") or [], action_id)
    except LookupError:
        return False
    return True


def block_of(blocks: list[dict], action_id: str) -> str:
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        if any(isinstance(e, dict) and e.get("action_id") == action_id for e in elements):
            return block["block_id"]
    raise LookupError(f"no element {action_id!r}")


def top_view(state: dict) -> dict | None:
    return state["views"][-1] if state["views"] else None


def by_block_id(view: dict, values: dict[str, Any]) -> dict[str, Any]:
    """Map labels (case-insensitive) or block_ids to block_ids of the view's inputs."""
    inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input"]
    mapped: dict[str, Any] = {}
    for key, value in values.items():
        block = next(
            (
                b
                for b in inputs
                if b.get("block_id") == key or ((b.get("label") or {}).get("text") or "").strip().lower() == key.strip().lower()
            ),
            None,
        )
        if block is None:
            labels = [((b.get("label") or {}).get("text"), b.get("block_id")) for b in inputs]
            raise LookupError(f"no input {key!r}; inputs (label, block_id): {labels}")
        mapped[block["block_id"]] = value
    return mapped


def _summary(state: dict) -> str:
    lines = []
    for m in state["messages"][-12:]:
        lines.append(f"  {m['ts']} {'  ↳ ' if m.get('thread_ts') not in (None, m['ts']) else ''}{(m.get('text') or '')[:140]}")
    for m in state["ephemerals"][-5:]:
        lines.append(f"  (only you) {(m.get('text') or '')[:140]}")
    for v in state["views"]:
        lines.append(f"  modal {v['id']} {(v.get('title') or {}).get('text')} errors={state['view_errors'].get(v['id'])}")
    return "\n".join(lines) or "  (nothing)"
