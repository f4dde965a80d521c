"""`ce-bot audit`: parsing --since/--until, and the audit log as JSON lines from a real Redis."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timezone

import pytest

from bot import audit, cli
from bot.connection.model import OrgStatus
from bot.connection.states import Event
from bot.store.client import connect
from bot.store.connections import ConnectionStore

NOW = 1_796_000_000.0


def test_durations_count_back_from_now():
    assert audit.parse_time("24h", now=lambda: NOW) == NOW - 86400
    assert audit.parse_time("30m", now=lambda: NOW) == NOW - 1800
    assert audit.parse_time("90s", now=lambda: NOW) == NOW - 90
    assert audit.parse_time("7d", now=lambda: NOW) == NOW - 7 * 86400
    assert audit.parse_time("2w", now=lambda: NOW) == NOW - 14 * 86400


def test_iso_dates_and_times_are_utc_unless_they_say_otherwise():
    midnight = datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()
    assert audit.parse_time("2026-12-01") == midnight
    assert audit.parse_time("2026-12-01T09:30") == midnight + 9.5 * 3600
    assert audit.parse_time("2026-12-01T09:30:00Z") == midnight + 9.5 * 3600
    assert audit.parse_time("2026-12-01T10:30:00+01:00") == midnight + 9.5 * 3600


@pytest.mark.parametrize("text", ["", "yesterday", "24", "-1h", "2026-13-01", "1y"])
def test_anything_else_is_refused_with_the_forms_that_work(text):
    with pytest.raises(audit.BadTime, match="24h"):
        audit.parse_time(text)


def _history(redis_url: str) -> ConnectionStore:
    store = ConnectionStore(connect(redis_url))
    conn = store.create(requester="U0REQ", channel="C0CE", ttl=3600)
    store.transition(conn.id, Event.SUBMIT_IDS, actor="U0REQ", fields={"org_id": "o-audit00001", "root_id": "r-ab12"})
    store.transition(conn.id, Event.SUBMIT_ROLE, actor="U0REQ", fields={"role_arn": "arn:aws:iam::123456789012:role/R"})
    store.transition(conn.id, Event.VALIDATION_PASSED, actor="system")
    store.transition(conn.id, Event.APPROVE, actor="U0APP", actor_is_approver=True, fields={"status": "active"})
    assert store.set_status(OrgStatus.INACTIVE, actor="U0APP", actor_is_approver=True, org_id="o-audit00001").ok
    return store


def test_every_transition_and_toggle_is_exported_as_json_lines(redis_url):
    store = _history(redis_url)
    out = io.StringIO()
    count = audit.export(store.audit_entries(since=time.time() - 60), out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == 6
    assert [e["event"] for e in lines] == ["start", "submit_ids", "submit_role", "validation_passed", "approve", "disable"]
    toggle = lines[-1]
    assert toggle["actor"] == "U0APP" and (toggle["from"], toggle["to"]) == ("active", "inactive")
    assert toggle["org"] == "o-audit00001" and toggle["recorded_at"].endswith("Z")
    assert set(toggle) == {"id", "recorded_at", "at", "connection", "org", "actor", "event", "from", "to", "detail"}
    assert list(store.audit_entries(since=time.time() + 60)) == []
    assert len(list(store.audit_entries(until=time.time() - 3600))) == 0


def test_the_audit_command_prints_json_lines(redis_url, monkeypatch, capsys):
    _history(redis_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert cli.main(["audit", "--since", "1h"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and json.loads(lines[-1])["event"] == "disable"
    assert cli.main(["audit", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["audit", "--since", "soon"]) == 2
    assert "neither an ISO date" in capsys.readouterr().err


def test_the_audit_command_reads_the_embedded_redis_when_no_url_is_set(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["audit"]) == 0
    assert capsys.readouterr().out == ""
