"""The store's writes that happen on an ack path, awaited on the web server's event loop.

The web server answers Slack from one event loop, so the few Redis calls an
ack makes (a delivery seen once, a connection created, one transition, a job
handed to the worker) are awaited there, with no thread hop, through the
lean `AckRedis` client. They are the same scripts with the same arguments as
`ConnectionStore`'s, which builds them; only the round trip differs.
"""

from __future__ import annotations

import redis

from bot.connection.model import Connection
from bot.connection.states import Event
from bot.jobs.queue import Job, job_fields
from bot.store.ack_redis import AckRedis
from bot.store.client import unavailable_as_store_error
from bot.store.connections import (
    CREATE_ATTEMPTS,
    SEEN_PREFIX,
    ConnectionStore,
    Refusal,
    TransitionResult,
    log_created,
    log_transition,
    script_source,
    transition_result,
)


class AckStore:
    def __init__(self, redis: AckRedis, planner: ConnectionStore):
        self.redis = redis
        self.planner = planner  # builds each script's keys and arguments; never does I/O here
        self._create = redis.script(script_source("create.lua", indexed=True))
        self._transition = redis.script(script_source("transition.lua", indexed=True))

    async def create(self, *, requester: str, channel: str, ttl: float, job: Job | None = None) -> Connection:
        """`ConnectionStore.create`, awaited."""
        with unavailable_as_store_error():
            for _ in range(CREATE_ATTEMPTS):
                conn, keys, args = self.planner.create_call(requester=requester, channel=channel, ttl=ttl, job=job)
                if await self._create(keys, args) == 1:
                    log_created(conn)
                    return conn
        raise RuntimeError("could not find a free connection ID")

    async def transition(self, conn_id: str, event: Event, **options) -> TransitionResult:
        """`ConnectionStore.transition`, awaited."""
        call = self.planner.transition_call(conn_id, event, **options)
        if call is None:
            return TransitionResult(False, None, Refusal.NOT_FOUND)
        keys, args = call
        with unavailable_as_store_error():
            result = transition_result(await self._transition(keys, args))
        log_transition(result, event, options["actor"])
        return result

    async def first_sighting(self, key: str, ttl: float) -> bool:
        """True the first time `key` is seen within `ttl` seconds (SET NX EX)."""
        with unavailable_as_store_error():
            return await self.redis.execute("SET", SEEN_PREFIX + key, "1", "NX", "EX", max(1, int(ttl))) == "OK"

    async def enqueue(self, job: Job) -> str:
        """Hand a job to the workers (XADD); returns its entry ID."""
        fields = [item for pair in job_fields(job).items() for item in pair]
        with unavailable_as_store_error():
            return await self.redis.execute("XADD", job.stream, "*", *fields)

    async def ping(self) -> bool:
        """True when Redis answers (never raises)."""
        try:
            return await self.redis.execute("PING") == "PONG"
        except (redis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.close()
