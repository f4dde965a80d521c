"""Durable jobs that follow a transition and talk to Slack (and, for validation, AWS).

Every handler reads the connection from Redis and skips what is already
done, so a job re-run after a crash does no harm.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.aws.validation import CheckResult, pending_checklist
from bot.connection.model import Connection, State
from bot.connection.operations import baseline_checks
from bot.jobs.queue import Job
from bot.slack.app import Services
from bot.slack.response_urls import POSTER
from bot.slack.views.approval import approval_decided, approval_request
from bot.slack.views.checklist import checklist_message
from bot.slack.views.thread import (
    closed_notice,
    connected_notice,
    instructions_message,
    parent_message,
    prerequisites_message,
    template_comment,
)
from bot.template import render

log = logging.getLogger(__name__)

CANT_POST = (
    "I can't post in this channel, so I couldn't start the connection. "
    "Invite me with `/invite @ce-bot`, or run `/ce connect aws-org` in a channel I'm in."
)


class Followups:
    def __init__(self, services: Services, client: WebClient):
        self.services = services
        self.store = services.store
        self.client = client
        # Updates to one parent message are serialised, so an older state never overwrites a newer one.
        self._parent_lock = threading.Lock()

    def handlers(self) -> dict[str, Mapping[str, Callable[[Job], None]]]:
        """Job handlers by queue, then by kind."""
        return {
            "slack": {
                "open_thread": self.open_thread,
                "send_template": self.send_template,
                "post_approval": self.post_approval,
                "announce_decision": self.announce_decision,
                "announce_closed": self.announce_closed,
            },
            "validate": {"validate": self.validate},
        }

    # -- steps ---------------------------------------------------------------

    def open_thread(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or conn.parent_ts or conn.state is not State.STARTED:
            return
        try:
            posted = self._post_in_channel(conn)
        except SlackApiError as error:
            if error.response.get("error") not in ("channel_not_found", "not_in_channel", "is_archived"):
                raise
            self._cannot_post(conn, job.data.get("response_url", ""))
            return
        conn = self.store.update(conn.id, parent_ts=posted["ts"])
        self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **prerequisites_message(conn))

    def _post_in_channel(self, conn: Connection):
        try:
            return self.client.chat_postMessage(channel=conn.channel, **parent_message(conn))
        except SlackApiError as error:
            if error.response.get("error") != "not_in_channel":
                raise
            self.client.conversations_join(channel=conn.channel)  # public channels: join and retry
            return self.client.chat_postMessage(channel=conn.channel, **parent_message(conn))

    def _cannot_post(self, conn: Connection, response_url: str) -> None:
        self.services.flow.cancel(conn.id, actor=conn.requester, is_approver=False, detail="cannot post in channel")
        if response_url:
            POSTER.post(response_url, {"text": CANT_POST, "response_type": "ephemeral"})

    def send_template(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or not conn.parent_ts or conn.state is not State.AWAITING_STACK:
            return
        if not conn.template_file_id:
            body = render.render_management_template(
                trusted_account_id=self.services.config.trusted_account_id,
                external_id=conn.external_id,
                root_id=conn.root_id,
                stack_set_name=conn.stack_set_name,
            )
            uploaded = self.client.files_upload_v2(
                channel=conn.channel,
                thread_ts=conn.parent_ts,
                content=body,
                filename=render.template_filename(conn.org_id),
                title=f"CloudFormation template for {conn.org_id}",
                initial_comment=template_comment(conn),
            )
            conn = self.store.update(conn.id, template_file_id=_file_id(uploaded))
        if not conn.instructions_ts:
            posted = self.client.chat_postMessage(
                channel=conn.channel, thread_ts=conn.parent_ts, **instructions_message(conn)
            )
            conn = self.store.update(conn.id, instructions_ts=posted["ts"])
        self.refresh_parent(conn.id)

    def validate(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or not conn.parent_ts:
            return
        if conn.state is State.VALIDATING:
            # What Slack shows is cosmetic; the outcome is not: a channel Slack refuses must not keep the
            # job failing until it dies and the connection stays in validating (no cancel, no expiry).
            try:
                self.refresh_parent(conn.id)
                if not conn.checklist_ts:
                    posted = self.client.chat_postMessage(
                        channel=conn.channel, thread_ts=conn.parent_ts, **checklist_message(conn, pending_checklist())
                    )
                    conn = self.store.update(conn.id, checklist_ts=posted["ts"])
            except SlackApiError as error:
                log.warning("could not show the validation in Slack (%s); validating anyway", error.response.get("error"))
            running = conn

            def show(checks: tuple[CheckResult, ...]) -> None:
                try:
                    self._update(running.channel, running.checklist_ts, checklist_message(running, checks))
                except SlackApiError as error:  # progress is cosmetic: never abort a validation for it
                    log.warning("could not update the checklist: %s", error.response.get("error"))

            result = self.services.flow.validate(conn, show)
            conn = result.connection or conn
        self.refresh_parent(conn.id)  # before the outcome: whoever reads it finds the parent up to date
        if conn.state in (State.VALIDATION_FAILED, State.PENDING_APPROVAL) and conn.checklist_ts:
            self._update(conn.channel, conn.checklist_ts, checklist_message(conn, baseline_checks(conn)))

    def post_approval(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or conn.state is not State.PENDING_APPROVAL or conn.approval_ts:
            return
        config = self.services.config
        channel = config.approval_channel or conn.channel
        thread_ts = None if config.approval_channel else conn.parent_ts
        link = self._permalink(conn) if config.approval_channel else ""
        posted = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **approval_request(conn, config.approvers, link)
        )
        self.store.update(conn.id, approval_channel=channel, approval_ts=posted["ts"])
        self.refresh_parent(conn.id)

    def announce_decision(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None:
            return
        if conn.approval_ts:
            self._update(conn.approval_channel, conn.approval_ts, approval_decided(conn))
        self.refresh_parent(conn.id)  # before the notice: whoever reads it finds the parent up to date
        if conn.parent_ts:
            notice = connected_notice(conn) if conn.state is State.CONNECTED else closed_notice(conn, conn.decided_by)
            self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **notice)

    def announce_closed(self, job: Job) -> None:
        conn = self.store.get(job.conn_id)
        if conn is None or not conn.parent_ts:
            return
        if conn.approval_ts:
            self._update(conn.approval_channel, conn.approval_ts, approval_decided(conn))
        self.refresh_parent(conn.id)
        notice = closed_notice(conn, job.data.get("actor", ""))
        self.client.chat_postMessage(channel=conn.channel, thread_ts=conn.parent_ts, **notice)

    # -- helpers -------------------------------------------------------------

    def refresh_parent(self, conn_id: str) -> None:
        with self._parent_lock:
            conn = self.store.get(conn_id)
            if conn and conn.parent_ts:
                self._update(conn.channel, conn.parent_ts, parent_message(conn))

    def _update(self, channel: str, ts: str, message: dict) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message)

    def _permalink(self, conn: Connection) -> str:
        try:
            return self.client.chat_getPermalink(channel=conn.channel, message_ts=conn.parent_ts)["permalink"]
        except SlackApiError:
            return ""


def _file_id(uploaded) -> str:
    file = uploaded.get("file") or (uploaded.get("files") or [{}])[0]
    return file.get("id", "uploaded")
