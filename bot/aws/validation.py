"""Validation of a connection: runs the checks of `bot.aws.checks`, reports progress.

`validate_connection` runs every check in order against AWS, calling
`on_progress` with the whole checklist each time lines change, and returns a
`ValidationOutcome`. A check whose prerequisite failed is SKIPPED ("not run:
<check> failed"); checks that do not depend on the failure still run, so the
user sees every problem at once. Nothing here imports Slack.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from bot.aws.session import AwsAccess

log = logging.getLogger(__name__)


class CheckStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist shown in Slack."""

    key: str
    title: str
    status: CheckStatus
    found: str = ""  # what was found, in plain words
    fix: str = ""  # what to do (failed checks)

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.title, "status": str(self.status), "found": self.found, "fix": self.fix}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckResult":
        return cls(
            key=str(d["key"]),
            title=str(d.get("title", "")),
            status=CheckStatus(d["status"]),
            found=str(d.get("found") or ""),
            fix=str(d.get("fix") or ""),
        )


@dataclass(frozen=True)
class MemberAccount:
    """An account of the organization, as AWS Organizations lists it."""

    id: str
    name: str
    email: str
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, …

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "email": self.email, "status": self.status}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MemberAccount":
        return cls(
            id=str(d["id"]),
            name=str(d.get("name") or ""),
            email=str(d.get("email") or ""),
            status=str(d.get("status") or ""),
        )


@dataclass(frozen=True)
class ValidationRequest:
    org_id: str
    root_id: str
    role_arn: str
    external_id: str
    region: str  # where the stack and its StackSet were deployed
    stack_set_name: str


@dataclass(frozen=True)
class ValidationOutcome:
    checks: tuple[CheckResult, ...]
    accounts: tuple[MemberAccount, ...]  # every account listed, the management account included
    management_account_id: str  # "" when the organization could not be confirmed

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status is CheckStatus.PASSED for c in self.checks)


def pending_checklist() -> tuple[CheckResult, ...]:
    """Every check PENDING, in order: the first rendering of the checklist."""
    from bot.aws.checks import CHECKS

    return tuple(CheckResult(c.key, c.title, CheckStatus.PENDING) for c in CHECKS)


def validate_connection(
    request: ValidationRequest,
    *,
    aws: "AwsAccess | None" = None,
    on_progress: Callable[[tuple[CheckResult, ...]], None] = lambda checks: None,
    assume_timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ValidationOutcome:
    """Run every check for `request`; never raises for AWS errors (they become FAILED lines).

    `on_progress` gets the whole checklist when lines change. A check
    finishing and the next one starting are one change (one call); the first
    call shows the first check RUNNING, the last equals the outcome's checks.
    An exception raised by `on_progress` is logged and does not stop validation.
    """
    from bot.aws.checks import CHECKS, CheckContext, Verdict
    from bot.aws.explain import explain
    from bot.aws.session import AwsAccess

    lines: dict[str, CheckResult] = {c.key: CheckResult(c.key, c.title, CheckStatus.PENDING) for c in CHECKS}
    unpublished = False

    def publish() -> None:
        nonlocal unpublished
        unpublished = False
        try:
            on_progress(tuple(lines.values()))
        except Exception:  # the Slack side failing to render must not stop validation
            log.warning("on_progress failed; validation goes on", exc_info=True)

    context = CheckContext(
        request=request,
        aws=aws or AwsAccess(),
        assume_timeout=assume_timeout,
        sleep=sleep,
        clock=clock,
    )
    blocked: dict[str, str] = {}  # check key -> the failed check that stops its dependents

    for check in CHECKS:
        cause = next((blocked[need] for need in check.needs if need in blocked), None)
        if cause is not None:
            lines[check.key] = replace(lines[check.key], status=CheckStatus.SKIPPED, found=f"not run: {cause} failed")
            blocked[check.key] = cause
            unpublished = True
            continue

        lines[check.key] = replace(lines[check.key], status=CheckStatus.RUNNING)
        publish()

        def report(found: str, key: str = check.key) -> None:
            lines[key] = replace(lines[key], found=found)
            publish()

        context.report = report
        try:
            verdict = check.run(context)
        except Exception as error:  # AWS errors (and anything unexpected) become a FAILED line
            explanation = explain(error, context=check.key)
            if explanation.code == type(error).__name__ and not _is_botocore(error):
                log.error("check %s crashed", check.key, exc_info=True)
            verdict = Verdict(passed=False, found=explanation.found, fix=explanation.fix)
        finally:
            context.report = _ignore

        lines[check.key] = replace(
            lines[check.key],
            status=CheckStatus.PASSED if verdict.passed else CheckStatus.FAILED,
            found=verdict.found,
            fix="" if verdict.passed else verdict.fix,
        )
        if not verdict.passed and verdict.blocks:
            blocked[check.key] = check.noun
        unpublished = True

    if unpublished:
        publish()

    return ValidationOutcome(
        checks=tuple(lines.values()),
        accounts=context.accounts,
        management_account_id=context.management_account_id,
    )


def _ignore(found: str) -> None:
    pass


def _is_botocore(error: BaseException) -> bool:
    return type(error).__module__.startswith("botocore")

