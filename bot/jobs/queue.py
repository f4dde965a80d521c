"""Durable jobs: one Redis Stream per queue (`ce:jobs:{queue}`), consumed by a consumer group.

An entry's fields are `kind`, `conn` and the job's `data`. Jobs that follow a
state change are written by `transition.lua` in the same script as the change
(see `job_fields`); others are added with `JobQueue.enqueue`. Entries are
deleted once acknowledged, so the stream holds only work not yet done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import redis as redis_py

from bot.store.client import guarded

STREAM_PREFIX = "ce:jobs:"
DEFAULT_GROUP = "workers"
QUEUE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
RESERVED_FIELDS = frozenset({"kind", "conn"})


def stream_key(queue: str) -> str:
    if not QUEUE_NAME.fullmatch(queue or ""):
        raise ValueError(f"invalid queue name {queue!r}")
    return STREAM_PREFIX + queue


@dataclass(frozen=True)
class Job:
    queue: str  # "slack" or "validate": stream key ce:jobs:{queue}
    kind: str  # e.g. "open_thread", "send_template", "validate", "post_approval", "announce_decision"
    conn_id: str
    data: Mapping[str, str] = field(default_factory=dict)
    id: str = ""  # stream entry ID once enqueued/read
    attempt: int = 1  # delivery count

    @property
    def stream(self) -> str:
        return stream_key(self.queue)

    def fields(self) -> dict[str, str]:
        """The stream entry's fields (validated)."""
        return job_fields(self)

    @classmethod
    def from_entry(cls, queue: str, entry_id: str, fields: Mapping[str, str], attempt: int = 1) -> "Job":
        data = {k: v for k, v in fields.items() if k not in RESERVED_FIELDS}
        return cls(
            queue=queue,
            kind=fields.get("kind", ""),
            conn_id=fields.get("conn", ""),
            data=data,
            id=entry_id,
            attempt=attempt,
        )


def job_fields(job: Job) -> dict[str, str]:
    stream_key(job.queue)
    if not job.kind:
        raise ValueError("a job needs a kind")
    bad = RESERVED_FIELDS & set(job.data)
    if bad:
        raise ValueError(f"job data may not use the reserved field names {sorted(bad)}")
    fields = {"kind": job.kind, "conn": job.conn_id}
    for key, value in job.data.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"job data must map str to str (got {key!r}: {type(value).__name__})")
        fields[key] = value
    return fields


class JobQueue:
    def __init__(self, redis: redis_py.Redis, name: str, *, group: str = DEFAULT_GROUP):
        self.redis = redis
        self.name = name
        self.key = stream_key(name)
        self.group = group

    @guarded
    def enqueue(self, job: Job) -> str:
        """Add the job; returns its stream entry ID. Raises StoreUnavailable when Redis is down."""
        if job.queue != self.name:
            raise ValueError(f"job for queue {job.queue!r} enqueued on {self.name!r}")
        return self.redis.xadd(self.key, job_fields(job))

    @guarded
    def ensure_group(self) -> None:
        """Create the stream and its consumer group if missing; the group starts at the stream's beginning,
        so jobs added before any worker ever ran are not lost."""
        try:
            self.redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis_py.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @guarded
    def length(self) -> int:
        """Jobs not yet acknowledged (waiting or in progress)."""
        return self.redis.xlen(self.key)

    @guarded
    def pending(self) -> int:
        """Jobs delivered to a consumer and not yet acknowledged."""
        try:
            return int(self.redis.xpending(self.key, self.group)["pending"])
        except redis_py.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return 0
            raise
