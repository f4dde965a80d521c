"""Health re-checks against a moto organization: the connection's checks again, plus per-account coverage."""

from __future__ import annotations

from dataclasses import replace

from aws_testkit import new_session

from bot.aws.health import check_health, instance_state
from bot.aws.session import AwsAccess
from bot.aws.validation import CheckStatus


def recheck(world, **kwargs):
    return check_health(world.request, aws=AwsAccess(new_session()), assume_timeout=0.0, **kwargs)


def test_a_healthy_organization(world):
    report = recheck(world)
    assert all(c.status is CheckStatus.PASSED for c in report.checks)
    assert report.uncovered == () and report.members == 3 and report.accounts_listed
    assert len(report.accounts) == 4 and report.retested is None


def test_accounts_not_covered_are_named_with_the_instance_status_reason(world, outdated_instances):
    (bad, bad_name) = world.sandbox.accounts[1]
    outdated_instances[bad] = "Account 222 should have 'AWSCloudFormationStackSetExecutionRole' role: denied by an SCP"
    report = recheck(world)
    [uncovered] = report.uncovered
    assert (uncovered.id, uncovered.name, uncovered.active) == (bad, bad_name, True)
    assert uncovered.reason.startswith("OUTDATED/FAILED — Account 222") and "SCP" in uncovered.reason
    assert {c.key: c.status for c in report.checks}["stack_instances"] is CheckStatus.FAILED


def test_a_new_account_without_instance_and_a_suspended_account(world):
    import boto3

    organizations = boto3.client("organizations", region_name="us-east-1")
    new_id = organizations.create_account(AccountName="Analytics", Email="a@example.com")["CreateAccountStatus"]["AccountId"]
    closed = world.sandbox.accounts[2][0]
    organizations.close_account(AccountId=closed)
    report = recheck(world)
    by_id = {u.id: u for u in report.uncovered}
    assert by_id[new_id].active and "no instance of StackSet" in by_id[new_id].reason
    assert not by_id[closed].active and "in AWS Organizations" in by_id[closed].reason  # noted, not a failure
    assert report.members == 3  # two original ACTIVE members and the new one


def test_failed_only_re_tests_just_the_named_accounts(world, outdated_instances):
    first, second = world.sandbox.accounts[0][0], world.sandbox.accounts[1][0]
    outdated_instances[first] = "still broken"
    outdated_instances[second] = "broken too, but not asked about"
    report = recheck(world, only_accounts=[first])
    assert [u.id for u in report.uncovered] == [first] and report.retested == frozenset({first})
    assert report.members == 1


def test_coverage_is_unknown_when_its_checks_fail(world):
    report = check_health(replace(world.request, org_id="o-someoneelse1"), aws=AwsAccess(new_session()), assume_timeout=0.0)
    assert report.uncovered is None and {c.key: c.status for c in report.checks}["organization"] is CheckStatus.FAILED


def test_instance_state_in_words():
    assert instance_state({"Status": "CURRENT"}) == "CURRENT"
    assert instance_state({"Status": "INOPERABLE", "StatusReason": "  account   suspended "}) == "INOPERABLE — account suspended"
    assert len(instance_state({"Status": "OUTDATED", "StatusReason": "x" * 500})) < 200
