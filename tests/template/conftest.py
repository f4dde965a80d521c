"""Fixtures for the template tests: cfn-lint runner, templates on disk, a moto organization."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
TRUSTED_ACCOUNT_ID = "111122223333"  # the same values as the test modules
EXTERNAL_ID = "0123456789abcdef0123456789abcdef"


def run_cfn_lint(*paths: Path) -> subprocess.CompletedProcess:
    """cfn-lint on `paths`, with the cfn-lint of the running interpreter."""
    script = Path(sys.executable).with_name("cfn-lint")
    if script.exists():
        command = [str(script)]
    else:
        command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    return subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def cfn_lint():
    """`cfn_lint(*paths)`: the completed cfn-lint process (exit 0 means no finding)."""
    return run_cfn_lint


@pytest.fixture
def templates_dir() -> Path:
    return TEMPLATES


@dataclass
class Organization:
    org_id: str
    root_id: str
    management_account_id: str
    member_account_ids: list[str]


def build_organization() -> Organization:
    """Inside mock_aws: an organization (all features), 3 member accounts, StackSets trusted access."""
    org = boto3.client("organizations", region_name="us-east-1")
    organization = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    members = [
        org.create_account(AccountName=f"Member {i}", Email=f"member{i}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        for i in range(3)
    ]
    org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return Organization(
        org_id=organization["Id"],
        root_id=root_id,
        management_account_id=organization["MasterAccountId"],
        member_account_ids=members,
    )


@contextmanager
def mocked_organization() -> Iterator[Organization]:
    """mock_aws (never a moto server: AWS_ENDPOINT_URL unset) with an organization in it."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_ENDPOINT_URL_CLOUDFORMATION", raising=False)
        with mock_aws():
            yield build_organization()


@pytest.fixture
def moto_org():
    """A fresh organization in moto, for one test. Do not mix with `deployed_org` in a module."""
    with mocked_organization() as organization:
        yield organization


@dataclass
class Deployment:
    org: Organization
    body: str
    role_arn: str


@pytest.fixture(scope="module")
def deployed_org():
    """One rendered template deployed into moto, shared by a module's read-only tests."""
    from bot.playground.sandbox_stack import deploy_rendered_template
    from bot.template import render

    with mocked_organization() as organization:
        body = render.render_management_template(
            trusted_account_id=TRUSTED_ACCOUNT_ID, external_id=EXTERNAL_ID, root_id=organization.root_id
        )
        with warnings.catch_warnings():  # moto: "Tried to parse AWS::CloudFormation::StackSet"
            warnings.simplefilter("ignore", UserWarning)
            role_arn = deploy_rendered_template(body, region="us-east-1")
        yield Deployment(organization, body, role_arn)
