"""Worker against a real Redis: once-only delivery, takeover of a dead consumer's jobs, retries, outages."""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from jobs_testkit import Recorder, wait_for

from bot.connection.states import Event
from bot.jobs.queue import Job, JobQueue
from bot.jobs.worker import Worker, redact
from bot.store.client import StoreUnavailable, connect
from bot.store.connections import ConnectionStore

CONN = "0123456789abcdef"
FAST = {"block": 0.1}


@pytest.fixture
def workers():
    started = []

    def make(redis, queue="slack", handlers=None, **kwargs):
        worker = Worker(redis, queue, handlers or {}, **{**FAST, **kwargs})
        started.append(worker)
        worker.start()
        return worker

    yield make
    for worker in started:
        worker.stop(timeout=2)


@pytest.fixture
def client(redis_url):
    c = connect(redis_url)
    yield c
    c.close()


def settled(redis, key="ce:jobs:slack"):
    """Nothing waiting, nothing pending."""
    return redis.xlen(key) == 0 and JobQueue(redis, key.rsplit(":", 1)[1]).pending() == 0


def test_runs_a_job_once(client, redis, workers):
    handler = Recorder()
    workers(client, handlers={"open_thread": handler}, threads=3, claim_idle=0.3)
    entry_id = JobQueue(client, "slack").enqueue(Job("slack", "open_thread", CONN, {"response_url": "r"}))
    assert wait_for(lambda: handler.runs)
    time.sleep(0.5)  # longer than claim_idle: an acknowledged job is never taken over
    [(job, _, _)] = handler.runs
    assert job == Job("slack", "open_thread", CONN, {"response_url": "r"}, entry_id, 1)
    assert settled(redis)


def test_runs_jobs_written_by_a_transition(client, redis, workers):
    handler = Recorder()
    workers(client, handlers={"open_thread": handler, "send_template": handler})
    store = ConnectionStore(client)
    conn = store.create(requester="U1", channel="C1", ttl=60, job=Job("slack", "open_thread", ""))
    store.transition(conn.id, Event.SUBMIT_IDS, actor="U1", fields={"org_id": "o-abcdefghij"}, job=Job("slack", "send_template", ""))
    assert wait_for(lambda: len(handler.runs) == 2)
    assert [(j.kind, j.conn_id) for j, _, _ in handler.runs] == [("open_thread", conn.id), ("send_template", conn.id)]


def test_two_workers_split_the_jobs(redis_url, redis, workers):
    a, b = Recorder(sleep=0.01, tag="a"), Recorder(sleep=0.01, tag="b")
    workers(connect(redis_url), handlers={"k": a}, threads=2, consumer="proc-a", claim_idle=5)
    workers(connect(redis_url), handlers={"k": b}, threads=2, consumer="proc-b", claim_idle=5)
    queue = JobQueue(redis, "slack")
    ids = [queue.enqueue(Job("slack", "k", CONN, {"n": str(i)})) for i in range(60)]
    assert wait_for(lambda: len(a.runs) + len(b.runs) >= 60)
    time.sleep(0.2)
    runs = Counter(a.ids + b.ids)
    assert sorted(runs) == sorted(ids) and set(runs.values()) == {1}
    assert a.runs and b.runs
    assert settled(redis)


def test_takes_over_the_job_of_a_dead_consumer(client, redis, workers):
    queue = JobQueue(client, "slack")
    queue.ensure_group()
    entry_id = queue.enqueue(Job("slack", "k", CONN))
    # A process read the job, then died before acknowledging it.
    redis.xreadgroup("workers", "dead-process", {"ce:jobs:slack": ">"}, count=1)
    read_at = time.monotonic()

    handler = Recorder()
    workers(client, handlers={"k": handler}, claim_idle=0.4)
    assert wait_for(lambda: handler.runs)
    [(job, _, ran_at)] = handler.runs
    assert job.id == entry_id and job.attempt == 2
    assert ran_at - read_at >= 0.35  # not before claim_idle
    assert wait_for(lambda: settled(redis))


