"""The store's writes that happen on an ack path, over asyncio Redis.

The web server answers Slack from one event loop, so the few Redis calls an
ack makes (a delivery seen once, a connection created, one transition, a job
handed to the worker) are awaited there, with no thread hop. They are the
same scripts with the same arguments as `ConnectionStore`'s, which builds
them; only the round trip differs.
"""

from __future__ import annotations

import redis.asyncio

from bot.connection.model import Connection
from bot.connection.states import Event
from bot.jobs.queue import Job, job_fields
from bot.store.client import unavailable_as_store_error
from bot.store.connections import (
    CREATE_ATTEMPTS,
    SEEN_PREFIX,
    ConnectionStore,
    Refusal,
    TransitionResult,
    script_source,
    transition_result,
)


class AckStore:
    def __init__(self, redis: redis.asyncio.Redis, planner: ConnectionStore):
        self.redis = redis
        self.planner = planner  # builds each script's keys and arguments; never does I/O here
        self._create = redis.register_script(script_source("create.lua", indexed=True))
        self._transition = redis.register_script(script_source("transition.lua", indexed=True))

    async def create(self, *, requester: str, channel: str, ttl: float, job: Job | None = None) -> Connection:
        """`ConnectionStore.create`, awaited."""
        with unavailable_as_store_error():
            for _ in range(CREATE_ATTEMPTS):
                conn, keys, args = self.planner.create_call(requester=requester, channel=channel, ttl=ttl, job=job)
                if await self._create(keys=keys, args=args) == 1:
                    return conn
        raise RuntimeError("could not find a free connection ID")

    async def transition(self, conn_id: str, event: Event, **options) -> TransitionResult:
        """`ConnectionStore.transition`, awaited."""
        call = self.planner.transition_call(conn_id, event, **options)
        if call is None:
            return TransitionResult(False, None, Refusal.NOT_FOUND)
        keys, args = call
        with unavailable_as_store_error():
            return transition_result(await self._transition(keys=keys, args=args))

    async def first_sighting(self, key: str, ttl: float) -> bool:
        """True the first time `key` is seen within `ttl` seconds (SET NX EX)."""
        with unavailable_as_store_error():
            return bool(await self.redis.set(SEEN_PREFIX + key, "1", nx=True, ex=max(1, int(ttl))))

    async def enqueue(self, job: Job) -> str:
        """Hand a job to the workers (XADD); returns its entry ID."""
        with unavailable_as_store_error():
            return await self.redis.xadd(job.stream, job_fields(job))

    async def ping(self) -> bool:
        """True when Redis answers (never raises)."""
        try:
            return bool(await self.redis.ping())
        except (redis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.aclose()
