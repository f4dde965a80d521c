"""The health of a connected organization, and what changed since the last look.

`Health` is what the last re-check found (stored in Redis as `ce:conn:{id}:health`).
`assess` compares a new `HealthReport` with it (or, before the first re-check,
with the connection's own validation and its stored member accounts) and says
what is new: checks that newly fail, accounts newly not covered, accounts added,
removed or changed. Only those are announced; a re-check never changes the
organization's status. Nothing here knows about Slack or Redis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from bot.aws.health import HealthReport, Uncovered
from bot.aws.validation import CheckResult, CheckStatus, MemberAccount

SHOWN = 50  # at most this many items of each kind travel in one notice
STACK_INSTANCES = "stack_instances"  # the check that sums up coverage; the per-account lines say more


@dataclass(frozen=True)
class Health:
    checked_at: float = 0.0
    version: int = 0
    checks: tuple[CheckResult, ...] = ()
    uncovered: tuple[Uncovered, ...] = ()
    members: int = 0  # active member accounts
    failed_only: bool = False  # the last re-check re-tested only what had failed
    requested_by: str = ""  # "system" for the scheduler, else the Slack user who clicked
    claimed_at: float = 0.0  # the scheduler's last claim
    notified: int = 0  # the last version announced in the thread

    @property
    def failing(self) -> frozenset[str]:
        return frozenset(c.key for c in self.checks if c.status is CheckStatus.FAILED)

    @property
    def uncovered_active(self) -> tuple[Uncovered, ...]:
        return tuple(u for u in self.uncovered if u.active)

    @property
    def problems(self) -> int:
        """Failed checks plus active accounts not covered (0: healthy)."""
        return len(self.failing) + len(self.uncovered_active)

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def fields(self) -> dict[str, str]:
        """What a re-check writes (never claimed_at or notified, which others keep)."""
        return {
            "checked_at": repr(float(self.checked_at)),
            "checks": json.dumps([c.to_dict() for c in self.checks]),
            "uncovered": json.dumps([u.to_dict() for u in self.uncovered]),
            "members": str(self.members),
            "failed_only": "1" if self.failed_only else "",
            "requested_by": self.requested_by,
            "problems": str(self.problems),
        }

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> "Health":
        return cls(
            checked_at=float(data.get("checked_at") or 0),
            version=int(data.get("version") or 0),
            checks=tuple(CheckResult.from_dict(c) for c in json.loads(data.get("checks") or "[]")),
            uncovered=tuple(Uncovered.from_dict(u) for u in json.loads(data.get("uncovered") or "[]")),
            members=int(data.get("members") or 0),
            failed_only=bool(data.get("failed_only")),
            requested_by=data.get("requested_by", ""),
            claimed_at=float(data.get("claimed_at") or 0),
            notified=int(data.get("notified") or 0),
        )


@dataclass(frozen=True)
class HealthChange:
    """What a re-check found that the last one did not."""

    new_failures: tuple[CheckResult, ...] = ()
    newly_uncovered: tuple[Uncovered, ...] = ()
    added: tuple[MemberAccount, ...] = ()
    removed: tuple[MemberAccount, ...] = ()
    status_changed: tuple[tuple[MemberAccount, str], ...] = ()  # (account now, its status before)
    recovered: tuple[str, ...] = ()  # check keys that pass again
    covered_again: tuple[str, ...] = ()  # account IDs covered again
    counts: dict[str, int] = field(default_factory=dict)  # full counts when lists were cut to SHOWN

    @property
    def notable(self) -> bool:
        """Worth a message in the thread: a new failure or an account change (never a recovery alone)."""
        return bool(self.new_failures or self.newly_uncovered or self.added or self.removed or self.status_changed)

    @property
    def shown_failures(self) -> tuple[CheckResult, ...]:
        """New failed checks; the coverage summary line is left out when the accounts are named one by one."""
        if self.newly_uncovered:
            return tuple(c for c in self.new_failures if c.key != STACK_INSTANCES)
        return self.new_failures

    def count(self, kind: str) -> int:
        return self.counts.get(kind, len(getattr(self, kind)))

    def summary(self, limit: int = 300) -> str:
        """One line for the audit log."""
        parts = []
        if self.new_failures:
            parts.append("new failures: " + ", ".join(c.key for c in self.new_failures))
        if self.newly_uncovered:
            parts.append("not covered: " + ", ".join(u.id for u in self.newly_uncovered))
        if self.added:
            parts.append("added: " + ", ".join(a.id for a in self.added))
        if self.removed:
            parts.append("removed: " + ", ".join(a.id for a in self.removed))
        if self.status_changed:
            parts.append("changed: " + ", ".join(f"{a.id} {old}→{a.status}" for a, old in self.status_changed))
        if self.recovered:
            parts.append("passing again: " + ", ".join(self.recovered))
        if self.covered_again:
            parts.append("covered again: " + ", ".join(self.covered_again))
        text = "; ".join(parts) or "no change"
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def to_json(self) -> str:
        return json.dumps(
            {
                "new_failures": [c.to_dict() for c in self.new_failures],
                "newly_uncovered": [u.to_dict() for u in self.newly_uncovered],
                "added": [a.to_dict() for a in self.added],
                "removed": [a.to_dict() for a in self.removed],
                "status_changed": [[a.to_dict(), old] for a, old in self.status_changed],
                "recovered": list(self.recovered),
                "covered_again": list(self.covered_again),
                "counts": self.counts,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "HealthChange":
        d = json.loads(text or "{}")
        return cls(
            new_failures=tuple(CheckResult.from_dict(c) for c in d.get("new_failures", [])),
            newly_uncovered=tuple(Uncovered.from_dict(u) for u in d.get("newly_uncovered", [])),
            added=tuple(MemberAccount.from_dict(a) for a in d.get("added", [])),
            removed=tuple(MemberAccount.from_dict(a) for a in d.get("removed", [])),
            status_changed=tuple((MemberAccount.from_dict(a), str(old)) for a, old in d.get("status_changed", [])),
            recovered=tuple(d.get("recovered", [])),
            covered_again=tuple(d.get("covered_again", [])),
            counts={k: int(v) for k, v in (d.get("counts") or {}).items()},
        )


def assess(
    previous: Health | None,
    *,
    baseline_checks: Sequence[CheckResult],
    previous_accounts: Sequence[Mapping[str, Any]],
    report: HealthReport,
    now: float,
    requested_by: str,
) -> tuple[Health, HealthChange]:
    """The new health record and what changed since `previous` (or since the connection's validation)."""
    before_failing = previous.failing if previous else frozenset(
        c.key for c in baseline_checks if c.status is CheckStatus.FAILED
    )
    before_uncovered = {u.id: u for u in previous.uncovered} if previous else {}
    before_accounts = {str(a["id"]): MemberAccount.from_dict(a) for a in previous_accounts if a.get("id")}

    # checks: every one ran again (failed-only included: the others are their prerequisites)
    new_failures = tuple(c for c in report.failed if c.key not in before_failing)
    recovered = tuple(
        sorted(c.key for c in report.checks if c.key in before_failing and c.status is CheckStatus.PASSED)
    )

    # member accounts
    added: list[MemberAccount] = []
    removed: list[MemberAccount] = []
    changed: list[tuple[MemberAccount, str]] = []
    gone: set[str] = set()
    if report.accounts_listed:
        after = {a.id: a for a in report.accounts}
        if before_accounts:
            added = [after[i] for i in sorted(after.keys() - before_accounts.keys())]
            removed = [before_accounts[i] for i in sorted(before_accounts.keys() - after.keys())]
            changed = [
                (after[i], before_accounts[i].status)
                for i in sorted(after.keys() & before_accounts.keys())
                if after[i].status != before_accounts[i].status
            ]
        gone = set(before_accounts.keys() - after.keys())
        members = sum(1 for a in report.accounts if a.status == "ACTIVE" and a.id != report.management_account_id)
    else:
        members = previous.members if previous else 0

    # coverage: unknown this time → as it was; failed-only → the re-tested accounts replace theirs
    if report.uncovered is None:
        uncovered = tuple(u for u in before_uncovered.values() if u.id not in gone)
        known: frozenset[str] = frozenset()
    elif report.retested is None:
        uncovered = report.uncovered
        known = frozenset(before_uncovered) | frozenset(u.id for u in report.uncovered)
    else:
        kept = [u for u in before_uncovered.values() if u.id not in report.retested and u.id not in gone]
        uncovered = tuple(sorted([*kept, *report.uncovered], key=lambda u: u.id))
        known = report.retested
    now_uncovered = {u.id: u for u in uncovered}
    newly_uncovered = tuple(
        u for u in uncovered if u.active and not (u.id in before_uncovered and before_uncovered[u.id].active)
    )
    covered_again = tuple(
        sorted(
            i
            for i, u in before_uncovered.items()
            if u.active and i in known and i not in gone and not (i in now_uncovered and now_uncovered[i].active)
        )
    )

    counts = {}
    lists = {"new_failures": new_failures, "newly_uncovered": newly_uncovered, "added": added, "removed": removed,
             "status_changed": changed}  # fmt: skip
    for kind, items in lists.items():
        if len(items) > SHOWN:
            counts[kind] = len(items)
    change = HealthChange(
        new_failures=tuple(new_failures[:SHOWN]),
        newly_uncovered=tuple(newly_uncovered[:SHOWN]),
        added=tuple(added[:SHOWN]),
        removed=tuple(removed[:SHOWN]),
        status_changed=tuple(changed[:SHOWN]),
        recovered=recovered,
        covered_again=covered_again[:SHOWN],
        counts=counts,
    )
    health = Health(
        checked_at=now,
        version=previous.version if previous else 0,
        checks=report.checks,
        uncovered=uncovered,
        members=members,
        failed_only=report.retested is not None,
        requested_by=requested_by,
        claimed_at=previous.claimed_at if previous else 0.0,
        notified=previous.notified if previous else 0,
    )
    return health, change
