"""Everything a running bot is made of, wired once from the configuration."""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Callable

from slack_bolt.async_app import AsyncApp

from bot.aws.session import AwsAccess
from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.connection.operations import HEALTH, Operations
from bot.jobs.worker import Worker
from bot.scheduler import Scheduler
from bot.slack import after_ack
from bot.slack.after_ack import AfterAck
from bot.slack.app import Services, async_slack_client, build_app, slack_client
from bot.slack.approvers import Approvers
from bot.slack.followups import Followups
from bot.slack.home import HomePublisher
from bot.slack.operations_followups import OperationsFollowups
from bot.store.ack_store import AckStore
from bot.store.ack_redis import AckRedis
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from bot.store.embedded import EmbeddedRedis
from bot.worker_process import WorkerProcess

log = logging.getLogger(__name__)

# A job's lease (bot/jobs/leases.py): a job whose worker died is taken over at once when a worker of the
# same host can tell (its replacement, started by `ce-bot serve`), otherwise once the lease has lapsed.
# A running job's lease is renewed however long it runs (a validation waits a minute for a new role), so
# this is only how long a worker may go without a heartbeat; it is also how long a failed job waits to be
# retried. A click taken over is not run again, its person is told (AfterAck.run).
LEASE = 30.0
CLAIM_IDLE = {"slack": LEASE, "validate": LEASE, HEALTH: LEASE, after_ack.QUEUE: after_ack.DEADLINE}
THREADS = {"slack": 4, "validate": 8, HEALTH: 2, after_ack.QUEUE: 4}  # health re-checks stay out of the guided validations' way
MAX_ATTEMPTS = {after_ack.QUEUE: 2}  # a second attempt only tells its person (AfterAck.run); others: the default


class Runtime:
    """The web side (the Bolt app, acking on an event loop) and the worker side (`Jobs`: job workers and
    the scheduler, in threads). `start()` runs the worker side in this process, or, with
    `worker_process=True` (`ce-bot serve` and `ce-bot socket`), in a `ce-bot worker` child: such a
    process never builds its own."""

    def __init__(
        self,
        config: Config,
        *,
        aws=None,
        clock: Callable[[], float] = time.time,
        scheduler_tick: float = 1.0,
        worker_process: bool = False,
    ):
        self.config = config
        self.clock = clock
        self.scheduler_tick = scheduler_tick
        self.embedded: EmbeddedRedis | None = None
        redis_url = config.redis_url
        if not redis_url:
            self.embedded = EmbeddedRedis(config.data_dir)
            redis_url = self.embedded.start()
        self.redis_url = redis_url
        self.redis = connect(redis_url)
        self.store = ConnectionStore(self.redis, clock=clock)
        self.ack_store = AckStore(AckRedis(redis_url), self.store)
        self.client = slack_client(config)
        aws = aws or AwsAccess()
        self.services = Services(
            config=config,
            store=self.store,
            flow=ConnectionFlow(self.store, config, clock=clock, aws=aws),
            approvers=Approvers(config.approvers, self.client),
            ack_store=self.ack_store,
            ack_flow=ConnectionFlow(self.ack_store, config, clock=clock, aws=aws),
        )
        self.worker_process = WorkerProcess(redis_url) if worker_process else None

    @functools.cached_property
    def app(self) -> AsyncApp:
        """The Bolt app that answers Slack, built on first use: a `ce-bot worker` never needs it."""
        return build_app(self.services, async_slack_client(self.config))

    @functools.cached_property
    def jobs(self) -> "Jobs":
        """The worker side, built on first use: a process whose jobs run in its child never needs it."""
        if self.worker_process is not None:
            raise RuntimeError("this process's jobs run in its `ce-bot worker` child")
        return Jobs(self.services, self.client, self.redis, clock=self.clock, scheduler_tick=self.scheduler_tick)

    def start(self) -> None:
        self.services.approvers.prefetch()
        if self.worker_process is not None:
            self.worker_process.start()
        else:
            self.jobs.start()

    def worker_state(self) -> str:
        """"running" or "restarting" (the child process), or "in-process" (threads of this process)."""
        if self.worker_process is None:
            return "in-process"
        return "running" if self.worker_process.pid else "restarting"

    def stop(self) -> None:
        if self.worker_process is not None:
            self.worker_process.stop()
        elif "jobs" in self.__dict__:  # built (started or not)
            self.jobs.stop()
        if self.embedded:
            self.embedded.stop()


class Jobs:
    """The worker side: a job worker per queue and the scheduler, each in threads of its own."""

    def __init__(self, services: Services, client, redis, *, clock: Callable[[], float], scheduler_tick: float):
        config = services.config
        self.followups = Followups(services, client)
        self.operations = Operations(services.store, config, flow=services.flow, clock=clock)
        self.operations_followups = OperationsFollowups(
            services, client, self.operations, refresh_parent=self.followups.refresh_parent
        )
        self.home = HomePublisher(services, client, self.operations)
        self.after_ack = AfterAck(services, client, publish_home=self.home.publish)
        self.workers = [
            Worker(
                redis,
                queue,
                handlers,
                threads=THREADS[queue],
                claim_idle=CLAIM_IDLE[queue],
                max_attempts=MAX_ATTEMPTS.get(queue, 5),
            )
            for queue, handlers in job_handlers(self.followups, self.operations_followups, self.after_ack).items()
        ]
        self.scheduler = Scheduler(self.operations, clock=clock, tick=scheduler_tick, on_home_refresh=self.home.publish)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        # Each worker waits up to one blocking read to notice; let them notice together.
        stoppers = [threading.Thread(target=worker.stop) for worker in self.workers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()


def job_handlers(*sources) -> dict[str, dict]:
    """Every job handler by queue, then kind, from each source's `handlers()`; a kind is defined once."""
    merged: dict[str, dict] = {}
    for source in sources:
        for queue, handlers in source.handlers().items():
            mine = merged.setdefault(queue, {})
            clash = set(mine) & set(handlers)
            if clash:
                raise ValueError(f"job kinds defined twice on queue {queue}: {sorted(clash)}")
            mine.update(handlers)
    return merged
