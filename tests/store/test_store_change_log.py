"""One INFO line of `bot.changes` per state change (a connection created, each transition, each
Status toggle): its connection, organization, actor, event and from -> to; with CE_LOG_JSON, a JSON
line whose `conn` and `user` are the connection and the Slack user who did it. Nothing for a refusal,
and nothing at all (not even a record) without CE_LOG_JSON, or when INFO is off for that logger."""

from __future__ import annotations

import io
import json
import logging

import pytest
from store_testkit import APPROVER, OTHER, REQUESTER, TTL, connection_in, fields_for

from bot import logs
from bot.connection.model import OrgStatus, State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.store.ack_redis import AckRedis
from bot.store.ack_store import AckStore
from bot.store.change_log import CHANGES
from tests.support.event_loop import run


@pytest.fixture
def json_log():
    """`logs.setup` as `ce-bot` runs it with CE_LOG_JSON, into a buffer; the JSON lines of bot.changes."""
    buffer, root = io.StringIO(), logging.getLogger()
    level = root.level

    def lines() -> list[dict]:
        entries = map(json.loads, buffer.getvalue().splitlines())
        return [e for e in entries if e["logger"] == CHANGES.name]

    logs.setup({"CE_LOG_JSON": "true", "LOG_LEVEL": "INFO"}, stream=buffer)
    yield lines
    root.setLevel(level)
    logs.uninstall_redaction()


@pytest.fixture
def records():
    """Every record bot.changes makes, with its extra fields."""
    made: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = made.append
    CHANGES.addHandler(handler)
    yield made
    CHANGES.removeHandler(handler)


def test_each_change_is_one_json_line_naming_the_connection_and_the_user(store, json_log):
    conn = store.create(requester=REQUESTER, channel="CCHANNEL", ttl=TTL)
    org = fields_for(Event.SUBMIT_IDS)["org_id"]
    assert store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields={"org_id": org, "root_id": "r-ab12"}).ok
    assert store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=fields_for(Event.SUBMIT_ROLE)).ok
    assert store.transition(conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR).ok
    assert store.transition(conn.id, Event.APPROVE, actor=APPROVER, actor_is_approver=True, fields={"status": "active"}).ok
    assert store.set_status(OrgStatus.INACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id).ok

    lines = json_log()
    assert [line["message"] for line in lines] == [
        f"start: - -> started, connection {conn.id}, organization -, by {REQUESTER}",
        f"submit_ids: started -> awaiting_stack, connection {conn.id}, organization {org}, by {REQUESTER}",
        f"submit_role: awaiting_stack -> validating, connection {conn.id}, organization {org}, by {REQUESTER}",
        f"validation_passed: validating -> pending_approval, connection {conn.id}, organization {org}, by system",
        f"approve: pending_approval -> connected, connection {conn.id}, organization {org}, by {APPROVER}",
        f"disable: active -> inactive, connection {conn.id}, organization {org}, by {APPROVER}",
    ]
    assert all(line["level"] == "INFO" and line["conn"] == conn.id for line in lines)
    assert [line.get("user") for line in lines] == [REQUESTER, REQUESTER, REQUESTER, None, APPROVER, APPROVER]


def test_the_fields_travel_as_the_lines_change(store, json_log):
    conn = connection_in(store, State.AWAITING_STACK)
    assert store.transition(conn.id, Event.CANCEL, actor=REQUESTER).ok
    assert json_log()[-1]["change"] == {
        "conn": conn.id, "org": conn.org_id, "actor": REQUESTER, "event": "cancel", "from": "awaiting_stack", "to": "cancelled",
    }  # fmt: skip


def test_refusals_and_unchanged_statuses_write_no_line(store, json_log):
    conn = connection_in(store, State.CONNECTED)
    store.update(conn.id, status="active")
    before = len(json_log())
    assert not store.transition(conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, fields=fields_for(Event.SUBMIT_ROLE)).ok
    assert not store.transition(conn.id, Event.DISCONNECT, actor=OTHER).ok
    assert not store.set_status(OrgStatus.ACTIVE, actor=APPROVER, actor_is_approver=True, conn_id=conn.id).ok
    assert not store.set_status(OrgStatus.INACTIVE, actor=OTHER, actor_is_approver=False, conn_id=conn.id).ok
    assert len(json_log()) == before


def test_the_ack_path_writes_the_same_lines(redis_url, store, json_log):
    async def on_the_loop():
        ack = AckStore(AckRedis(redis_url), store)
        try:
            conn = await ack.create(requester=REQUESTER, channel="CCHANNEL", ttl=TTL)
            assert (await ack.transition(conn.id, Event.CANCEL, actor=REQUESTER)).ok
            return conn
        finally:
            await ack.close()

    conn = run(on_the_loop())
    assert [(line["message"], line["conn"], line["user"]) for line in json_log()] == [
        (f"start: - -> started, connection {conn.id}, organization -, by {REQUESTER}", conn.id, REQUESTER),
        (f"cancel: started -> cancelled, connection {conn.id}, organization -, by {REQUESTER}", conn.id, REQUESTER),
    ]


@pytest.mark.parametrize("environ", [{"LOG_LEVEL": "INFO"}, {"CE_LOG_JSON": "true", "LOG_LEVEL": "WARNING"}])
def test_without_the_flag_or_info_no_record_is_made(store, records, monkeypatch, environ):
    level = logging.getLogger().level
    logs.setup(environ, stream=io.StringIO())
    monkeypatch.setattr(logs, "bind", lambda **_: pytest.fail("a line was prepared though nobody wants it"))
    try:
        conn = connection_in(store, State.AWAITING_STACK)
        assert store.transition(conn.id, Event.CANCEL, actor=REQUESTER).ok
    finally:
        logging.getLogger().setLevel(level)
        logs.uninstall_redaction()
    assert records == []
