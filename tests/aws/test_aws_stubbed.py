"""validate_connection against botocore Stubbers: true 403s, throttling, errors that cannot heal."""

from __future__ import annotations

import datetime
import json

import pytest
from aws_testkit import EXTERNAL_ID, FakeClock, new_session
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from bot.aws.session import AwsAccess, client_config
from bot.aws.validation import CheckStatus, ValidationRequest, validate_connection

ACCESS_KEY = "ASIAQSTUBBEDKEY12345"
SECRET_KEY = "stubbedSecretKey/0123456789abcdefghijklmnopqrstu"
SESSION_TOKEN = "FwoGZXIvYXdzEStubbedSessionToken" + "x" * 80
CREDENTIALS = {
    "AccessKeyId": ACCESS_KEY,
    "SecretAccessKey": SECRET_KEY,
    "SessionToken": SESSION_TOKEN,
    "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
}
ORG_ID = "o-abcdefghij"


def request(partition: str = "aws", region: str = "eu-west-1", **changes) -> ValidationRequest:
    values = dict(
        org_id=ORG_ID,
        root_id="r-abcd",
        role_arn=f"arn:{partition}:iam::111122223333:role/CloudEntitlementsManagementRole",
        external_id=EXTERNAL_ID,
        region=region,
        stack_set_name="CloudEntitlements-MemberRoles",
    )
    values.update(changes)
    return ValidationRequest(**values)


class Stubs:
    """One stubbed client per service, handed out by the AwsAccess client factory."""

    def __init__(self) -> None:
        self.session = new_session("us-east-1")
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}
        self.handed: list[tuple[str, str | None, str | None]] = []  # service, region, access key

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = self.session.client(service, region_name="us-east-1", config=client_config())
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def factory(self, session, service, region):
        credentials = session.get_credentials()
        self.handed.append((service, region, credentials.access_key if credentials else None))
        if service not in self.clients:
            self.stub(service)
        return self.clients[service]

    def access(self) -> AwsAccess:
        return AwsAccess(self.session, client_factory=self.factory)

    def assume_ok(self, partition: str = "aws") -> None:
        self.stub("sts").add_response(
            "assume_role",
            {"Credentials": CREDENTIALS},
            expected_params={
                "RoleArn": f"arn:{partition}:iam::111122223333:role/CloudEntitlementsManagementRole",
                "RoleSessionName": "ce-bot-validation",
                "ExternalId": EXTERNAL_ID,
                "DurationSeconds": 900,
            },
        )

    def done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubs():
    yield (stubs := Stubs())
    stubs.done()


def run(stubs: Stubs, clock: FakeClock | None = None, progress: list | None = None, **changes):
    clock = clock or FakeClock()
    return validate_connection(
        request(**changes),
        aws=stubs.access(),
        on_progress=(progress.append if progress is not None else lambda checks: None),
        sleep=clock.sleep,
        clock=clock.clock,
    )


def by_key(outcome):
    return {c.key: c for c in outcome.checks}


def assert_no_secret(outcome, text: str = "") -> None:
    shown = json.dumps([c.to_dict() for c in outcome.checks]) + text
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in shown


def test_organizations_true_403_access_denied(stubs, caplog):
    stubs.assume_ok()
    stubs.stub("organizations").add_client_error(
        "describe_organization",
        service_error_code="AccessDeniedException",
        service_message=f"You don't have permissions to access this resource. {SESSION_TOKEN}",
        http_status_code=403,
    )
    outcome = run(stubs)
    checks = by_key(outcome)
    assert checks["assume_role"].status is CheckStatus.PASSED
    assert checks["organization"].status is CheckStatus.FAILED
    assert checks["organization"].found == "the role is not allowed to call organizations:DescribeOrganization"
    assert "unchanged" in checks["organization"].fix
    assert all(c.status is CheckStatus.SKIPPED for c in outcome.checks[2:])
    # the assumed credentials were used for Organizations, in the partition's home region
    assert ("organizations", "us-east-1", ACCESS_KEY) in stubs.handed
    assert_no_secret(outcome, caplog.text)
    assert "AccessDeniedException" in caplog.text  # the details go to the log