def test_failing_job_retried_then_dead(client, redis, workers, caplog):
    handler = Recorder(fail_times=99)
    with caplog.at_level(logging.WARNING, logger="bot.jobs.worker"):
        workers(client, handlers={"k": handler}, claim_idle=0.15, max_attempts=3)
        JobQueue(client, "slack").enqueue(Job("slack", "k", CONN))
        assert wait_for(lambda: len(handler.runs) == 3)
        assert wait_for(lambda: settled(redis))
        time.sleep(0.4)
    assert [job.attempt for job, _, _ in handler.runs] == [1, 2, 3]
    assert any("is dead after 3 attempts" in r.getMessage() for r in caplog.records)
    assert not any("xoxb-123" in r.getMessage() for r in caplog.records)  # no secrets in logs


def test_failing_job_succeeds_on_retry(client, redis, workers):
    handler = Recorder(fail_times=1)
    workers(client, handlers={"k": handler}, claim_idle=0.15)
    JobQueue(client, "slack").enqueue(Job("slack", "k", CONN))
    assert wait_for(lambda: len(handler.runs) == 2)
    assert wait_for(lambda: settled(redis))
    time.sleep(0.3)
    assert len(handler.runs) == 2


def test_job_delivered_too_often_is_dropped(client, redis, workers, caplog):
    queue = JobQueue(client, "slack")
    queue.ensure_group()
    queue.enqueue(Job("slack", "k", CONN))
    # Three processes died running it (a job that crashes its process): delivered 3 times.
    redis.xreadgroup("workers", "dead", {"ce:jobs:slack": ">"}, count=1)
    redis.xclaim("ce:jobs:slack", "workers", "dead", 0, [redis.xrange("ce:jobs:slack")[0][0]])
    redis.xclaim("ce:jobs:slack", "workers", "dead", 0, [redis.xrange("ce:jobs:slack")[0][0]])
    handler = Recorder()
    with caplog.at_level(logging.ERROR, logger="bot.jobs.worker"):
        workers(client, handlers={"k": handler}, claim_idle=0.1, max_attempts=3)
        assert wait_for(lambda: settled(redis))
    assert handler.runs == []
    assert any("is dead" in r.getMessage() for r in caplog.records)


def test_entry_deleted_while_pending_is_dropped(client, redis, workers):
    queue = JobQueue(client, "slack")
    queue.ensure_group()
    gone = queue.enqueue(Job("slack", "k", CONN, {"n": "gone"}))
    queue.enqueue(Job("slack", "k", CONN, {"n": "kept"}))
    redis.xreadgroup("workers", "dead", {"ce:jobs:slack": ">"}, count=2)
    redis.xdel("ce:jobs:slack", gone)  # trimmed by hand while pending
    handler = Recorder()
    workers(client, handlers={"k": handler}, claim_idle=0.1)
    assert wait_for(lambda: settled(redis))
    assert [job.data["n"] for job, _, _ in handler.runs] == ["kept"]


def test_unknown_kind_is_logged_and_acknowledged(client, redis, workers, caplog):
    handler = Recorder()
    with caplog.at_level(logging.ERROR, logger="bot.jobs.worker"):
        worker = workers(client, handlers={"k": handler}, threads=1)
        queue = JobQueue(client, "slack")
        queue.enqueue(Job("slack", "no_such_kind", CONN))
        queue.enqueue(Job("slack", "k", CONN))
        assert wait_for(lambda: handler.runs)  # the one thread is still alive
        assert wait_for(lambda: settled(redis))
    assert any("no handler" in r.getMessage() for r in caplog.records)
    assert all(t.is_alive() for t in worker._threads)


