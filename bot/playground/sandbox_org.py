"""A sandbox AWS Organization in moto, for the playground and end-to-end tests.

Plain boto3 throughout, so it works both under an in-process `moto.mock_aws`
and against a moto server named by `AWS_ENDPOINT_URL`. Never imported by the
production path; moto is imported only by `enforce_trust_policies`.

moto lets any `sts:AssumeRole` through (no trust policy, no ExternalId).
`enforce_trust_policies()` patches moto's STS backend so a missing role or a
wrong ExternalId is refused with AccessDenied, as AWS would.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import boto3
from botocore.exceptions import ClientError

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
ORGANIZATIONS_REGION = "us-east-1"
ACCOUNT_NAMES = (
    "Production",
    "Staging",
    "Development",
    "Security",
    "Log Archive",
    "Shared Services",
    "Data Platform",
    "Sandbox",
)
MANAGEMENT_ROLE_NAME = "CloudEntitlementsManagementRole"
MEMBER_ROLE_NAME = "CloudEntitlementsMemberRole"
STACK_SET_NAME = "CloudEntitlements-MemberRoles"


@dataclass
class SandboxOrganization:
    org_id: str
    root_id: str
    management_account_id: str
    accounts: list[tuple[str, str]] = field(default_factory=list)  # member accounts: (id, name)


def account_name(index: int) -> str:
    """A readable name for the index-th member account (0-based)."""
    if index < len(ACCOUNT_NAMES):
        return ACCOUNT_NAMES[index]
    return f"Member {index + 1}"


def create_sandbox_organization(
    *, member_accounts: int = 3, session: boto3.Session | None = None
) -> SandboxOrganization:
    """An organization (all features) with `member_accounts` named member accounts and
    StackSets trusted access enabled. Reuses an organization that already exists
    (a long-running moto server) and only adds the accounts it lacks."""
    session = session or boto3.Session()
    org = session.client("organizations", region_name=ORGANIZATIONS_REGION)
    try:
        organization = org.create_organization(FeatureSet="ALL")["Organization"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "AlreadyInOrganizationException":
            raise
        organization = org.describe_organization()["Organization"]
    management = organization["MasterAccountId"]
    root_id = org.list_roots()["Roots"][0]["Id"]

    existing = {
        a["Name"]: a["Id"]
        for page in org.get_paginator("list_accounts").paginate()
        for a in page["Accounts"]
        if a["Id"] != management
    }
    accounts = []
    for index in range(member_accounts):
        name = account_name(index)
        account_id = existing.get(name) or _create_account(org, name)
        accounts.append((account_id, name))

    org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return SandboxOrganization(
        org_id=organization["Id"], root_id=root_id, management_account_id=management, accounts=accounts
    )


def _create_account(org: Any, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    status = org.create_account(AccountName=name, Email=f"aws+{slug}@example.com")["CreateAccountStatus"]
    while status.get("State") == "IN_PROGRESS":  # moto answers SUCCEEDED at once
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    if status.get("State") != "SUCCEEDED":
        raise RuntimeError(f"could not create sandbox account {name}: {status.get('FailureReason')}")
    return status["AccountId"]


def trust_policy(trusted_account_id: str, external_id: str, partition: str = "aws") -> dict:
    """The trust policy of the Cloud Entitlements roles: the trusted account, with the ExternalId."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{trusted_account_id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def create_management_role(
    *,
    external_id: str,
    trusted_account_id: str,
    role_name: str = MANAGEMENT_ROLE_NAME,
    session: boto3.Session | None = None,
) -> str:
    """The management role as the template creates it (trust policy only); its ARN."""
    iam = (session or boto3.Session()).client("iam", region_name=ORGANIZATIONS_REGION)
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(trust_policy(trusted_account_id, external_id)),
    )
    return role["Role"]["Arn"]


def member_template(*, external_id: str, trusted_account_id: str, role_name: str = MEMBER_ROLE_NAME) -> str:
    """A minimal member-account template: one IAM role trusting Cloud Entitlements."""
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "MemberRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "RoleName": role_name,
                        "AssumeRolePolicyDocument": trust_policy(trusted_account_id, external_id),
                    },
                }
            },
        }
    )