def test_organizations_throttling(stubs):
    stubs.assume_ok()
    stubs.stub("organizations").add_client_error(
        "describe_organization", service_error_code="TooManyRequestsException", http_status_code=400
    )
    outcome = run(stubs)
    organization = by_key(outcome)["organization"]
    assert organization.status is CheckStatus.FAILED
    assert organization.found == "AWS is throttling; try again in a minute"


def test_sts_true_403_is_retried_until_the_role_propagates(stubs):
    for _ in range(2):
        stubs.stub("sts").add_client_error(
            "assume_role", service_error_code="AccessDenied", service_message="not authorized", http_status_code=403
        )
    stubs.assume_ok()
    stubs.stub("organizations").add_response(
        "describe_organization",
        {"Organization": {"Id": "o-otherorg00", "FeatureSet": "ALL", "MasterAccountId": "111122223333"}},
    )
    clock, progress = FakeClock(), []
    outcome = run(stubs, clock, progress)
    checks = by_key(outcome)
    assert checks["assume_role"].status is CheckStatus.PASSED
    assert len(clock.sleeps) == 2
    assert checks["organization"].found == f"this role belongs to organization o-otherorg00, not {ORG_ID}"
    waiting = [p[0].found for p in progress if p[0].status is CheckStatus.RUNNING and p[0].found]
    assert waiting == [
        "waiting for the new role to reach IAM, attempt 2",
        "waiting for the new role to reach IAM, attempt 3",
    ]


def test_sts_true_403_gives_up_at_the_timeout(stubs):
    clock = FakeClock()
    for _ in range(40):
        stubs.stub("sts").add_client_error("assume_role", service_error_code="AccessDenied", http_status_code=403)
    outcome = validate_connection(
        request(), aws=stubs.access(), sleep=clock.sleep, clock=clock.clock, assume_timeout=20.0
    )
    assume = by_key(outcome)["assume_role"]
    assert assume.status is CheckStatus.FAILED
    assert sum(clock.sleeps) == pytest.approx(20.0)
    assert f"after {len(clock.sleeps) + 1} attempts over 20 s" in assume.found
    while stubs.stubbers["sts"]._queue:  # the unused responses
        stubs.stubbers["sts"]._queue.popleft()


@pytest.mark.parametrize(
    "code, found",
    [
        ("InvalidClientTokenId", "AWS refused the bot's own credentials (operator problem)"),
        ("SignatureDoesNotMatch", "AWS refused the bot's own credentials (operator problem)"),
        ("Throttling", "AWS is throttling; try again in a minute"),
        ("RegionDisabledException", "AWS STS is not activated in this region for the account"),
    ],
)
def test_sts_errors_that_cannot_heal_are_not_retried(stubs, code, found):
    stubs.stub("sts").add_client_error("assume_role", service_error_code=code, http_status_code=403)
    clock = FakeClock()
    outcome = run(stubs, clock)
    assume = by_key(outcome)["assume_role"]
    assert assume.status is CheckStatus.FAILED
    assert assume.found == found
    assert clock.sleeps == []
    assert [c.found for c in outcome.checks[1:]] == ["not run: assume role failed"] * 7


@pytest.mark.parametrize(
    "error, found",
    [
        (EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com"), "could not reach AWS; try again"),
        (NoCredentialsError(), "the bot has no AWS credentials (operator)"),
    ],
)
def test_errors_before_aws_answers(stubs, error, found):
    sts = stubs.clients["sts"] = stubs.session.client("sts", region_name="us-east-1")  # not stubbed

    def fail(**kwargs):
        raise error

    sts.meta.events.register("before-call.sts.AssumeRole", fail)  # raised before anything is sent
    outcome = run(stubs)
    assert by_key(outcome)["assume_role"].found == found


@pytest.mark.parametrize(
    "partition, home",
    [("aws", "us-east-1"), ("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-northwest-1")],
)
def test_organizations_in_the_partition_home_region(stubs, partition, home):
    stubs.assume_ok(partition)
    stubs.stub("organizations").add_client_error(
        "describe_organization", service_error_code="AWSOrganizationsNotInUseException"
    )
    outcome = run(stubs, partition=partition, region="eu-central-1")
    assert by_key(outcome)["organization"].found == "the role's account 111122223333 is in no AWS organization"
    assert stubs.handed == [("sts", home, "testing"), ("organizations", home, ACCESS_KEY)]
