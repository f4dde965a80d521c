"""Health re-checks of a connected organization: the connection's checks again, plus per-account coverage.

`check_health` runs `bot.aws.validation.validate_connection` (the very checks
the connection passed) and then checks coverage account by account: every
ACTIVE member account must have an instance of the member StackSet in CURRENT
status. An account that is not covered is named with the instance's status and
status reason (suspended accounts, SCP denies, failed instances…).

With `only_accounts` (the "Re-check failed only" button) coverage is asked for
just those accounts. Nothing here imports Slack, and nothing here writes state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from bot.aws.checks import instance_state
from bot.aws.validation import CheckResult, CheckStatus, MemberAccount, ValidationRequest, validate_connection

if TYPE_CHECKING:
    from bot.aws.session import AwsAccess

log = logging.getLogger(__name__)

COVERAGE_NEEDS = ("assume_role", "management_account", "stack_set", "member_accounts")
REASON_LIMIT = 160


@dataclass(frozen=True)
class Uncovered:
    """A member account without a working member role."""

    id: str
    name: str
    reason: str  # the instance's status and status reason, or why there is none
    active: bool = True  # an ACTIVE account: not being covered is a failure

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "reason": self.reason, "active": self.active}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Uncovered":
        return cls(
            id=str(d["id"]), name=str(d.get("name") or ""), reason=str(d.get("reason") or ""), active=bool(d.get("active", True))
        )


@dataclass(frozen=True)
class HealthReport:
    """What one re-check found."""

    checks: tuple[CheckResult, ...]
    accounts: tuple[MemberAccount, ...]  # every account listed; () when they could not be listed
    accounts_listed: bool
    uncovered: tuple[Uncovered, ...] | None  # None: coverage could not be determined
    members: int  # active member accounts whose coverage was checked
    retested: frozenset[str] | None = None  # failed-only: the accounts re-tested; None: every account
    management_account_id: str = ""

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.FAILED)


def check_health(
    request: ValidationRequest,
    *,
    aws: "AwsAccess | None" = None,
    assume_timeout: float = 10.0,
    only_accounts: Iterable[str] | None = None,
) -> HealthReport:
    """Validate the connection again and check coverage; never raises for AWS errors."""
    from bot.aws.session import AwsAccess

    aws = aws or AwsAccess()
    outcome = validate_connection(request, aws=aws, assume_timeout=assume_timeout)
    by_key = {c.key: c for c in outcome.checks}
    listed = _passed(by_key.get("member_accounts"))
    only = frozenset(only_accounts) if only_accounts is not None else None
    uncovered: tuple[Uncovered, ...] | None = None
    members = 0
    if all(_passed(by_key.get(key)) for key in COVERAGE_NEEDS):
        try:
            uncovered, members = account_coverage(
                request, outcome.accounts, outcome.management_account_id, aws=aws, only=only
            )
        except Exception as error:  # noqa: BLE001 - coverage unknown this time; the checks still count
            log.warning("coverage of %s could not be checked: %s", request.org_id, type(error).__name__)
    return HealthReport(
        checks=outcome.checks,
        accounts=outcome.accounts if listed else (),
        accounts_listed=listed,
        uncovered=uncovered,
        members=members,
        retested=only,
        management_account_id=outcome.management_account_id,
    )


def account_coverage(
    request: ValidationRequest,
    accounts: Iterable[MemberAccount],
    management_account_id: str,
    *,
    aws: "AwsAccess",
    only: frozenset[str] | None = None,
) -> tuple[tuple[Uncovered, ...], int]:
    """(accounts not covered, active member accounts checked), for every member account or `only` those."""
    session = aws.assume_role(request.role_arn, request.external_id, duration=900, region=request.region)
    cloudformation = aws.client(session, "cloudformation", request.region)
    # AWS never deploys a service-managed StackSet to the management account.
    members = [a for a in accounts if a.id != management_account_id and (only is None or a.id in only)]
    wanted = {a.id for a in members}
    instances: dict[str, list[dict]] = {}
    paginator = cloudformation.get_paginator("list_stack_instances")
    if only is None:
        pages = paginator.paginate(StackSetName=request.stack_set_name)
        summaries = [s for page in pages for s in page.get("Summaries", [])]
    else:
        summaries = [
            s
            for account_id in sorted(wanted)
            for page in paginator.paginate(
                StackSetName=request.stack_set_name,
                StackInstanceAccount=account_id,
                StackInstanceRegion=request.region,
            )
            for s in page.get("Summaries", [])
        ]
    for summary in summaries:
        if summary.get("Account") in wanted:
            instances.setdefault(summary["Account"], []).append(summary)

    uncovered: list[Uncovered] = []
    active = 0
    for account in sorted(members, key=lambda a: a.id):
        if account.status != "ACTIVE":
            uncovered.append(
                Uncovered(account.id, account.name, f"the account is {account.status or 'not active'} in AWS Organizations", False)
            )
            continue
        active += 1
        found = instances.get(account.id, [])
        if not found:
            uncovered.append(
                Uncovered(
                    account.id,
                    account.name,
                    f"no instance of StackSet {request.stack_set_name} (is the account under root {request.root_id}, "
                    "with automatic deployment on?)",
                )
            )
            continue
        broken = [s for s in found if s.get("Status") != "CURRENT"]
        if broken:
            uncovered.append(Uncovered(account.id, account.name, instance_state(broken[0], REASON_LIMIT)))
    return tuple(uncovered), active


def _passed(check: CheckResult | None) -> bool:
    return check is not None and check.status is CheckStatus.PASSED
