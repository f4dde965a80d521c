"""`assess`: what a re-check found that is new (the only things announced), and the merged health."""

from __future__ import annotations

from bot.aws.health import HealthReport, Uncovered
from bot.aws.validation import CheckResult, CheckStatus, MemberAccount
from bot.connection.health import SHOWN, Health, HealthChange, assess

P, F, S = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED
MGMT = "100000000000"


def checks(**statuses) -> tuple[CheckResult, ...]:
    return tuple(CheckResult(k, k.title(), s, found=f"{k} found", fix=f"fix {k}") for k, s in statuses.items())


def account(i: int, status: str = "ACTIVE") -> MemberAccount:
    return MemberAccount(f"{i:012d}", f"Account {i}", f"a{i}@example.com", status)


def stored(*accounts: MemberAccount) -> list[dict]:
    return [a.to_dict() for a in accounts]


def report(checks_, accounts=(), uncovered=(), *, listed=True, retested=None) -> HealthReport:
    return HealthReport(
        checks=checks_,
        accounts=tuple(accounts),
        accounts_listed=listed,
        uncovered=uncovered,
        members=sum(1 for a in accounts if a.status == "ACTIVE" and a.id != MGMT),
        retested=retested,
        management_account_id=MGMT,
    )


def test_nothing_new_is_not_notable():
    accts = (account(1), account(2))
    health, change = assess(
        None,
        baseline_checks=checks(assume_role=P, root=P),
        previous_accounts=stored(*accts),
        report=report(checks(assume_role=P, root=P), accts),
        now=5.0,
        requested_by="system",
    )
    assert not change.notable and health.ok and health.members == 2 and health.checked_at == 5.0


def test_a_check_that_newly_fails_is_new_once():
    base = checks(assume_role=P, trusted_access=P)
    broken = checks(assume_role=P, trusted_access=F)
    health, change = assess(None, baseline_checks=base, previous_accounts=[], report=report(broken), now=1, requested_by="s")
    assert [c.key for c in change.new_failures] == ["trusted_access"] and change.notable
    again, change = assess(health, baseline_checks=base, previous_accounts=[], report=report(broken), now=2, requested_by="s")
    assert not change.notable  # still failing: not new
    fixed, change = assess(again, baseline_checks=base, previous_accounts=[], report=report(base), now=3, requested_by="s")
    assert change.recovered == ("trusted_access",) and not change.notable  # recoveries are not announced


def test_skipped_checks_neither_fail_nor_recover():
    base = checks(assume_role=P, root=F)
    health = Health(checks=base, version=1)
    _, change = assess(health, baseline_checks=(), previous_accounts=[], report=report(checks(assume_role=F, root=S), listed=False), now=1, requested_by="s")
    assert [c.key for c in change.new_failures] == ["assume_role"] and change.recovered == ()


def test_account_changes():
    before = (account(1), account(2), account(3))
    after = (account(1), account(3, "SUSPENDED"), account(4))
    _, change = assess(None, baseline_checks=(), previous_accounts=stored(*before), report=report((), after), now=1, requested_by="s")
    assert [a.id for a in change.added] == [account(4).id]
    assert [a.id for a in change.removed] == [account(2).id]
    assert [(a.id, old, a.status) for a, old in change.status_changed] == [(account(3).id, "ACTIVE", "SUSPENDED")]
    assert change.notable


def test_accounts_not_listed_this_time_change_nothing():
    _, change = assess(None, baseline_checks=(), previous_accounts=stored(account(1)), report=report((), listed=False, uncovered=None), now=1, requested_by="s")
    assert not (change.added or change.removed or change.status_changed)


def test_coverage_new_and_covered_again_and_failed_only_merge():
    a, b, c = (Uncovered(account(i).id, f"Account {i}", f"reason {i}") for i in (1, 2, 3))
    accts = [account(1), account(2), account(3)]
    first, change = assess(None, baseline_checks=(), previous_accounts=stored(*accts), report=report((), accts, (a, b)), now=1, requested_by="s")
    assert [u.id for u in change.newly_uncovered] == [a.id, b.id]
    first = Health(**{**first.__dict__, "version": 1})

    # failed only: a re-tested and fixed; b not re-tested (kept); c never asked about
    merged, change = assess(first, baseline_checks=(), previous_accounts=stored(*accts),
                            report=report((), accts, (), retested=frozenset({a.id})), now=2, requested_by="U1")  # fmt: skip
    assert [u.id for u in merged.uncovered] == [b.id] and merged.failed_only
    assert change.covered_again == (a.id,) and not change.notable

    # coverage unknown (the role could not be assumed): as it was, nothing "covered again"
    kept, change = assess(merged, baseline_checks=(), previous_accounts=stored(*accts),
                          report=report(checks(assume_role=F), listed=False, uncovered=None), now=3, requested_by="s")  # fmt: skip
    assert [u.id for u in kept.uncovered] == [b.id] and change.covered_again == ()

    # a full re-check finds c newly not covered, b still: only c is new
    _, change = assess(kept, baseline_checks=(), previous_accounts=stored(*accts), report=report((), accts, (b, c)), now=4, requested_by="s")
    assert [u.id for u in change.newly_uncovered] == [c.id]


def test_a_suspended_account_not_covered_is_no_failure():
    suspended = Uncovered(account(1).id, "A", "the account is SUSPENDED in AWS Organizations", active=False)
    health, change = assess(None, baseline_checks=(), previous_accounts=[], report=report((), (), (suspended,)), now=1, requested_by="s")
    assert health.ok and change.newly_uncovered == ()


def test_long_lists_are_cut_and_counted_and_survive_json():
    many = [account(i) for i in range(SHOWN + 25)]
    _, change = assess(None, baseline_checks=(), previous_accounts=stored(account(9999)), report=report((), many), now=1, requested_by="s")
    assert len(change.added) == SHOWN and change.count("added") == SHOWN + 25
    assert HealthChange.from_json(change.to_json()) == change
    assert "added:" in change.summary() and len(change.summary()) <= 300


def test_health_round_trips_through_redis_fields():
    health = Health(checked_at=3.5, version=2, checks=checks(root=F), uncovered=(Uncovered("1", "n", "r"),), members=4, failed_only=True, requested_by="U1")
    data = {**health.fields(), "version": "2"}
    assert Health.from_hash(data) == health
    assert data["problems"] == "2"
