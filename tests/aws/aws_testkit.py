"""Shared pieces of the AWS validation tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import boto3
import botocore.loaders
import botocore.session

from bot.aws.session import AwsAccess
from bot.aws.validation import CheckResult, ValidationOutcome, ValidationRequest, validate_connection
from bot.playground.sandbox_org import (
    SandboxOrganization,
    create_management_role,
    deploy_member_stack_set,
    member_template,
)

REGION = "eu-west-1"
EXTERNAL_ID = "ce-7f3a9c1e5b2d4f6a8c0e"
TRUSTED_ACCOUNT = "999988887777"  # the Cloud Entitlements account the roles trust
STACK_SET = "CloudEntitlements-MemberRoles"


@cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session(region: str = REGION) -> boto3.Session:
    """A boto3 session sharing one botocore data loader: botocore's JSON is parsed once per run."""
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    return boto3.Session(botocore_session=core, region_name=region)


def deploy_roles(root_id: str, session: boto3.Session) -> str:
    """The management role (trusting TRUSTED_ACCOUNT with EXTERNAL_ID) and the member StackSet deployed
    to `root_id`; returns the management role's ARN."""
    role_arn = create_management_role(external_id=EXTERNAL_ID, trusted_account_id=TRUSTED_ACCOUNT, session=session)
    deploy_member_stack_set(
        root_id=root_id,
        region=REGION,
        template_body=member_template(external_id=EXTERNAL_ID, trusted_account_id=TRUSTED_ACCOUNT),
        name=STACK_SET,
        session=session,
    )
    return role_arn


class FakeClock:
    """`clock` and `sleep` for validate_connection: sleeping advances time, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


@dataclass
class World:
    sandbox: SandboxOrganization
    role_arn: str
    request: ValidationRequest
    clock: FakeClock
    progress: list[tuple[CheckResult, ...]] = field(default_factory=list)

    def validate(self, aws: AwsAccess | None = None, **changes) -> ValidationOutcome:
        self.progress.clear()
        return validate_connection(
            replace(self.request, **changes),
            aws=aws or AwsAccess(new_session()),
            on_progress=self.progress.append,
            sleep=self.clock.sleep,
            clock=self.clock.clock,
        )
