"""The App Home tab: published when someone opens it (`app_home_opened`), refreshed when something changes.

Slack retries an event it thinks went unanswered; each `event_id` is handled
once (Redis SET NX EX). Viewers are remembered, and the scheduler
(`bot.scheduler`) refreshes their Home whenever the audit log moves on.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.connection.operations import Operations
from bot.slack.after_ack import after_ack, handed_over
from bot.slack.app import Services, services_of
from bot.slack.views.home import EVENTS_SHOWN, ORGS_SHOWN, home_view

log = logging.getLogger(__name__)

EVENT_SEEN_FOR = 3600.0  # Slack retries within minutes; an hour is plenty
EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def register(router) -> None:
    router.event("app_home_opened", app_home_opened)


async def app_home_opened(ack, body, client, context) -> None:
    event = body.get("event") or {}
    if event.get("tab") == "home" and event.get("user"):
        await hand_over_home(ack=ack, body=body, client=client, context=context)
    else:
        await ack()  # the Messages tab: nothing to do


@after_ack
def home_opened(body, client, context, respond) -> None:
    """The Home tab opened (`app_home_opened` hands over only those, with their user)."""
    user = body["event"]["user"]
    services = services_of(context)
    event_id = str(body.get("event_id") or "")
    try:
        if EVENT_ID.fullmatch(event_id) and not services.store.first_sighting(f"event:{event_id}", EVENT_SEEN_FOR):
            logs.outcome("delivered again: not handled again")
            return  # a retry of an event already handled
        services.store.home_opened(user)
        HomePublisher(services, client).publish([user])
    except Exception as error:  # noqa: BLE001 - nobody to tell: the Home stays as it was
        log.exception("could not publish the App Home")
        logs.outcome(f"failed: {type(error).__name__}")


hand_over_home = handed_over(home_opened)


class HomePublisher:
    def __init__(self, services: Services, client: WebClient, operations: Operations | None = None):
        self.services = services
        self.client = client
        self.operations = operations or Operations(
            services.store, services.config, flow=services.flow, clock=services.flow.clock
        )

    def publish(self, users: Iterable[str]) -> int:
        """Publish the Home of each user (what the store holds is read once); returns how many were published."""
        users = list(users)
        if not users:
            return 0
        listed = self.operations.overview(ORGS_SHOWN)
        recent = self.services.store.recent_audit(EVENTS_SHOWN)
        now = float(self.operations.clock())
        published = 0
        for user in users:
            view = home_view(
                user,
                listed,
                recent,
                approver=self.services.approvers.includes(user),
                allow_self_approval=self.services.config.allow_self_approval,
                now=now,
            )
            try:
                self.client.views_publish(user_id=user, view=view)
                published += 1
            except SlackApiError as error:
                log.warning("could not publish the Home of %s: %s", user, error.response.get("error"))
        return published
