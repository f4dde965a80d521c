"""The templates on disk: cfn-lint clean, read-only, trust pinned, patterns in step with the code."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from bot.template import render

WRITE_OR_DATA_ACTIONS = re.compile(
    r"^(s3:GetObject|secretsmanager:GetSecretValue|ssm:GetParameter|kms:Decrypt|sts:AssumeRole)",
    re.IGNORECASE,
)
READ_VERBS = ("Describe", "Get", "List", "GenerateCredentialReport", "GenerateServiceLastAccessedDetails")


def _template(templates_dir: Path, name: str) -> dict:
    return render.load_template((templates_dir / name).read_text(encoding="utf-8"))


def _role(template: dict) -> dict:
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 1
    return roles[0]["Properties"]


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _actions(statements: list[dict], prefix: str = "") -> set[str]:
    found = set()
    for statement in statements:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return {a for a in found if a.startswith(prefix)}


def test_cfn_lint_finds_nothing_in_the_templates_on_disk(cfn_lint, templates_dir):
    result = cfn_lint(templates_dir / "management.yaml", templates_dir / "member.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_templates_ship_as_package_data(templates_dir):
    for name in ("management.yaml", "member.yaml"):
        shipped = resources.files("bot.cfn_templates").joinpath(name).read_text(encoding="utf-8")
        assert shipped == (templates_dir / name).read_text(encoding="utf-8")
        assert render.read_template(name) == shipped


@pytest.mark.parametrize("name", ["management.yaml", "member.yaml"])
def test_no_hard_coded_partition(templates_dir, name):
    text = (templates_dir / name).read_text(encoding="utf-8")
    assert "arn:aws:" not in text
    assert "${AWS::Partition}" in text


def test_member_file_embeds_cleanly(templates_dir):
    text = (templates_dir / "member.yaml").read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\t" not in text and "\r" not in text
    assert all(line == line.rstrip() for line in text.split("\n")), "trailing whitespace"


@pytest.mark.parametrize("name", ["management.yaml", "member.yaml"])
def test_role_trusts_only_the_cloud_entitlements_account_with_the_external_id(templates_dir, name):
    role = _role(_template(templates_dir, name))
    assert role["MaxSessionDuration"] == 3600
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${TrustedAccountId}:root"}}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


@pytest.mark.parametrize("name", ["management.yaml", "member.yaml"])
def test_permissions_are_explicit_read_only_actions(templates_dir, name):
    statements = _statements(_role(_template(templates_dir, name)))
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in statement["Action"]:
            service, _, verb = action.partition(":")
            assert service in {"iam", "organizations", "cloudformation"}, action
            assert "*" not in action, action
            assert verb.startswith(READ_VERBS), action
            assert not WRITE_OR_DATA_ACTIONS.match(action), action


def test_management_role_has_the_member_role_iam_reads(templates_dir):
    management = _statements(_role(_template(templates_dir, "management.yaml")))
    member = _statements(_role(_template(templates_dir, "member.yaml")))
    assert _actions(management, "iam:") == _actions(member, "iam:")
    assert {"iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetCredentialReport"} <= (
        _actions(member)
    )
    iam_statements = [s for s in management if s["Action"][0].startswith("iam:")]
    assert iam_statements == member


def test_management_role_reads_the_organization_and_its_stack_set(templates_dir):
    statements = _statements(_role(_template(templates_dir, "management.yaml")))
    assert {
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListAccounts",
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:DescribeAccount",
    } <= _actions(statements, "organizations:")
    stack_set_reads = {
        "cloudformation:DescribeStackSet",
        "cloudformation:ListStackInstances",
        "cloudformation:DescribeStackInstance",
        "cloudformation:ListStackSetOperations",
    }
    scoped = [s for s in statements if stack_set_reads & set(s["Action"])]
    assert len(scoped) == 1
    assert stack_set_reads <= set(scoped[0]["Action"])
    assert scoped[0]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stackset/${StackSetName}:*"}
    ]


@pytest.mark.parametrize("name", ["management.yaml", "member.yaml"])
def test_star_resource_only_for_actions_without_a_resource_type(templates_dir, name):
    """Where IAM can scope an action to a resource, the template does."""
    policies = json.loads(
        (resources.files("cfnlint") / "data" / "AdditionalSpecs" / "Policies.json").read_text(encoding="utf-8")
    )
    for statement in _statements(_role(_template(templates_dir, name))):
        resource = statement["Resource"]
        for action in statement["Action"]:
            service, _, verb = action.partition(":")
            typed = bool(policies[service]["Actions"][verb.lower()].get("Resources"))
            if resource == "*":
                assert not typed, f"{action} can be scoped to a resource"
            else:
                assert typed, f"{action} has no resource type: it needs '*'"


def test_parameter_patterns_match_the_code(templates_dir):
    management = _template(templates_dir, "management.yaml")["Parameters"]
    member = _template(templates_dir, "member.yaml")["Parameters"]
    assert management["TrustedAccountId"]["AllowedPattern"] == render.ACCOUNT_ID_PATTERN
    assert member["TrustedAccountId"]["AllowedPattern"] == render.ACCOUNT_ID_PATTERN
    assert management["ExternalId"]["AllowedPattern"] == render.EXTERNAL_ID_PATTERN
    assert member["ExternalId"]["AllowedPattern"] == render.EXTERNAL_ID_PATTERN
    assert management["RootId"]["AllowedPattern"] == render.ROOT_ID_PATTERN
    assert management["StackSetName"]["AllowedPattern"] == render.STACK_SET_NAME_PATTERN


def test_parameters_on_disk(templates_dir):
    management = _template(templates_dir, "management.yaml")["Parameters"]
    member = _template(templates_dir, "member.yaml")["Parameters"]
    for name in ("TrustedAccountId", "ExternalId", "RootId"):
        assert "Default" not in management[name], name
    assert management["StackSetName"]["Default"] == render.STACK_SET_NAME
    assert management["ManagementRoleName"]["Default"] == render.MANAGEMENT_ROLE_NAME
    assert management["MemberRoleName"]["Default"] == render.MEMBER_ROLE_NAME
    assert set(member) == {"TrustedAccountId", "ExternalId", "RoleName"}
    assert member["RoleName"]["Default"] == render.MEMBER_ROLE_NAME


def test_management_stack_set(templates_dir):
    template = _template(templates_dir, "management.yaml")
    (stack_set,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"]
    props = stack_set["Properties"]
    assert props["StackSetName"] == {"Ref": "StackSetName"}
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert props["StackInstancesGroup"] == [
        {"DeploymentTargets": {"OrganizationalUnitIds": [{"Ref": "RootId"}]}, "Regions": [{"Ref": "AWS::Region"}]}
    ]
    preferences = props["OperationPreferences"]
    assert preferences["RegionConcurrencyType"] == "PARALLEL"
    assert preferences["FailureTolerancePercentage"] > 0
    assert {p["ParameterKey"]: p["ParameterValue"] for p in props["Parameters"]} == {
        "TrustedAccountId": {"Ref": "TrustedAccountId"},
        "ExternalId": {"Ref": "ExternalId"},
        "RoleName": {"Ref": "MemberRoleName"},
    }
    assert isinstance(props["TemplateBody"], str) and len(props["TemplateBody"]) < 200


def test_outputs(templates_dir):
    management = _template(templates_dir, "management.yaml")
    assert management["Outputs"] == {
        "RoleArn": {
            "Description": management["Outputs"]["RoleArn"]["Description"],
            "Value": {"Fn::GetAtt": ["CloudEntitlementsManagementRole", "Arn"]},
        }
    }
    assert management["Description"] and management["Metadata"]
    member = _template(templates_dir, "member.yaml")
    assert member["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["CloudEntitlementsMemberRole", "Arn"]}
