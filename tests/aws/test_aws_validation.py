"""validate_connection against an organization in moto: every check passing, then each failing."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_testkit import EXTERNAL_ID, REGION, STACK_SET, TRUSTED_ACCOUNT, new_session
from moto.cloudformation.models import cloudformation_backends
from moto.sts.models import sts_backends

from bot.aws.session import AwsAccess
from bot.aws.validation import CheckResult, CheckStatus, MemberAccount, pending_checklist
from bot.playground.sandbox_org import enforce_trust_policies, trust_policy


KEYS = [
    "assume_role",
    "organization",
    "management_account",
    "root",
    "trusted_access",
    "stack_set",
    "stack_instances",
    "member_accounts",
]
AFTER_ORGANIZATION = KEYS[2:]
MANAGEMENT = "123456789012"  # moto's default identity, management account of the sandbox


def by_key(outcome):
    return {c.key: c for c in outcome.checks}


def statuses(outcome):
    return {c.key: c.status for c in outcome.checks}


def only_failed(outcome, *keys):
    """Exactly `keys` failed; every other check passed."""
    assert {k for k, s in statuses(outcome).items() if s is not CheckStatus.PASSED} == set(keys), outcome.checks
    assert all(by_key(outcome)[k].status is CheckStatus.FAILED for k in keys)
    for k in keys:
        assert by_key(outcome)[k].fix, f"{k} failed without a fix"


def the_stack_set():
    return next(iter(cloudformation_backends[MANAGEMENT][REGION].stacksets.values()))


def org_client():
    return boto3.client("organizations", region_name="us-east-1")


# --- everything passes ------------------------------------------------------------


def test_everything_passes_and_lists_every_account(world):
    outcome = world.validate()

    assert [c.key for c in outcome.checks] == KEYS
    assert outcome.passed, outcome.checks
    assert outcome.management_account_id == MANAGEMENT
    listed = {a.id: a for a in outcome.accounts}
    assert set(listed) == {MANAGEMENT} | {account_id for account_id, _ in world.sandbox.accounts}
    assert {listed[i].name for i, _ in world.sandbox.accounts} == {"Production", "Staging", "Development"}
    assert all(a.status == "ACTIVE" and a.email for a in outcome.accounts)
    checks = by_key(outcome)
    assert checks["member_accounts"].found == "4 accounts (4 active)"
    assert checks["stack_instances"].found == "3 of 3 active member accounts have the member role"
    assert checks["assume_role"].found == f"assumed CloudEntitlementsManagementRole in account {MANAGEMENT}"
    assert all(c.fix == "" for c in outcome.checks)

    assumed = sts_backends[MANAGEMENT]["aws"].assumed_roles[-1]
    assert assumed.external_id == EXTERNAL_ID
    assert assumed.session_name == "ce-bot-validation"
    assert assumed.role_arn == world.role_arn
    assert world.clock.sleeps == []


def test_reported_auto_deployment_passes(world):
    the_stack_set().auto_deployment = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    outcome = world.validate()
    assert outcome.passed
    assert "automatic deployment on" in by_key(outcome)["stack_set"].found


def test_list_accounts_follows_every_page(world):
    for name in ("Extra 1", "Extra 2", "Extra 3"):
        org_client().create_account(AccountName=name, Email=f"{name.replace(' ', '')}@example.com")
    pages = []

    def factory(session, service, region):
        client = session.client(service, region_name=region)
        if service == "organizations":  # force pages of 2 accounts
            client.meta.events.register(
                "provide-client-params.organizations.ListAccounts", lambda params, **kw: params.update(MaxResults=2)
            )
            client.meta.events.register(
                "after-call.organizations.ListAccounts", lambda parsed, **kw: pages.append(len(parsed["Accounts"]))
            )
        return client

    outcome = world.validate(AwsAccess(client_factory=factory))

    assert len(outcome.accounts) == 7
    assert len({a.id for a in outcome.accounts}) == 7
    assert pages == [2, 2, 2, 1]  # listed once, shared by stack_instances and member_accounts
    checks = by_key(outcome)
    assert checks["member_accounts"].found == "7 accounts (7 active)"
    # the 3 accounts created after the StackSet was deployed have no instance
    assert checks["stack_instances"].status is CheckStatus.FAILED
    assert "3 of 6 active member accounts" in checks["stack_instances"].found


# --- on_progress -------------------------------------------------------------------


def test_pending_checklist_is_every_check_pending():
    checks = pending_checklist()
    assert [c.key for c in checks] == KEYS
    assert all(c.status is CheckStatus.PENDING and c.title and not c.found for c in checks)


def test_progress_starts_pending_and_ends_with_the_outcome(world):
    outcome = world.validate()
    progress = world.progress

    first = progress[0]
    assert [c.key for c in first] == KEYS
    assert first[0].status is CheckStatus.RUNNING
    assert all(c.status is CheckStatus.PENDING for c in first[1:])
    assert progress[-1] == outcome.checks
    for before, after in zip(progress, progress[1:]):
        assert before != after  # a call only when a line changed
    # one call per check starting (its predecessor's result rides along), plus the last result
    assert len(progress) == len(KEYS) + 1
    for snapshot in progress:
        assert sum(c.status is CheckStatus.RUNNING for c in snapshot) <= 1


def test_progress_failing_does_not_stop_validation(world):
    def broken(checks):
        raise RuntimeError("slack is down")

    from bot.aws.validation import validate_connection

    outcome = validate_connection(
        world.request, aws=AwsAccess(new_session()), on_progress=broken, sleep=world.clock.sleep, clock=world.clock.clock
    )
    assert outcome.passed


# --- each check failing on its own ------------------------------------------------------


def test_wrong_organization_skips_everything_after_it(world):
    outcome = world.validate(org_id="o-aaaaaaaaaa")
    checks = by_key(outcome)
    assert checks["assume_role"].status is CheckStatus.PASSED
    assert checks["organization"].status is CheckStatus.FAILED
    assert checks["organization"].found == f"this role belongs to organization {world.sandbox.org_id}, not o-aaaaaaaaaa"
    for key in AFTER_ORGANIZATION:
        assert checks[key].status is CheckStatus.SKIPPED
        assert checks[key].found == "not run: organization failed"
    assert outcome.accounts == ()
    assert outcome.management_account_id == ""
    assert not outcome.passed


def test_account_in_no_organization(mocked_aws, clock):
    from bot.aws.validation import ValidationRequest, validate_connection

    iam = boto3.client("iam")
    arn = iam.create_role(RoleName="Lonely", AssumeRolePolicyDocument=json.dumps(trust_policy(TRUSTED_ACCOUNT, EXTERNAL_ID)))
    request = ValidationRequest("o-aaaaaaaaaa", "r-abcd", arn["Role"]["Arn"], EXTERNAL_ID, REGION, STACK_SET)
    outcome = validate_connection(request, aws=AwsAccess(new_session()), sleep=clock.sleep, clock=clock.clock)
    checks = by_key(outcome)
    assert checks["organization"].status is CheckStatus.FAILED
    assert checks["organization"].found == f"the role's account {MANAGEMENT} is in no AWS organization"
    assert all(checks[k].status is CheckStatus.SKIPPED for k in AFTER_ORGANIZATION)


def test_role_in_a_member_account(world):
    member_id, member_name = world.sandbox.accounts[0]
    # act as the member account (moto lets any assume-role through) and create the role there
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    member = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    role = member.client("iam").create_role(
        RoleName="CloudEntitlementsManagementRole",
        AssumeRolePolicyDocument=json.dumps(trust_policy(TRUSTED_ACCOUNT, EXTERNAL_ID)),
    )["Role"]["Arn"]

    with enforce_trust_policies():
        outcome = world.validate(role_arn=role)

    checks = by_key(outcome)
    assert checks["assume_role"].status is CheckStatus.PASSED
    assert checks["organization"].status is CheckStatus.PASSED
    assert checks["management_account"].status is CheckStatus.FAILED
    assert checks["management_account"].found == (
        f"the role is in member account {member_id}; the management account is {MANAGEMENT}"
    )
    assert f"management account {MANAGEMENT}" in checks["management_account"].fix
    for key in KEYS[3:]:
        assert checks[key].status is CheckStatus.SKIPPED
        assert checks[key].found == "not run: management account failed"


def test_wrong_root_id(world):
    outcome = world.validate(root_id="r-zzzz")
    only_failed(outcome, "root")
    root = by_key(outcome)["root"]
    assert root.found == f"the organization's root is {world.sandbox.root_id}, not r-zzzz"
    assert world.sandbox.root_id in root.fix


def test_trusted_access_off(world):
    org_client().disable_aws_service_access(ServicePrincipal="member.org.stacksets.cloudformation.amazonaws.com")
    outcome = world.validate()
    only_failed(outcome, "trusted_access")
    fix = by_key(outcome)["trusted_access"].fix
    assert "Activate trusted access" in fix
    assert "enable-aws-service-access --service-principal member.org.stacksets.cloudformation.amazonaws.com" in fix


def test_consolidated_billing_only_fails_but_does_not_block(world, monkeypatch):
    from moto.organizations.models import organizations_backends

    monkeypatch.setattr(organizations_backends[MANAGEMENT]["aws"].org, "feature_set", "CONSOLIDATED_BILLING")
    outcome = world.validate()
    only_failed(outcome, "organization")
    assert "Enable all features" in by_key(outcome)["organization"].fix


@pytest.mark.parametrize("changes", [{"stack_set_name": "Elsewhere"}, {"region": "us-west-2"}])
def test_stack_set_missing(world, changes):
    outcome = world.validate(**changes)
    checks = by_key(outcome)
    name, region = changes.get("stack_set_name", STACK_SET), changes.get("region", REGION)
    assert checks["stack_set"].status is CheckStatus.FAILED
    assert checks["stack_set"].found == f"no StackSet named {name} in region {region}"
    assert f"in region {region}" in checks["stack_set"].fix
    assert checks["stack_instances"].status is CheckStatus.SKIPPED
    assert checks["stack_instances"].found == "not run: StackSet failed"
    assert checks["member_accounts"].status is CheckStatus.PASSED  # independent checks still run
    assert checks["trusted_access"].status is CheckStatus.PASSED


def test_self_managed_stack_set(world):
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack_set(StackSetName="SelfManaged", TemplateBody=the_stack_set().template)
    outcome = world.validate(stack_set_name="SelfManaged")
    only_failed(outcome, "stack_set", "stack_instances")  # the instances are still checked
    checks = by_key(outcome)
    assert "self_managed" in checks["stack_set"].found.lower().replace("-", "_")
    assert "3 of 3 active member accounts lack the member role" in checks["stack_instances"].found


def test_auto_deployment_off(world):
    the_stack_set().auto_deployment = {"Enabled": False, "RetainStacksOnAccountRemoval": False}
    outcome = world.validate()
    only_failed(outcome, "stack_set")
    assert by_key(outcome)["stack_set"].found == f"StackSet {STACK_SET}: automatic deployment is off"


def test_account_without_an_instance(world):
    newcomer = org_client().create_account(AccountName="Newcomer", Email="newcomer@example.com")
    newcomer_id = newcomer["CreateAccountStatus"]["AccountId"]
    outcome = world.validate()
    only_failed(outcome, "stack_instances")
    instances = by_key(outcome)["stack_instances"]
    assert instances.found == (
        f"1 of 4 active member accounts lack the member role: no instance in {newcomer_id} (Newcomer)"
    )
    assert world.sandbox.root_id in instances.fix


def test_failed_instance_names_its_reason(world):
    account_id, name = world.sandbox.accounts[1]
    instance = next(i for i in the_stack_set().stack_instances if i.account_id == account_id)
    original = instance.to_dict()
    instance.to_dict = lambda: {
        **original,
        "Status": "INOPERABLE",
        "StatusReason": "Account is suspended",
        "StackInstanceStatus": {"DetailedStatus": "FAILED"},
    }
    outcome = world.validate()
    only_failed(outcome, "stack_instances")
    found = by_key(outcome)["stack_instances"].found
    assert found == (
        f"1 of 3 active member accounts lack the member role: "
        f"not deployed in {account_id} ({name}): INOPERABLE/FAILED — Account is suspended"
    )


def test_instances_still_deploying_say_wait(world):
    instance = next(i for i in the_stack_set().stack_instances if i.account_id != MANAGEMENT)
    original = instance.to_dict()
    instance.to_dict = lambda: {**original, "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "RUNNING"}}
    outcome = world.validate()
    only_failed(outcome, "stack_instances")
    assert "still deploying" in by_key(outcome)["stack_instances"].fix


def test_many_missing_accounts_are_capped(world):
    organizations = org_client()
    for n in range(12):
        organizations.create_account(AccountName=f"Late {n}", Email=f"late{n}@example.com")
    outcome = world.validate()
    found = by_key(outcome)["stack_instances"].found
    assert found.startswith("12 of 15 active member accounts lack the member role: no instance in ")
    assert found.endswith(" and 2 more")
    assert found.count("(Late ") == 10


# --- assume-role: trust policy, ExternalId, propagation --------------------------------------


def test_enforced_trust_policy_with_the_right_external_id_passes(world):
    with enforce_trust_policies():
        outcome = world.validate()
    assert outcome.passed


def test_wrong_external_id_is_denied_after_retries(world):
    with enforce_trust_policies():
        outcome = world.validate(external_id="ce-some-other-connection")

    checks = by_key(outcome)
    assume = checks["assume_role"]
    assert assume.status is CheckStatus.FAILED
    assert "trust policy does not trust the Cloud Entitlements account, or the ExternalId differs" in assume.found
    assert "THIS connection, unchanged" in assume.fix
    for key in KEYS[1:]:
        assert checks[key].status is CheckStatus.SKIPPED
        assert checks[key].found == "not run: assume role failed"

    sleeps = world.clock.sleeps
    assert len(sleeps) >= 5
    assert sum(sleeps) == pytest.approx(60.0)  # gave up at the timeout, not before, not after
    assert all(later >= earlier / 2 for earlier, later in zip(sleeps[:-2], sleeps[1:-1]))  # backing off
    assert f"after {len(sleeps) + 1} attempts" in assume.found

    waiting = [c[0].found for c in world.progress if c[0].status is CheckStatus.RUNNING and c[0].found]
    assert waiting[:2] == [
        "waiting for the new role to reach IAM, attempt 2",
        "waiting for the new role to reach IAM, attempt 3",
    ]
    assert len(waiting) == len(sleeps)


def test_role_that_reaches_iam_while_waiting(world):
    """AccessDenied right after the role was created is IAM propagation: retried until it heals."""
    iam = boto3.client("iam")
    iam.delete_role(RoleName="CloudEntitlementsManagementRole")

    def role_appears():
        if len(world.clock.sleeps) == 2:
            iam.create_role(
                RoleName="CloudEntitlementsManagementRole",
                AssumeRolePolicyDocument=json.dumps(trust_policy(TRUSTED_ACCOUNT, EXTERNAL_ID)),
            )

    world.clock.on_sleep = role_appears
    with enforce_trust_policies():
        outcome = world.validate()
    assert outcome.passed, outcome.checks
    assert len(world.clock.sleeps) == 2


def test_enforcement_can_require_the_trusted_principal(world):
    with enforce_trust_policies(check_principal=True):
        outcome = world.validate(aws=None)  # the bot's account (moto's default) is not TRUSTED_ACCOUNT
    assert by_key(outcome)["assume_role"].status is CheckStatus.FAILED


def test_enforcement_is_removed_afterwards(world):
    with enforce_trust_policies():
        pass
    assert world.validate(external_id="ce-anything-goes").passed  # plain moto again


def test_malformed_external_id_is_not_retried(world):
    outcome = world.validate(external_id="x")  # botocore: min length 2
    assume = by_key(outcome)["assume_role"]
    assert assume.status is CheckStatus.FAILED
    assert "malformed" in assume.found
    assert world.clock.sleeps == []


def test_malformed_role_arn_is_refused_without_calling_aws(world):
    outcome = world.validate(role_arn="arn:aws:iam::12345:role/Nope")
    assume = by_key(outcome)["assume_role"]
    assert assume.status is CheckStatus.FAILED
    assert assume.found == "the role ARN is not a valid IAM role ARN"
    assert sts_backends[MANAGEMENT]["aws"].assumed_roles == []


# --- nothing secret in what the user sees ---------------------------------------------------------


def test_no_credential_reaches_found_or_fix(world, caplog):
    caplog.set_level("DEBUG", logger="bot")
    outcomes = [world.validate(), world.validate(org_id="o-aaaaaaaaaa"), world.validate(stack_set_name="Nope")]
    secrets = set()
    for assumed in sts_backends[MANAGEMENT]["aws"].assumed_roles:
        secrets |= {assumed.session_token, assumed.access_key_id, assumed.secret_access_key}
    assert len(secrets) == 9
    shown = json.dumps([c.to_dict() for outcome in outcomes for c in outcome.checks])
    for secret in secrets:
        assert secret not in shown
        assert secret not in caplog.text
    assert "testing" not in shown  # the bot's own (fake) keys


# --- stored shapes --------------------------------------------------------------------------------


def test_results_round_trip_through_json():
    result = CheckResult("root", "Root ID matches", CheckStatus.FAILED, "found", "fix")
    assert CheckResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert result.to_dict()["status"] == "failed"
    assert CheckResult.from_dict({"key": "root", "title": "t", "status": "pending"}).found == ""
    account = MemberAccount("111122223333", "Production", "p@example.com", "ACTIVE")
    assert MemberAccount.from_dict(json.loads(json.dumps(account.to_dict()))) == account
    assert account.to_dict() == {"id": "111122223333", "name": "Production", "email": "p@example.com", "status": "ACTIVE"}
