"""The whole validation against an in-process moto server named by AWS_ENDPOINT_URL,
as the playground and the end-to-end tests run it (no mock_aws here: entering it
would wipe the server's state)."""

from __future__ import annotations

from aws_testkit import EXTERNAL_ID, REGION, STACK_SET, FakeClock, deploy_roles, new_session

from bot.aws.session import AwsAccess
from bot.aws.validation import CheckStatus, ValidationRequest, validate_connection
from bot.playground.sandbox_org import create_sandbox_organization, enforce_trust_policies


def test_validation_against_a_moto_server(moto_endpoint):
    session = new_session()
    sandbox = create_sandbox_organization(member_accounts=2, session=session)
    again = create_sandbox_organization(member_accounts=3, session=session)  # reuses the organization
    assert again.org_id == sandbox.org_id and again.accounts[:2] == sandbox.accounts
    assert [name for _, name in again.accounts] == ["Production", "Staging", "Development"]

    role_arn = deploy_roles(sandbox.root_id, session)
    request = ValidationRequest(sandbox.org_id, sandbox.root_id, role_arn, EXTERNAL_ID, REGION, STACK_SET)
    clock = FakeClock()

    with enforce_trust_policies():
        good = validate_connection(request, aws=AwsAccess(new_session()), sleep=clock.sleep, clock=clock.clock)
        assert good.passed, good.checks
        assert len(good.accounts) == 4

        wrong = ValidationRequest(sandbox.org_id, sandbox.root_id, role_arn, "ce-another-one", REGION, STACK_SET)
        denied = validate_connection(
            wrong, aws=AwsAccess(new_session()), sleep=clock.sleep, clock=clock.clock, assume_timeout=5
        )
    assume = denied.checks[0]
    assert assume.status is CheckStatus.FAILED
    assert "the ExternalId differs" in assume.found