def test_slow_job_is_not_taken_over(redis_url, redis, workers):
    slow_a, slow_b = Recorder(sleep=1.5, tag="a"), Recorder(sleep=1.5, tag="b")
    workers(connect(redis_url), handlers={"k": slow_a}, threads=1, consumer="a", claim_idle=0.6)
    JobQueue(redis, "slack").enqueue(Job("slack", "k", CONN))
    assert wait_for(lambda: slow_a.runs)
    workers(connect(redis_url), handlers={"k": slow_b}, threads=1, consumer="b", claim_idle=0.6)
    assert wait_for(lambda: settled(redis), timeout=3)
    assert len(slow_a.runs) == 1 and slow_b.runs == []  # the heartbeat kept it


def test_a_job_taken_over_is_left_to_its_new_owner(client, redis, workers, caplog):
    """Its first worker, still running it (its lease had lapsed), renews its lease no more: one owner."""
    handler = Recorder(sleep=1.0)
    with caplog.at_level(logging.WARNING, logger="bot.jobs.worker"):
        workers(client, handlers={"k": handler}, threads=1, consumer="a", claim_idle=0.5)
        entry_id = JobQueue(client, "slack").enqueue(Job("slack", "k", CONN))
        assert wait_for(lambda: handler.runs)
        redis.xclaim("ce:jobs:slack", "workers", "b", 0, [entry_id])  # as a takeover does
        time.sleep(0.3)  # several heartbeats
        [row] = redis.xpending_range("ce:jobs:slack", "workers", min="-", max="+", count=10)
        assert row["consumer"] == "b"
        assert wait_for(lambda: settled(redis))  # it finishes and acknowledges it all the same
    warnings = [r.getMessage() for r in caplog.records if "taken over by another worker" in r.getMessage()]
    assert len(warnings) == 1 and entry_id in warnings[0]


def test_survives_a_redis_restart(tmp_path, workers, caplog):
    from bot.store.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    client = connect(url)
    try:
        handler = Recorder()
        with caplog.at_level(logging.INFO, logger="bot.jobs.worker"):
            workers(client, handlers={"k": handler}, threads=2, claim_idle=0.5)
            queue = JobQueue(client, "slack")
            queue.enqueue(Job("slack", "k", CONN, {"n": "1"}))
            assert wait_for(lambda: len(handler.runs) == 1)

            server.stop()
            with pytest.raises(StoreUnavailable):
                queue.enqueue(Job("slack", "k", CONN, {"n": "lost"}))
            time.sleep(0.8)  # the threads keep failing meanwhile
            server.start()

            queue.enqueue(Job("slack", "k", CONN, {"n": "2"}))
            assert wait_for(lambda: len(handler.runs) == 2, timeout=8)
        assert [job.data["n"] for job, _, _ in handler.runs] == ["1", "2"]
        messages = [r.getMessage() for r in caplog.records]
        assert sum("Redis unavailable" in m for m in messages) == 1  # logged once, not per thread or retry
        assert sum("Redis is back" in m for m in messages) == 1
    finally:
        client.close()
        server.stop()


def test_group_recreated_when_redis_lost_everything(client, redis, workers):
    handler = Recorder()
    workers(client, handlers={"k": handler}, threads=1)
    time.sleep(0.2)
    redis.flushall()  # a Redis without persistence restarted: stream and group gone
    time.sleep(0.3)
    JobQueue(client, "slack").enqueue(Job("slack", "k", CONN))
    assert wait_for(lambda: handler.runs)


def test_stop_is_prompt(client, workers):
    worker = workers(client, threads=4, block=0.5)
    started = time.monotonic()
    worker.stop(timeout=3)
    assert time.monotonic() - started < 1.5
    assert not worker._threads


def test_settings_are_checked(client):
    with pytest.raises(ValueError):
        Worker(client, "slack", {}, block=5)
    with pytest.raises(ValueError):
        Worker(client, "slack", {}, threads=0)
    with pytest.raises(ValueError):
        Worker(client, "bad name", {})


def test_redact():
    text = "token xoxb-1-2-abc, xapp-1-A-b, AKIAABCDEFGHIJKLMNOP, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY x, password=hunter2"
    out = redact(text)
    for secret in ("xoxb-1-2-abc", "xapp-1-A-b", "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "hunter2"):
        assert secret not in out
    assert redact("x" * 1000).endswith("…")
