"""Fixtures for the AWS validation tests: a sandbox organization in moto, a fake clock."""

from __future__ import annotations

import pytest
from aws_testkit import EXTERNAL_ID, REGION, STACK_SET, FakeClock, World, deploy_roles, new_session
from moto import mock_aws

from bot.aws.validation import ValidationRequest
from bot.playground.sandbox_org import create_sandbox_organization


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mocked_aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def world(mocked_aws, clock) -> World:
    """An organization with 3 member accounts, trusted access on, the management role
    (trusting TRUSTED_ACCOUNT with EXTERNAL_ID) and the member StackSet deployed to the root."""
    session = new_session()
    sandbox = create_sandbox_organization(member_accounts=3, session=session)
    role_arn = deploy_roles(sandbox.root_id, session)
    request = ValidationRequest(
        org_id=sandbox.org_id,
        root_id=sandbox.root_id,
        role_arn=role_arn,
        external_id=EXTERNAL_ID,
        region=REGION,
        stack_set_name=STACK_SET,
    )
    return World(sandbox=sandbox, role_arn=role_arn, request=request, clock=clock)
