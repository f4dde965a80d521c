"""Threads that run the jobs of one queue, as one consumer of the queue's consumer group.

- New jobs arrive with XREADGROUP BLOCK; each entry goes to exactly one
  consumer, so with several bot processes each job runs once.
- A job is leased to its consumer for `claim_idle` seconds (`leases.py`): while
  a handler runs, a heartbeat renews the lease ten times within it, so a slow
  job is not taken over; a job whose lease lapsed (its consumer died, or its
  handler failed) is taken over by any worker with XAUTOCLAIM and run again.
- A consumer's name says which process it is (`consumers.py`): each pass first
  ends at once the leases of the consumers known to be dead (a worker of this
  host killed, then replaced), instead of waiting for them to lapse.
- Success: XACK and XDEL. A handler that raises leaves the entry pending: it
  is retried after `claim_idle`; the attempt that reaches `max_attempts` is
  logged as dead and acknowledged. Unknown kinds are logged and acknowledged.
- Redis going away is logged once; the threads back off and carry on when it
  returns (the consumer group is recreated if it was lost).

Handlers must be idempotent: a job can run again after a crash or a timeout.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Callable, Mapping

import redis as redis_py

from bot.jobs.consumers import consumer_name, known_dead
from bot.jobs.leases import Leases
from bot.jobs.queue import DEFAULT_GROUP, Job, JobQueue
from bot.store.client import SOCKET_TIMEOUT, StoreUnavailable, is_unavailable

log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0
CONSUMER_FORGET_AFTER = 24 * 3600.0  # consumers of other hosts, silent this long with nothing pending, are forgotten
# A running job is taken over only when its worker missed this many heartbeats in a row: seconds of a
# process starved of CPU (SCHED_IDLE on a busy machine), of Redis (a 2 s timeout each) or of the GIL.
BEATS_PER_LEASE = 10

_SECRETS = re.compile(
    r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"  # Slack tokens
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"  # AWS access key IDs
    r"|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"  # AWS secret keys (and anything shaped like one)
    r"|(?i:(?:password|secret|token|signature)[\"']?\s*[=:]\s*)[^\s,;&\"']+"
)


def redact(text: str, limit: int = 300) -> str:
    """An exception message fit for a log line: secrets masked, length bounded."""
    text = _SECRETS.sub("[redacted]", text)
    return text if len(text) <= limit else text[:limit] + "…"


class Worker:
    def __init__(
        self,
        redis: redis_py.Redis,
        queue: str,
        handlers: Mapping[str, Callable[[Job], None]],
        *,
        threads: int = 4,
        consumer: str | None = None,
        claim_idle: float = 60.0,
        block: float = 1.0,
        max_attempts: int = 5,
        group: str = DEFAULT_GROUP,
    ):
        if threads < 1 or max_attempts < 1 or claim_idle <= 0 or block <= 0:
            raise ValueError("threads and max_attempts must be >= 1, claim_idle and block > 0")
        if block >= SOCKET_TIMEOUT:
            raise ValueError(f"block must stay below the client's socket timeout ({SOCKET_TIMEOUT} s)")
        self.redis = redis
        self.queue = JobQueue(redis, queue, group=group)
        self.handlers = dict(handlers)
        self.threads = threads
        self.consumer = consumer or consumer_name()
        self.claim_idle = float(claim_idle)
        self.block_ms = max(1, int(block * 1000))
        self.max_attempts = max_attempts
        self.heartbeat_interval = max(claim_idle / BEATS_PER_LEASE, 0.05)
        self.claim_interval = self.heartbeat_interval  # a lapsed lease is found within a tenth of it
        self.leases = Leases(redis, self.queue.key, self.queue.group)

        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inflight: dict[str, bool] = {}  # entries running here → still ours (not taken over)
        self._inflight_lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._claim_cursor = "0-0"
        self._next_claim = 0.0
        self._down = False
        self._down_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.queue.name

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        try:
            self.queue.ensure_group()
        except StoreUnavailable:
            self._mark_down("at start")  # the threads create the group once Redis answers
        for i in range(self.threads):
            thread = threading.Thread(target=self._consume, name=f"jobs-{self.name}-{i}", daemon=True)
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._heartbeat, name=f"jobs-{self.name}-heartbeat", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("worker for queue %s started: %d threads, consumer %s", self.name, self.threads, self.consumer)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs and wait (up to `timeout`) for running handlers; an unfinished job stays
        pending and is taken over by another worker after claim_idle."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("worker for queue %s: %d threads still busy after %.1f s", self.name, len(alive), timeout)
        self._threads = []

    # -- the loops ---------------------------------------------------------------------------------

    def _consume(self) -> None:
        delay = 0.1
        while not self._stopping.is_set():
            try:
                job = self._next_job()
            except Exception as exc:  # noqa: BLE001 - a thread must never die
                self._on_error(exc)
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            delay = 0.1
            self._mark_up()
            if job is not None:
                self._process(job)

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self.heartbeat_interval):
            with self._inflight_lock:
                ours = [entry_id for entry_id, held in self._inflight.items() if held]
            if not ours:
                continue
            try:
                lost = self.leases.renew(self.consumer, ours)
            except Exception as exc:  # noqa: BLE001
                if not is_unavailable(exc):
                    log.warning("worker for queue %s: heartbeat failed: %s", self.name, type(exc).__name__)
                continue
            with self._inflight_lock:
                lost = [entry_id for entry_id in lost if entry_id in self._inflight]  # not done meanwhile
                for entry_id in lost:
                    self._inflight[entry_id] = False
            for entry_id in lost:
                log.warning(
                    "job %s on queue %s was taken over by another worker while it still ran here "
                    "(no heartbeat for %.0f s): it may run twice", entry_id, self.name, self.claim_idle,
                )  # fmt: skip

    def _next_job(self) -> Job | None:
        if time.monotonic() >= self._next_claim:
            job = self._claim_one()
            if job is not None:
                return job
        if self._stopping.is_set():
            return None
        response = self.redis.xreadgroup(
            self.queue.group, self.consumer, {self.queue.key: ">"}, count=1, block=self.block_ms
        )
        for _stream, entries in _stream_entries(response):
            for entry_id, fields in entries:
                return Job.from_entry(self.name, entry_id, fields or {}, attempt=1)
        return None

    def _claim_one(self) -> Job | None:
        """Take over one entry whose lease lapsed (its consumer died, or its handler failed)."""
        if not self._claim_lock.acquire(blocking=False):
            return None  # another thread is at it
        try:
            if time.monotonic() < self._next_claim:
                return None
            if self._claim_cursor == "0-0":  # a new pass
                self._sweep_consumers()
            cursor, entries = self._autoclaim(self._claim_cursor)
            self._claim_cursor = cursor
            if any(i is None for i, _ in entries):
                self._drop_deleted()
            entries = [(i, f) for i, f in entries if i is not None]
            if not entries:
                if cursor == "0-0":  # a full pass found nothing: wait before the next pass
                    self._next_claim = time.monotonic() + self.claim_interval
                return None
            entry_id, fields = entries[0]
            with self._inflight_lock:
                if entry_id in self._inflight:  # still running here, its heartbeat late: ours again, not run twice
                    self._inflight[entry_id] = True
                    return None
            attempt = self._delivery_count(entry_id)
            log.info("job %s (%s) taken over for attempt %d", entry_id, fields.get("kind", "?"), attempt)
            return Job.from_entry(self.name, entry_id, fields or {}, attempt=attempt)
        finally:
            self._claim_lock.release()

    def _autoclaim(self, cursor: str) -> tuple[str, list]:
        response = self.redis.xautoclaim(
            self.queue.key,
            self.queue.group,
            self.consumer,
            min_idle_time=int(self.claim_idle * 1000),
            start_id=cursor,
            count=1,
        )
        next_cursor = response[0] if response else "0-0"
        entries = response[1] if len(response) > 1 else []
        return next_cursor, entries

    def _drop_deleted(self) -> None:
        """Acknowledge entries we claimed that were deleted from the stream before anyone ran them
        (Redis 6.2 keeps them pending and XAUTOCLAIM returns them as nil, forever otherwise)."""
        rows = self.redis.xpending_range(
            self.queue.key, self.queue.group, min="-", max="+", count=100, consumername=self.consumer
        )
        with self._inflight_lock:
            running = set(self._inflight)
        for row in rows:
            entry_id = row["message_id"]
            if entry_id not in running and not self.redis.xrange(self.queue.key, min=entry_id, max=entry_id, count=1):
                self.redis.xack(self.queue.key, self.queue.group, entry_id)
                log.warning("job %s on queue %s was deleted before it ran; dropped", entry_id, self.name)

    def _delivery_count(self, entry_id: str) -> int:
        rows = self.redis.xpending_range(self.queue.key, self.queue.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    def _sweep_consumers(self) -> None:
        """End the leases of the consumers known to be dead, for this pass to take their jobs over; forget
        the others' that have held nothing and said nothing for a day (processes long gone)."""
        for info in self.redis.xinfo_consumers(self.queue.key, self.queue.group):
            name = info.get("name")
            if name == self.consumer:
                continue
            if known_dead(name):
                passed = self.leases.end(name, self.consumer, self.claim_idle)
                if passed:
                    log.info("worker %s of queue %s is dead: its %d job(s) are taken over now", name, self.name, passed)
            elif int(info.get("pending", 0)) == 0 and int(info.get("idle", 0)) > CONSUMER_FORGET_AFTER * 1000:
                self.redis.xgroup_delconsumer(self.queue.key, self.queue.group, name)

    # -- running one job ---------------------------------------------------------------------------

    def _process(self, job: Job) -> None:
        where = f"job {job.id} ({job.kind or '?'}, connection {job.conn_id or '-'}) on queue {self.name}"
        if job.attempt > self.max_attempts:
            log.error("%s is dead: delivered %d times (max %d); dropping it", where, job.attempt, self.max_attempts)
            self._ack(job)
            return
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("%s has no handler for its kind; dropping it", where)
            self._ack(job)
            return
        with self._inflight_lock:
            self._inflight[job.id] = True
        try:
            handler(job)
        except Exception as exc:  # noqa: BLE001 - a failing job must not kill the thread
            message = f"{type(exc).__name__}: {redact(str(exc))}"
            if job.attempt >= self.max_attempts:
                log.error("%s is dead after %d attempts: %s", where, job.attempt, message)
                self._ack(job)
            else:
                log.warning(
                    "%s failed (attempt %d of %d), retrying in %.0f s: %s",
                    where, job.attempt, self.max_attempts, self.claim_idle, message,
                )  # fmt: skip
            log.debug("%s traceback", where, exc_info=True)
        else:
            self._ack(job)
        finally:
            with self._inflight_lock:
                del self._inflight[job.id]

    def _ack(self, job: Job) -> None:
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.xack(self.queue.key, self.queue.group, job.id)
            pipe.xdel(self.queue.key, job.id)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            # Not acknowledged: it will run again after claim_idle (handlers are idempotent).
            log.warning("job %s on queue %s: could not acknowledge (%s)", job.id, self.name, type(exc).__name__)

    # -- Redis trouble -----------------------------------------------------------------------------

    def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, redis_py.ResponseError) and "NOGROUP" in str(exc):
            try:
                self.queue.ensure_group()
                log.info("queue %s: consumer group recreated", self.name)
                return
            except StoreUnavailable:
                pass
        if is_unavailable(exc):
            self._mark_down(type(exc).__name__)
        else:
            log.error("worker for queue %s: unexpected error %s: %s", self.name, type(exc).__name__, redact(str(exc)))

    def _mark_down(self, why: str) -> None:
        with self._down_lock:
            if self._down:
                return
            self._down = True
        log.warning("worker for queue %s: Redis unavailable (%s); retrying until it is back", self.name, why)

    def _mark_up(self) -> None:
        if not self._down:
            return
        with self._down_lock:
            if not self._down:
                return
            self._down = False
        log.info("worker for queue %s: Redis is back", self.name)


def _stream_entries(response) -> list:
    """XREADGROUP's reply as [(stream, [(id, fields), …])]."""
    if not response:
        return []
    if isinstance(response, dict):  # RESP3
        return list(response.items())
    return response
