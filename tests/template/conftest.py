"""Fixtures for the template tests: cfn-lint runner, templates on disk, a moto organization."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def run_cfn_lint(*paths: Path) -> subprocess.CompletedProcess:
    """cfn-lint on `paths`, with the cfn-lint of the running interpreter."""
    script = Path(sys.executable).with_name("cfn-lint")
    if script.exists():
        command = [str(script)]
    else:
        command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    return subprocess.run(
        [*command, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


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


@pytest.fixture
def moto_org(monkeypatch):
    """An organization in moto (all features, 3 member accounts, StackSets trusted access)."""
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDFORMATION", raising=False)
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        organization = org.create_organization(FeatureSet="ALL")["Organization"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        members = [
            org.create_account(AccountName=f"Member {i}", Email=f"member{i}@example.com")[
                "CreateAccountStatus"
            ]["AccountId"]
            for i in range(3)
        ]
        org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
        yield Organization(
            org_id=organization["Id"],
            root_id=root_id,
            management_account_id=organization["MasterAccountId"],
            member_account_ids=members,
        )
