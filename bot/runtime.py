"""Everything a running bot is made of, wired once from the configuration."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from bot.aws.session import AwsAccess
from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.connection.operations import HEALTH, Operations
from bot.jobs.worker import Worker
from bot.scheduler import Scheduler
from bot.slack.app import Services, build_app, slack_client
from bot.slack.approvers import Approvers
from bot.slack.followups import Followups
from bot.slack.home import HomePublisher
from bot.slack.operations_followups import OperationsFollowups
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from bot.store.embedded import EmbeddedRedis

log = logging.getLogger(__name__)

# Validation can wait about a minute for a new role to reach IAM; a job idle
# for longer than this belonged to a process that died.
CLAIM_IDLE = {"slack": 60.0, "validate": 300.0, HEALTH: 300.0}
THREADS = {"slack": 4, "validate": 8, HEALTH: 2}  # health re-checks stay out of the guided validations' way


class Runtime:
    def __init__(
        self, config: Config, *, aws=None, clock: Callable[[], float] = time.time, scheduler_tick: float = 1.0
    ):
        self.config = config
        self.embedded: EmbeddedRedis | None = None
        redis_url = config.redis_url
        if not redis_url:
            self.embedded = EmbeddedRedis(config.data_dir)
            redis_url = self.embedded.start()
        self.redis = connect(redis_url)
        self.store = ConnectionStore(self.redis, clock=clock)
        self.client = slack_client(config)
        self.services = Services(
            config=config,
            store=self.store,
            flow=ConnectionFlow(self.store, config, clock=clock, aws=aws or AwsAccess()),
            approvers=Approvers(config.approvers, self.client),
        )
        self.app = build_app(self.services, self.client)
        self.followups = Followups(self.services, self.client)
        self.operations = Operations(self.store, config, flow=self.services.flow, clock=clock)
        self.operations_followups = OperationsFollowups(
            self.services, self.client, self.operations, refresh_parent=self.followups.refresh_parent
        )
        self.home = HomePublisher(self.services, self.client, self.operations)
        self.workers = [
            Worker(self.redis, queue, handlers, threads=THREADS[queue], claim_idle=CLAIM_IDLE[queue])
            for queue, handlers in job_handlers(self.followups, self.operations_followups).items()
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
        if self.embedded:
            self.embedded.stop()


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
