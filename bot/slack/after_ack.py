"""Work that follows an ack: the listener hands the request to the worker, a worker thread runs it.

On the ack path `handed_over(handler)` is the whole listener: one XADD of the
request to the `interactive` queue, then `ack()`, so the web process never
runs a handler and never competes with the next ack for the GIL. In the
worker, `AfterAck` runs the named handler with what a Bolt lazy listener
would get: the body, a Slack client, a `respond` bound to the request's
response_url (with the SDK's retries), and a context holding the services.

Handlers are registered by name with `@after_ack` when their module is
imported; a job's kind names its handler, and only registered names run.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable, Mapping

from slack_sdk import WebClient

from bot import logs
from bot.jobs.queue import Job
from bot.slack.app import RetryingRespond, Services, response_url, services_of, tell, user_message
from bot.slack.views import messages
from bot.store.client import StoreUnavailable

log = logging.getLogger(__name__)

QUEUE = "interactive"
# A click or command not started within this long after its ack is not run: its person has moved on
# (a modal's trigger_id lives 3 s), and a toggle done minutes later would surprise everyone. They are
# told nothing was done. It is also the longest a job of a worker that died waits to be taken over (at
# once when its replacement can tell it died: bot/jobs/consumers.py); such a job is not run again either
# (it may have done part): its person is told to check.
DEADLINE = 30.0
CLOCK_RESYNC = 60.0
Handler = Callable[..., None]  # (body, client, context, respond)
HANDLERS: dict[str, Handler] = {}


def after_ack(handler: Handler) -> Handler:
    """Register `handler` (taking body, client, context, respond) to run in the worker after an ack."""
    name = handler.__name__
    if HANDLERS.get(name, handler) is not handler:
        raise ValueError(f"two after-ack handlers are named {name}")
    HANDLERS[name] = handler
    return handler


def handed_over(handler: Handler):
    """The listener that acks at once and hands the request to `handler` in the worker."""
    if HANDLERS.get(handler.__name__) is not handler:
        raise ValueError(f"{handler.__name__} is not registered with @after_ack")
    async def hand_over(ack, body, client, context) -> None:
        job = Job(QUEUE, handler.__name__, "", {"body": json.dumps(body, separators=(",", ":"))})
        await services_of(context).ack_store.enqueue(job)  # StoreUnavailable: the error handler tells them
        await ack()

    hand_over.__name__ = f"hand_over_{handler.__name__}"
    return hand_over


class AfterAck:
    """The worker's side: runs handed-over requests."""

    def __init__(
        self,
        services: Services,
        client: WebClient,
        *,
        clock: Callable[[], float] | None = None,
        publish_home: Callable[[list[str]], object] | None = None,
    ):
        self.services = services
        self.client = client
        self.clock = clock or self._redis_time
        self.publish_home = publish_home
        self._redis_offset = 0.0  # Redis's clock minus this host's monotonic clock
        self._resync_at = float("-inf")

    def _redis_time(self) -> float:
        """Redis's clock, the one that stamped the job's entry ID (this host's may differ): read once a
        minute, followed in between on this host's monotonic clock (a TIME per job is a round trip)."""
        now = time.monotonic()
        if now >= self._resync_at:
            seconds, microseconds = self.services.store.redis.time()
            now = time.monotonic()
            self._redis_offset = seconds + microseconds / 1e6 - now
            self._resync_at = now + CLOCK_RESYNC
        return now + self._redis_offset

    def handlers(self) -> dict[str, Mapping[str, Callable[[Job], None]]]:
        from bot.slack import surfaces  # noqa: F401 - importing the surfaces registers their handlers

        return {QUEUE: {name: self.run for name in HANDLERS}}

    def run(self, job: Job) -> None:
        handler = HANDLERS[job.kind]
        body = json.loads(job.data["body"])
        logs.identify(body)  # the job's records name the request's person and connection
        url = response_url(body)
        respond = RetryingRespond(response_url=url, proxy=self.client.proxy, ssl=self.client.ssl) if url else None
        waited = self.clock() - enqueued_at(job)
        if job.attempt > 1 or waited > DEADLINE:
            # Taken over from a worker that died while running it (it may have done part), or never
            # started in time: not run now, and the person is told which.
            log.warning("after-ack handler %s not run (attempt %d, handed over %.0f s ago)",
                        handler.__name__, job.attempt, waited)  # fmt: skip
            logs.outcome("not run: interrupted" if job.attempt > 1 else "not run: too late")
            if respond is not None:
                tell(respond, messages.INTERRUPTED if job.attempt > 1 else messages.TOO_LATE)
            return
        try:
            handler(body=body, client=self.client, context={"services": self.services}, respond=respond)
        except Exception as error:  # noqa: BLE001 - everything becomes an ephemeral message
            logs.outcome(f"failed: {type(error).__name__}")
            if isinstance(error, StoreUnavailable):
                log.warning("state store unavailable: %s", error)
            else:
                log.exception("after-ack handler %s failed", handler.__name__)
            if respond is not None:
                tell(respond, user_message(error))
        if self.publish_home is not None and (body.get("view") or {}).get("type") == "home":
            # A click in the App Home shows its effect there at once (the scheduler refreshes the others').
            try:
                self.publish_home([(body.get("user") or {}).get("id", "")])
            except Exception:  # noqa: BLE001 - the scheduler republishes it in a moment
                log.warning("could not republish the App Home after a click", exc_info=True)


def enqueued_at(job: Job) -> float:
    """When the job was handed over: its stream entry ID starts with Redis's clock, in milliseconds."""
    return int(job.id.split("-", 1)[0]) / 1000.0
