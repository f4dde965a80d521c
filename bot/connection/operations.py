"""Running connected organizations day to day: list, find, the Status toggle, cancel, expiry, health re-checks.

The use cases after the guided connection (`bot.connection.flow`). Each write
is one atomic store call that also enqueues its follow-up job (announcing in
the connection's thread). Nothing here knows about Slack.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from typing import Callable

from bot.aws.health import check_health
from bot.aws.validation import CheckResult
from bot.config import Config
from bot.connection.flow import SLACK, VALIDATE, ConnectionFlow, validation_request
from bot.connection.health import Health, HealthChange, assess
from bot.connection.model import Connection, OrgStatus, State
from bot.connection.states import SYSTEM_ACTOR
from bot.jobs.queue import Job, JobQueue
from bot.store.connections import LIST_PAGE_SIZE, ConnectionStore, Listed, Listing, StatusResult, TransitionResult

log = logging.getLogger(__name__)

HEALTH = "health"  # job queue for health re-checks (boto3; apart from the guided validations)
RECHECK_ASSUME_TIMEOUT = 10.0  # a connected role is not new: no long wait for IAM to propagate
CLAIM_LIMIT = 100  # re-checks (or lost validations) claimed per scheduler pass (the rest at the next pass)


@dataclass(frozen=True)
class RecheckOutcome:
    connection: Connection
    health: Health
    change: HealthChange
    recorded: bool  # False: the organization was disconnected while it was being checked


class Operations:
    def __init__(
        self,
        store: ConnectionStore,
        config: Config,
        *,
        flow: ConnectionFlow | None = None,
        clock: Callable[[], float] = time.time,
        aws=None,
    ):
        self.store = store
        self.config = config
        self.clock = clock
        self.aws = aws if aws is not None else (flow.aws if flow is not None else None)
        self.flow = flow or ConnectionFlow(store, config, clock=clock, aws=self.aws)

    # -- reading ------------------------------------------------------------------------------------

    def list_page(self, page: int = 0, *, around: str = "") -> Listing:
        """One page of `/ce list` (or the page holding connection `around`) with the counts, from the indexes."""
        return self.store.listing(page, page_size=LIST_PAGE_SIZE, around=around)

    def overview(self, connected_shown: int = LIST_PAGE_SIZE) -> Listing:
        """The first `connected_shown` connected organizations, the counts and every connection in flight
        (the App Home): read from the indexes, never the history."""
        return self.store.listing(0, page_size=connected_shown, in_flight_all=True)

    def find(self, org_id: str) -> Connection | None:
        """The connection holding the organization (open or connected)."""
        return self.store.holder(org_id)

    def latest(self, org_id: str) -> Connection | None:
        """The organization's connection: the one holding it, else its last one (disconnected, cancelled…)."""
        return self.store.latest(org_id)

    def in_flight_of(self, user_id: str, listed: list[Listed] | None = None) -> list[Connection]:
        listed = list(self.store.listing(0, page_size=1, in_flight_all=True).in_flight_rows) if listed is None else listed
        return [x.connection for x in listed if x.connection.state.is_open and x.connection.requester == user_id]

    # -- the Status toggle --------------------------------------------------------------------------

    def set_status(
        self, status: OrgStatus, *, actor: str, is_approver: bool, org_id: str = "", conn_id: str = ""
    ) -> StatusResult:
        """Activate or deactivate an organization (its member accounts follow). Approvers only."""
        return self.store.set_status(status, actor=actor, actor_is_approver=is_approver, org_id=org_id, conn_id=conn_id)

    # -- ending connections -------------------------------------------------------------------------

    def disconnect(self, conn_id: str, *, actor: str, is_approver: bool) -> TransitionResult:
        return self.flow.disconnect(conn_id, actor=actor, is_approver=is_approver)

    def cancel(self, conn_id: str, *, actor: str, is_approver: bool) -> TransitionResult:
        return self.flow.cancel(conn_id, actor=actor, is_approver=is_approver, detail="cancelled with /ce cancel")

    def expire_due(self, now: float | None = None, limit: int = 100) -> list[Connection]:
        """Expire every open connection past its expires_at. Safe with several processes: the EXPIRE
        transition is atomic and refuses a connection that already moved on, so each expires once."""
        expired = []
        for conn_id in self.store.due_to_expire(now, limit=limit):
            result = self.flow.expire(conn_id)
            if result.ok:
                expired.append(result.connection)
        return expired

    # -- validations whose job was lost ----------------------------------------------------------------

    def revalidate_stuck(self, now: float | None = None, *, stuck_after: float) -> list[str]:
        """Re-enqueue (atomically, once per `stuck_after` across processes) the validation of every connection
        left in validating longer than `stuck_after`: its job died, and nothing else would move it on."""
        return self.store.claim_stuck_validations(
            stuck_after=stuck_after, now=now, limit=CLAIM_LIMIT, job_queue=VALIDATE
        )

    # -- health re-checks ---------------------------------------------------------------------------

    def claim_rechecks(self, now: float | None = None) -> list[str]:
        """Claim (atomically, once across processes) the active organizations due for a re-check; each gets a job."""
        return self.store.claim_rechecks(interval=self.config.recheck_interval, now=now, limit=CLAIM_LIMIT, job_queue=HEALTH)

    def request_recheck(self, conn_id: str, *, actor: str, failed_only: bool, response_url: str = "") -> str:
        """An on-demand re-check (a button): a durable job; returns its ID."""
        data = {"requested_by": actor, "failed_only": "1" if failed_only else "", "response_url": response_url}
        return JobQueue(self.store.redis, HEALTH).enqueue(Job(HEALTH, "recheck", conn_id, data))

    def recheck(self, conn_id: str, *, failed_only: bool = False, requested_by: str = SYSTEM_ACTOR) -> RecheckOutcome | None:
        """Validate a connected organization again (slow: boto3) and record what changed.

        Never changes the organization's state or status. What is new (a check that newly fails, an account
        newly not covered, an account added, removed or changed) is announced by a job in the same write."""
        conn = self.store.get(conn_id)
        if conn is None or conn.state is not State.CONNECTED:
            return None
        previous = self.store.health(conn.id)
        only = None  # every account
        if failed_only:  # the accounts that failed before (none before a first re-check: the checks still run)
            only = frozenset(u.id for u in previous.uncovered_active) if previous else frozenset()
        report = check_health(
            validation_request(conn),
            aws=self.aws,
            assume_timeout=min(self.config.assume_role_timeout, RECHECK_ASSUME_TIMEOUT),
            only_accounts=only,
        )
        baseline = baseline_checks(conn)
        for _ in range(5):  # another re-check may write in between: assess again against what it wrote
            accounts_before = self.store.accounts(conn.id)
            health, change = assess(
                previous,
                baseline_checks=baseline,
                previous_accounts=accounts_before,
                report=report,
                now=float(self.clock()),
                requested_by=requested_by,
            )
            audit = None
            if change.notable or change.recovered or change.covered_again:
                audit = {
                    "org": conn.org_id,
                    "actor": requested_by or SYSTEM_ACTOR,
                    "event": "recheck",
                    "from": _health_word(previous.problems if previous else _problems(baseline)),
                    "to": _health_word(health.problems),
                    "detail": change.summary(),
                }
            job = Job(SLACK, "announce_health", conn.id, {"change": change.to_json()}) if change.notable else None
            outcome, version = self.store.record_health(
                conn.id,
                health,
                expected_version=previous.version if previous else 0,
                accounts=[a.to_dict() for a in report.accounts] if report.accounts_listed else None,
                audit=audit,
                job=job,
            )
            if outcome == "ok":
                return RecheckOutcome(conn, replace(health, version=version), change, True)
            if outcome == "wrong_state":
                return RecheckOutcome(conn, health, change, False)
            previous = self.store.health(conn.id)
        log.warning("health of %s not recorded: re-checks kept overlapping", conn.org_id)
        return None


def baseline_checks(conn: Connection) -> tuple[CheckResult, ...]:
    """The checks the connection passed when it was validated (what the first re-check compares with)."""
    if not conn.last_checks:
        return ()
    return tuple(CheckResult.from_dict(c) for c in json.loads(conn.last_checks))


def _problems(checks) -> int:
    return sum(1 for c in checks if c.status == "failed")


def _health_word(problems: int) -> str:
    if problems == 0:
        return "healthy"
    return "1 problem" if problems == 1 else f"{problems} problems"
