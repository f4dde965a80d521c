"""A rendered template deployed into moto, as a user would: what exists afterwards."""

from __future__ import annotations

import ast
import json
import urllib.parse

import boto3
import pytest

from bot.playground.sandbox_stack import SandboxDeployError, stack_set_properties
from bot.template import render

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..StackSet:UserWarning")

TRUSTED = "111122223333"  # as in conftest.deployed_org
EXTERNAL_ID = "0123456789abcdef0123456789abcdef"
REGION = "us-east-1"


def _policy(document) -> dict:
    if not isinstance(document, str):
        return document
    text = urllib.parse.unquote(document)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # moto stores a role's inline policies created by CloudFormation as a Python repr.
        return ast.literal_eval(text)


def _expected_instance_accounts(root_id: str) -> set[str]:
    """The accounts a root-targeted StackSet reaches, as moto computes them."""
    org = boto3.client("organizations", region_name=REGION)
    parents = [root_id] + [
        ou["Id"] for ou in org.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"]
    ]
    return {a["Id"] for parent in parents for a in org.list_accounts_for_parent(ParentId=parent)["Accounts"]}


@pytest.fixture
def deployed(deployed_org):
    """One deployment for the whole module (read-only tests): org, body, RoleArn."""
    return deployed_org.org, deployed_org.body, deployed_org.role_arn


def test_stack_reaches_create_complete_and_returns_the_role_arn(deployed):
    org, _, role_arn = deployed
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    (stack,) = cloudformation.describe_stacks(StackName=render.STACK_NAME)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert [o["OutputKey"] for o in stack["Outputs"]] == ["RoleArn"]
    assert role_arn == stack["Outputs"][0]["OutputValue"]
    assert role_arn == f"arn:aws:iam::{org.management_account_id}:role/{render.MANAGEMENT_ROLE_NAME}"


def test_management_role_trusts_the_account_with_the_external_id(deployed):
    iam = boto3.client("iam", region_name=REGION)
    role = iam.get_role(RoleName=render.MANAGEMENT_ROLE_NAME)["Role"]
    assert role["MaxSessionDuration"] == 3600
    (statement,) = _policy(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{TRUSTED}:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    names = iam.list_role_policies(RoleName=render.MANAGEMENT_ROLE_NAME)["PolicyNames"]
    documents = [
        _policy(iam.get_role_policy(RoleName=render.MANAGEMENT_ROLE_NAME, PolicyName=n)["PolicyDocument"])
        for n in names
    ]
    resources = [
        r
        for d in documents
        for s in d["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert (
        f"arn:aws:cloudformation:{REGION}:{deployed[0].management_account_id}:stackset/{render.STACK_SET_NAME}:*"
        in resources
    )


def test_stack_set_is_service_managed_and_reaches_the_member_accounts(deployed):
    org, _, _ = deployed
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_set = cloudformation.describe_stack_set(StackSetName=render.STACK_SET_NAME)["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["TemplateBody"] == render.member_template()
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Parameters"]} == {
        "TrustedAccountId": TRUSTED,
        "ExternalId": EXTERNAL_ID,
        "RoleName": render.MEMBER_ROLE_NAME,
    }
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    # moto omits these; the sandbox fills them in (in-process moto only).
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["OrganizationalUnitIds"] == [org.root_id]

    summaries = cloudformation.list_stack_instances(StackSetName=render.STACK_SET_NAME)["Summaries"]
    accounts = {s["Account"] for s in summaries}
    assert set(org.member_account_ids) <= accounts
    assert accounts == _expected_instance_accounts(org.root_id)
    assert {s["Region"] for s in summaries} == {REGION}
    assert len(summaries) == len(accounts)


def test_member_accounts_get_the_member_role(deployed):
    org, _, _ = deployed
    sts = boto3.client("sts", region_name=REGION)
    account = org.member_account_ids[0]
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    iam = boto3.client(
        "iam",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    role = iam.get_role(RoleName=render.MEMBER_ROLE_NAME)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/{render.MEMBER_ROLE_NAME}"
    (statement,) = _policy(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{TRUSTED}:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}


def test_stack_set_properties_need_exactly_one_stack_set():
    assert (
        stack_set_properties(
            render.render_management_template(trusted_account_id=TRUSTED, external_id=EXTERNAL_ID, root_id="r-ab12")
        )["PermissionModel"]
        == "SERVICE_MANAGED"
    )
    with pytest.raises(SandboxDeployError):
        stack_set_properties(render.member_template())
