"""Deploy a rendered management template into a sandbox AWS (moto), as a user would.

Used by tests, end-to-end tests and the local playground. Plain boto3
clients, so it works under an in-process `moto.mock_aws` and against a moto
server named by `AWS_ENDPOINT_URL` alike. Never used against real AWS.

moto's `create_stack` accepts the template's `AWS::CloudFormation::StackSet`
resource but silently ignores it; `deploy_rendered_template` therefore reads
that resource's properties out of the template and does what CloudFormation
would: `create_stack_set` + `create_stack_instances` on the root.
"""

from __future__ import annotations

import time
from typing import Any

import boto3

from bot.template.render import STACK_NAME, load_template

POLL_INTERVAL = 0.2  # seconds between two looks at a stack or an operation
POLL_TIMEOUT = 60.0  # moto is immediate; this bound only guards against a hang

_STACK_SET_TYPE = "AWS::CloudFormation::StackSet"


class SandboxDeployError(RuntimeError):
    """The sandbox deployment did not reach the expected state."""


def _session(session: boto3.Session | None, region: str) -> boto3.Session:
    return session or boto3.Session(region_name=region)


def _wait_for_stack(cloudformation: Any, stack_name: str, *, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("_IN_PROGRESS"):
            reason = stack.get("StackStatusReason") or "no reason given"
            raise SandboxDeployError(f"stack {stack_name} ended in {status}: {reason}")
        if time.monotonic() >= deadline:
            raise SandboxDeployError(f"stack {stack_name} still {status} after {timeout:.0f} s")
        time.sleep(POLL_INTERVAL)


def _wait_for_operation(cloudformation: Any, stack_set_name: str, operation_id: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        operation = cloudformation.describe_stack_set_operation(StackSetName=stack_set_name, OperationId=operation_id)[
            "StackSetOperation"
        ]
        status = operation["Status"]
        if status == "SUCCEEDED":
            return
        if status in ("FAILED", "STOPPED"):
            raise SandboxDeployError(f"StackSet {stack_set_name} operation {operation_id} {status}")
        if time.monotonic() >= deadline:
            raise SandboxDeployError(
                f"StackSet {stack_set_name} operation {operation_id} still {status} after {timeout:.0f} s"
            )
        time.sleep(POLL_INTERVAL)


class _Resolver:
    """Resolves the few intrinsics a StackSet's properties use: Ref and Sub."""

    def __init__(self, parameters: dict[str, str], pseudo: dict[str, str]):
        self.values = {**pseudo, **parameters}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                if name not in self.values:
                    raise SandboxDeployError(f"cannot resolve Ref {name!r} in the StackSet")
                return self.values[name]
            if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
                text = value["Fn::Sub"]
                for name, resolved in self.values.items():
                    text = text.replace("${" + name + "}", resolved)
                if "${" in text:
                    raise SandboxDeployError(f"cannot resolve Fn::Sub {value['Fn::Sub']!r}")
                return text
            if any(key == "Ref" or key.startswith("Fn::") for key in value):
                raise SandboxDeployError(f"unsupported intrinsic in the StackSet: {value!r}")
            return {key: self(item) for key, item in value.items()}
        return value


def stack_set_properties(template_body: str) -> dict[str, Any]:
    """The (unresolved) properties of the template's only StackSet resource."""
    resources = load_template(template_body).get("Resources") or {}
    found = [
        resource.get("Properties") or {}
        for resource in resources.values()
        if isinstance(resource, dict) and resource.get("Type") == _STACK_SET_TYPE
    ]
    if len(found) != 1:
        raise SandboxDeployError(f"expected one {_STACK_SET_TYPE} in the template, found {len(found)}")
    return found[0]


def _fill_moto_gaps(account_id: str, region: str, stack_set_id: str, properties: dict[str, Any]) -> None:
    """Best effort, in-process moto only: make describe_stack_set show what it omits.

    moto's `describe_stack_set` leaves out AutoDeployment, Capabilities and
    OrganizationalUnitIds; setting them on its stack-set object makes them
    appear. Against a moto server in another process there is nothing to set.
    """
    try:
        from moto.cloudformation.models import cloudformation_backends
    except ImportError:  # moto not installed: not a sandbox we can reach into
        return
    try:
        backend = cloudformation_backends[account_id][region]
    except Exception:  # noqa: BLE001 - unknown moto internals: leave things as they are
        return
    stack_set = backend.stacksets.get(stack_set_id)
    if stack_set is None:
        return
    if "AutoDeployment" in properties:
        stack_set.auto_deployment = properties["AutoDeployment"]
    if "Capabilities" in properties:
        stack_set.capabilities = properties["Capabilities"]
    units = [
        unit
        for group in properties.get("StackInstancesGroup") or []
        for unit in (group.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
    ]
    if units:
        stack_set.organizational_unit_ids = units


def deploy_rendered_template(
    template_body: str,
    *,
    region: str = "us-east-1",
    stack_name: str = STACK_NAME,
    session: boto3.Session | None = None,
    timeout: float = POLL_TIMEOUT,
) -> str:
    """Create the stack from exactly `template_body`, as the user would; return RoleArn.

    Then create the StackSet the template declares (moto ignores that
    resource) with its stack instances on the root, as CloudFormation would.
    The organization must exist, with trusted access for StackSets, and the
    stack must not exist yet (see `delete_deployment`).
    """
    declared = stack_set_properties(template_body)  # refuse a wrong template before creating anything
    session = _session(session, region)
    cloudformation = session.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=template_body,
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    stack = _wait_for_stack(cloudformation, stack_name, timeout=timeout)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs") or []}
    if "RoleArn" not in outputs:
        raise SandboxDeployError(f"stack {stack_name} has no RoleArn output")

    account_id = stack["StackId"].split(":")[4]
    partition = stack["StackId"].split(":")[1]
    parameters = {item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters") or []}
    resolve = _Resolver(
        parameters,
        {
            "AWS::AccountId": account_id,
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::StackId": stack["StackId"],
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        },
    )
    properties = resolve(declared)
    stack_set_name = properties["StackSetName"]
    create_args: dict[str, Any] = {
        "StackSetName": stack_set_name,
        "TemplateBody": properties["TemplateBody"],
        "PermissionModel": properties.get("PermissionModel", "SELF_MANAGED"),
        "Parameters": properties.get("Parameters") or [],
        "Capabilities": properties.get("Capabilities") or [],
    }
    for key in ("Description", "AutoDeployment", "ManagedExecution", "CallAs"):
        if key in properties:
            create_args[key] = properties[key]
    stack_set_id = cloudformation.create_stack_set(**create_args)["StackSetId"]
    _fill_moto_gaps(account_id, region, stack_set_id, properties)

    for group in properties.get("StackInstancesGroup") or []:
        instance_args: dict[str, Any] = {
            "StackSetName": stack_set_name,
            "DeploymentTargets": group["DeploymentTargets"],
            "Regions": group["Regions"],
        }
        if "OperationPreferences" in properties:
            instance_args["OperationPreferences"] = properties["OperationPreferences"]
        if "CallAs" in properties:
            instance_args["CallAs"] = properties["CallAs"]
        operation_id = cloudformation.create_stack_instances(**instance_args)["OperationId"]
        _wait_for_operation(cloudformation, stack_set_name, operation_id, timeout=timeout)
    return outputs["RoleArn"]


def delete_deployment(
    *,
    region: str = "us-east-1",
    stack_name: str = STACK_NAME,
    session: boto3.Session | None = None,
    timeout: float = POLL_TIMEOUT,
) -> None:
    """Undo `deploy_rendered_template` in the seed's clean-up order.

    The StackSet's instances, then the StackSet, then the stack. The StackSet
    name and root come from the stack's parameters. Missing pieces are
    skipped, so it also cleans up after a half-finished deployment.
    """
    session = _session(session, region)
    cloudformation = session.client("cloudformation", region_name=region)
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return
        raise
    parameters = {item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters") or []}
    stack_set_name = parameters.get("StackSetName")
    root_id = parameters.get("RootId")

    if stack_set_name:
        try:
            cloudformation.describe_stack_set(StackSetName=stack_set_name)
        except cloudformation.exceptions.StackSetNotFoundException:
            stack_set_name = None
    if stack_set_name:
        instances = _stack_instances(cloudformation, stack_set_name)
        if instances and root_id:
            operation_id = cloudformation.delete_stack_instances(
                StackSetName=stack_set_name,
                DeploymentTargets={"OrganizationalUnitIds": [root_id]},
                Regions=sorted({i["Region"] for i in instances}),
                RetainStacks=False,
            )["OperationId"]
            _wait_for_operation(cloudformation, stack_set_name, operation_id, timeout=timeout)
            instances = _stack_instances(cloudformation, stack_set_name)
        if instances:
            # moto ignores DeploymentTargets when deleting: name the accounts.
            operation_id = cloudformation.delete_stack_instances(
                StackSetName=stack_set_name,
                Accounts=sorted({i["Account"] for i in instances}),
                Regions=sorted({i["Region"] for i in instances}),
                RetainStacks=False,
            )["OperationId"]
            _wait_for_operation(cloudformation, stack_set_name, operation_id, timeout=timeout)
        cloudformation.delete_stack_set(StackSetName=stack_set_name)

    cloudformation.delete_stack(StackName=stack_name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = cloudformation.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"]
        except cloudformation.exceptions.ClientError:
            return
        if status == "DELETE_COMPLETE":
            return
        if not status.endswith("_IN_PROGRESS"):
            raise SandboxDeployError(f"stack {stack_name} ended in {status}")
        time.sleep(POLL_INTERVAL)
    raise SandboxDeployError(f"stack {stack_name} not deleted after {timeout:.0f} s")


def _stack_instances(cloudformation: Any, stack_set_name: str) -> list[dict[str, Any]]:
    paginator = cloudformation.get_paginator("list_stack_instances")
    return [
        summary for page in paginator.paginate(StackSetName=stack_set_name) for summary in page.get("Summaries") or []
    ]
