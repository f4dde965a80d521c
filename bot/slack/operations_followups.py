"""Durable jobs of the operations: announce a status toggle, a disconnect, what a health re-check found;
and the re-check itself (boto3, on the `health` queue).

Like `bot.slack.followups`, every handler reads the connection from Redis and
is harmless when run again.
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.connection.health import HealthChange
from bot.connection.operations import HEALTH, Operations
from bot.connection.states import SYSTEM_ACTOR
from bot.jobs.queue import Job
from bot.slack.app import Services
from bot.slack.response_urls import POSTER
from bot.slack.views import organizations as views

log = logging.getLogger(__name__)


class OperationsFollowups:
    def __init__(self, services: Services, client: WebClient, operations: Operations, *, refresh_parent=None):
        self.services = services
        self.store = services.store
        self.client = client
        self.operations = operations
        self.refresh_parent: Callable[[str], None] = refresh_parent or (lambda conn_id: None)

    def handlers(self) -> dict[str, Mapping[str, Callable[[Job], None]]]:
        return {
            "slack": {
                "announce_status": self.announce_status,
                "announce_disconnected": self.announce_disconnected,
                "announce_health": self.announce_health,
            },
            HEALTH: {"recheck": self.recheck},
        }

    def announce_status(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or not conn.parent_ts:
            return
        message = views.status_announcement(conn, job.data.get("actor", ""), job.data.get("status", ""))
        self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **message)

    def announce_disconnected(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or not conn.parent_ts:
            return
        notice = views.disconnected_notice(conn, job.data.get("actor", ""))
        self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **notice)
        self.refresh_parent(conn.id)

    def announce_health(self, job: Job) -> None:
        """What a re-check found new: in the thread, and in CE_APPROVAL_CHANNEL when there is one."""
        conn = self.store.get(job.conn_id)
        version = int(job.data.get("version") or 0)
        health = self.store.health(job.conn_id)
        if conn is None or (health is not None and health.notified >= version):
            return
        change = HealthChange.from_json(job.data.get("change", ""))
        if conn.parent_ts:
            self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **views.health_notice(conn, change))
        channel = self.services.config.approval_channel
        if channel and channel != conn.channel:
            link = self._permalink(conn)
            self.client.chat_postMessage(channel=channel, **views.health_notice(conn, change, thread_link=link))
        self.store.mark_notified(conn.id, version)

    def recheck(self, job: Job) -> None:
        failed_only = job.data.get("failed_only") == "1"
        outcome = self.operations.recheck(
            job.conn_id, failed_only=failed_only, requested_by=job.data.get("requested_by") or SYSTEM_ACTOR
        )
        response_url = job.data.get("response_url", "")
        if response_url:
            reply = views.recheck_reply(outcome, self.store.get(job.conn_id), failed_only=failed_only)
            POSTER.post(response_url, {**reply, "response_type": "ephemeral", "replace_original": False})

    def _permalink(self, conn) -> str:
        if not conn.parent_ts:
            return ""
        try:
            return self.client.chat_getPermalink(channel=conn.channel, message_ts=conn.parent_ts)["permalink"]
        except SlackApiError:
            return ""
