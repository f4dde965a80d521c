"""The guided connection's use cases: what each step does to a connection.

Each method parses what the user typed (raising `InvalidInput`), then asks
the store for one atomic transition, which also enqueues the follow-up job
(posting to Slack, validating). Nothing here knows about Slack; a modal's
submission names its view (`view_id`), which a transition takes only once.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from bot.aws.validation import CheckResult, ValidationOutcome, ValidationRequest, validate_connection
from bot.config import Config
from bot.connection.ids import InvalidInput, parse_all, parse_organization_id, parse_role_arn, parse_root_id
from bot.connection.model import Connection, OrgStatus
from bot.connection.regions import parse_region
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.jobs.queue import Job
from bot.store.connections import ConnectionStore, TransitionResult
from bot.template import render

SLACK = "slack"  # job queue for posting to Slack
VALIDATE = "validate"  # job queue for validations (slow: boto3, retries)
MAX_REASON = 500


def validation_request(conn: Connection) -> ValidationRequest:
    """What AWS is asked about a connection: at connection time and at every re-check."""
    return ValidationRequest(
        org_id=conn.org_id,
        root_id=conn.root_id,
        role_arn=conn.role_arn,
        external_id=conn.external_id,
        region=conn.region,
        stack_set_name=conn.stack_set_name,
    )


class ConnectionFlow:
    def __init__(self, store: ConnectionStore, config: Config, *, clock: Callable[[], float] = time.time, aws=None):
        self.store = store
        self.config = config
        self.clock = clock
        self.aws = aws  # bot.aws.session.AwsAccess; None: the default credential chain
        # A submitted view is remembered as long as its connection could take that submission again:
        # the state it leads to expires after pending_ttl, and validation_failed (which takes submit_role
        # again) comes before that and lasts pending_ttl more.
        self.view_ttl = 2 * config.pending_ttl

    def start(self, *, requester: str, channel: str, response_url: str = "") -> Connection:
        job = Job(SLACK, "open_thread", "", {"response_url": response_url})
        return self.store.create(requester=requester, channel=channel, ttl=self.config.pending_ttl, job=job)

    def submit_ids(self, conn_id: str, *, actor: str, organization_id: str, root_id: str, view_id: str = "") -> TransitionResult:
        typed = parse_all(
            organization_id=(parse_organization_id, organization_id),
            root_id=(parse_root_id, root_id),
        )
        org, root = typed["organization_id"], typed["root_id"]
        fields = {
            "org_id": org,
            "root_id": root,
            "external_id": render.new_external_id(),
            "stack_set_name": render.STACK_SET_NAME,
            "region": self.config.aws_region,
        }
        return self.store.transition(
            conn_id,
            Event.SUBMIT_IDS,
            actor=actor,
            fields=fields,
            ttl=self.config.pending_ttl,
            job=Job(SLACK, "send_template", conn_id),
            detail=f"{org} {root}",
            view_id=view_id,
            view_ttl=self.view_ttl,
        )

    def submit_role(
        self, conn_id: str, *, actor: str, role_arn: str, region: str = "", view_id: str = ""
    ) -> TransitionResult:
        arn = parse_role_arn(role_arn)
        fields = {"role_arn": arn.arn, "checklist_ts": ""}
        if region:  # none chosen: the connection keeps its region
            fields["region"] = parse_region(region, configured=self.config.aws_region)
        return self.store.transition(
            conn_id,
            Event.SUBMIT_ROLE,
            actor=actor,
            fields=fields,
            ttl=self.config.pending_ttl,
            job=Job(VALIDATE, "validate", conn_id),
            detail=arn.arn,
            view_id=view_id,
            view_ttl=self.view_ttl,
        )

    def validate(self, conn: Connection, on_progress: Callable[[tuple[CheckResult, ...]], None]) -> TransitionResult:
        """Run every check against AWS (slow) and record the outcome."""
        outcome = validate_connection(
            validation_request(conn), aws=self.aws, on_progress=on_progress, assume_timeout=self.config.assume_role_timeout
        )
        return self.record_validation(conn.id, outcome)

    def record_validation(self, conn_id: str, outcome: ValidationOutcome) -> TransitionResult:
        fields = {
            "last_checks": json.dumps([c.to_dict() for c in outcome.checks]),
            "validated_at": repr(self.clock()),
            "management_account_id": outcome.management_account_id,
        }
        if outcome.passed:
            return self.store.transition(
                conn_id,
                Event.VALIDATION_PASSED,
                actor=SYSTEM_ACTOR,
                fields=fields,
                ttl=self.config.pending_ttl,
                accounts=[a.to_dict() for a in outcome.accounts],
                job=Job(SLACK, "post_approval", conn_id),
                detail=f"{len(outcome.accounts)} accounts",
            )
        failed = ", ".join(c.key for c in outcome.checks if c.status == "failed")
        return self.store.transition(
            conn_id,
            Event.VALIDATION_FAILED,
            actor=SYSTEM_ACTOR,
            fields=fields,
            ttl=self.config.pending_ttl,
            detail=f"failed: {failed}",
        )

    def approve(self, conn_id: str, *, actor: str, is_approver: bool) -> TransitionResult:
        return self._decide(conn_id, Event.APPROVE, actor, is_approver, {"status": OrgStatus.ACTIVE.value})

    def reject(self, conn_id: str, *, actor: str, is_approver: bool, reason: str, view_id: str = "") -> TransitionResult:
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidInput("reason", "Say why, so the requester knows what to fix.")
        if len(reason) > MAX_REASON:
            raise InvalidInput("reason", f"Keep the reason under {MAX_REASON} characters.")
        return self._decide(conn_id, Event.REJECT, actor, is_approver, {"reject_reason": reason}, detail=reason, view_id=view_id)

    def _decide(self, conn_id, event, actor, is_approver, fields, detail="", view_id="") -> TransitionResult:
        fields = {"decided_by": actor, "decided_at": repr(self.clock()), **fields}
        return self.store.transition(
            conn_id,
            event,
            actor=actor,
            actor_is_approver=is_approver,
            allow_self_approval=self.config.allow_self_approval,
            fields=fields,
            job=Job(SLACK, "announce_decision", conn_id),
            detail=detail,
            view_id=view_id,
            view_ttl=self.view_ttl,
        )

    def cancel(self, conn_id: str, *, actor: str, is_approver: bool, detail: str = "") -> TransitionResult:
        return self.store.transition(
            conn_id,
            Event.CANCEL,
            actor=actor,
            actor_is_approver=is_approver,
            job=Job(SLACK, "announce_closed", conn_id, {"actor": actor}),
            detail=detail,
        )

    # -- after the guided connection: disconnect and expiry ---------------------------------------------

    def disconnect(self, conn_id: str, *, actor: str, is_approver: bool) -> TransitionResult:
        """Remove a connected organization from Cloud Entitlements: state disconnected (kept in history),
        the organization released (it can be connected again), its status inactive. Approvers only."""
        return self.store.transition(
            conn_id,
            Event.DISCONNECT,
            actor=actor,
            actor_is_approver=is_approver,
            allow_self_approval=self.config.allow_self_approval,
            fields={"status": OrgStatus.INACTIVE.value},
            job=Job(SLACK, "announce_disconnected", conn_id, {"actor": actor}),
            detail="disconnected from Slack",
        )

    def expire(self, conn_id: str) -> TransitionResult:
        """A pending connection that ran out of time; refused (and harmless) when it already moved on."""
        return self.store.transition(
            conn_id,
            Event.EXPIRE,
            actor=SYSTEM_ACTOR,
            job=Job(SLACK, "announce_closed", conn_id, {"actor": SYSTEM_ACTOR}),
            detail="pending longer than CE_PENDING_TTL",
        )
