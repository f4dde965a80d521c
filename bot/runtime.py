"""Everything a running bot is made of, wired once from the configuration."""

from __future__ import annotations

import logging
import threading

from bot.aws.session import AwsAccess
from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.jobs.worker import Worker
from bot.slack.app import Services, build_app, slack_client
from bot.slack.approvers import Approvers
from bot.slack.followups import Followups
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from bot.store.embedded import EmbeddedRedis

log = logging.getLogger(__name__)

# Validation can wait about a minute for a new role to reach IAM; a job idle
# for longer than this belonged to a process that died.
CLAIM_IDLE = {"slack": 60.0, "validate": 300.0}
THREADS = {"slack": 4, "validate": 8}


class Runtime:
    def __init__(self, config: Config, *, aws=None):
        self.config = config
        self.embedded: EmbeddedRedis | None = None
        redis_url = config.redis_url
        if not redis_url:
            self.embedded = EmbeddedRedis(config.data_dir)
            redis_url = self.embedded.start()
        self.redis = connect(redis_url)
        self.store = ConnectionStore(self.redis)
        self.client = slack_client(config)
        self.services = Services(
            config=config,
            store=self.store,
            flow=ConnectionFlow(self.store, config, aws=aws or AwsAccess()),
            approvers=Approvers(config.approvers, self.client),
        )
        self.app = build_app(self.services, self.client)
        self.followups = Followups(self.services, self.client)
        self.workers = [
            Worker(self.redis, queue, handlers, threads=THREADS[queue], claim_idle=CLAIM_IDLE[queue])
            for queue, handlers in self.followups.handlers().items()
        ]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        # Each worker waits up to one blocking read to notice; let them notice together.
        stoppers = [threading.Thread(target=worker.stop) for worker in self.workers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        if self.embedded:
            self.embedded.stop()