def deploy_member_stack_set(
    *,
    root_id: str,
    region: str,
    template_body: str,
    name: str = STACK_SET_NAME,
    session: boto3.Session | None = None,
) -> str:
    """Create the service-managed StackSet and deploy it to the root OU, as the
    management stack's `AWS::CloudFormation::StackSet` would (moto ignores that
    resource in `create_stack`). Returns the StackSet ID."""
    cloudformation = (session or boto3.Session()).client("cloudformation", region_name=region)
    stack_set_id = cloudformation.create_stack_set(
        StackSetName=name,
        TemplateBody=template_body,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )["StackSetId"]
    cloudformation.create_stack_instances(
        StackSetName=name,
        DeploymentTargets={"OrganizationalUnitIds": [root_id]},
        Regions=[region],
    )
    return stack_set_id


# --- enforcing trust policies in moto ----------------------------------------------

_lock = threading.Lock()
_original_assume_role: Any = None
_check_principal = False


def install(*, check_principal: bool = False) -> bool:
    """Make moto's STS refuse AssumeRole like AWS: AccessDenied when the role does not
    exist or the ExternalId differs from its trust policy's `sts:ExternalId`. With
    `check_principal`, the calling account must also be trusted. Returns False if it
    was already installed (nothing changed)."""
    global _original_assume_role, _check_principal
    from moto.sts.models import STSBackend

    with _lock:
        if _original_assume_role is not None:
            return False
        _original_assume_role = STSBackend.assume_role
        _check_principal = check_principal
        # moto's STS model has no AccessDenied shape (AWS answers 403, moto 400): it warns on each refusal.
        warnings.filterwarnings("ignore", message=r"Exception\(STSClientError\) with code AccessDenied")
        STSBackend.assume_role = _enforcing_assume_role  # type: ignore[method-assign]
        return True


def uninstall() -> None:
    global _original_assume_role
    from moto.sts.models import STSBackend

    with _lock:
        if _original_assume_role is not None:
            STSBackend.assume_role = _original_assume_role  # type: ignore[method-assign]
            _original_assume_role = None


@contextmanager
def enforce_trust_policies(*, check_principal: bool = False) -> Iterator[None]:
    """Within the block, moto's AssumeRole honours trust policies' ExternalId (see `install`)."""
    installed = install(check_principal=check_principal)
    try:
        yield
    finally:
        if installed:
            uninstall()


_ROLE_ARN = re.compile(r"arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[^/]+)")


def _enforcing_assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
    import inspect

    call = inspect.signature(_original_assume_role).bind(self, *args, **kwargs).arguments
    role_arn, external_id = call.get("role_arn", ""), call.get("external_id")
    if not _trusts(role_arn, external_id, caller_account=self.account_id):
        from moto.sts.exceptions import STSClientError

        raise STSClientError(
            "AccessDenied",
            f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
        )
    return _original_assume_role(self, *args, **kwargs)


def _trusts(role_arn: str, external_id: str | None, *, caller_account: str) -> bool:
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.fullmatch(role_arn or "")
    if not match:
        return False
    backend = iam_backends[match["account"]][match["partition"]]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return False
    try:
        document = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return any(_allows(s, external_id, caller_account) for s in statements)


def _allows(statement: dict, external_id: str | None, caller_account: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
        return False
    if _check_principal and not _principal_trusts(statement.get("Principal", {}), caller_account):
        return False
    expected = None
    for operator, conditions in (statement.get("Condition") or {}).items():
        if operator.startswith("StringEquals") and "sts:ExternalId" in conditions:
            expected = conditions["sts:ExternalId"]
    if expected is None:
        return True
    expected = [expected] if isinstance(expected, str) else list(expected)
    return external_id is not None and external_id in expected


def _principal_trusts(principal: Any, caller_account: str) -> bool:
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    values = [values] if isinstance(values, str) else values
    return any(v == "*" or v == caller_account or v.split(":")[4:5] == [caller_account] for v in values)
