"""The playground's "sandbox AWS" panel: what a person would do in the AWS console, against moto.

It shows the organization (its ID and root ID, to copy into the bot's modal),
deploys an uploaded template exactly as the bot uploaded it (CloudFormation →
Create stack → Upload a template file) and shows the stack's `RoleArn`
output, and breaks things on purpose so the bot's failure messages can be
seen: trusted access for StackSets turned off, the management role deleted.
`restore` puts both back.

Plain boto3 against the moto server named by `AWS_ENDPOINT_URL` (see
`bot/playground/main.py`). Not thread-safe by itself: one lock around every
operation, and `state()` is a cached dict rebuilt after each change.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any, Callable

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.playground.sandbox_org import (
    MANAGEMENT_ROLE_NAME,
    ORGANIZATIONS_REGION,
    STACKSETS_PRINCIPAL,
    SandboxOrganization,
)
from bot.playground.sandbox_stack import SandboxDeployError, delete_deployment, deploy_rendered_template
from bot.template.render import STACK_NAME

SessionFactory = Callable[[str], boto3.Session]


class SandboxActionError(RuntimeError):
    """A sandbox action could not be done; the message is meant for the person who clicked."""


class SandboxConsole:
    def __init__(
        self,
        organization: SandboxOrganization,
        *,
        session_for: SessionFactory,
        default_region: str = "us-east-1",
        on_change: Callable[[], None] = lambda: None,
    ):
        self.organization = organization
        self._session_for = session_for
        self.default_region = default_region
        self._on_change = on_change
        self._lock = threading.RLock()
        self.deployment: dict[str, Any] | None = None  # {file_id, filename, region, role_arn, deployed_at}
        self.last_error = ""
        self._state: dict[str, Any] = {}
        self.refresh()

    # ----------------------------------------------------------------- reading

    def state(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._state)

    def refresh(self) -> dict[str, Any]:
        """Read the organization, trusted access, the management role and the stack again."""
        with self._lock:
            org = self.organization
            state: dict[str, Any] = {
                "organization_id": org.org_id,
                "root_id": org.root_id,
                "management_account_id": org.management_account_id,
                "accounts": [{"id": i, "name": n} for i, n in org.accounts],
                "default_region": self.default_region,
                "trusted_access": self._trusted_access(),
                "management_role": self._role_arn(),
                "deployment": copy.deepcopy(self.deployment),
                "stack_status": self._stack_status(),
                "last_error": self.last_error,
            }
            self._state = state
            return copy.deepcopy(state)

    def _organizations(self) -> Any:
        return self._session_for(ORGANIZATIONS_REGION).client("organizations", region_name=ORGANIZATIONS_REGION)

    def _iam(self) -> Any:
        return self._session_for(ORGANIZATIONS_REGION).client("iam", region_name=ORGANIZATIONS_REGION)

    def _trusted_access(self) -> bool:
        try:
            enabled = self._organizations().list_aws_service_access_for_organization()["EnabledServicePrincipals"]
        except (ClientError, BotoCoreError):
            return False
        return any(p.get("ServicePrincipal") == STACKSETS_PRINCIPAL for p in enabled)

    def _role_name(self) -> str:
        arn = (self.deployment or {}).get("role_arn") or ""
        return arn.rsplit("/", 1)[-1] if "/" in arn else MANAGEMENT_ROLE_NAME

    def _role_arn(self) -> str:
        try:
            return self._iam().get_role(RoleName=self._role_name())["Role"]["Arn"]
        except (ClientError, BotoCoreError):
            return ""

    def _stack_status(self) -> str:
        region = (self.deployment or {}).get("region") or self.default_region
        cloudformation = self._session_for(region).client("cloudformation", region_name=region)
        try:
            return cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]["StackStatus"]
        except (ClientError, BotoCoreError):
            return ""

    # ----------------------------------------------------------------- actions

    def _changed(self) -> dict[str, Any]:
        state = self.refresh()
        self._on_change()
        return state

    def _fail(self, message: str) -> SandboxActionError:
        self.last_error = message
        self._changed()
        return SandboxActionError(message)

    def deploy(self, template_body: bytes, *, file_id: str, filename: str, region: str | None = None) -> dict[str, Any]:
        """Create the stack from exactly these bytes, after deleting a previous deployment; the new state."""
        region = region or self.default_region
        with self._lock:
            self.last_error = ""
            try:
                text = template_body.decode("utf-8")
            except UnicodeDecodeError:
                raise self._fail(f"{filename} is not a text file: it is not a CloudFormation template") from None
            try:
                self._undeploy(region)
                role_arn = deploy_rendered_template(text, region=region, session=self._session_for(region))
            except (SandboxDeployError, ClientError, BotoCoreError, ValueError, KeyError) as error:
                self.deployment = None
                raise self._fail(f"Stack creation failed: {error}") from None
            self.deployment = {
                "file_id": file_id,
                "filename": filename,
                "region": region,
                "role_arn": role_arn,
                "deployed_at": time.time(),
                "template": text,
            }
            return self._public(self._changed())

    def _undeploy(self, region: str) -> None:
        regions = {region}
        if self.deployment:
            regions.add(self.deployment["region"])
            if not self._role_arn():
                # The role was deleted on purpose: AWS would delete the stack anyway, moto refuses
                # (NoSuchEntity). An empty role of the same name lets the stack go.
                self._iam().create_role(
                    RoleName=self._role_name(),
                    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
                )
        for each in sorted(regions):
            delete_deployment(region=each, session=self._session_for(each))
        self.deployment = None

    def delete_stack(self) -> dict[str, Any]:
        with self._lock:
            self.last_error = ""
            try:
                self._undeploy(self.default_region)
            except (SandboxDeployError, ClientError, BotoCoreError) as error:
                raise self._fail(f"Stack deletion failed: {error}") from None
            return self._public(self._changed())

    def disable_trusted_access(self) -> dict[str, Any]:
        """Break: turn off trusted access for StackSets in AWS Organizations."""
        with self._lock:
            self.last_error = ""
            self._organizations().disable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
            return self._public(self._changed())

    def delete_management_role(self) -> dict[str, Any]:
        """Break: delete the management role the stack created (its policies first, as IAM requires)."""
        with self._lock:
            self.last_error = ""
            iam = self._iam()
            name = self._role_name()
            try:
                iam.get_role(RoleName=name)
            except ClientError:
                raise self._fail(f"There is no role {name} to delete: deploy the template first.") from None
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for policy in page["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            for profile in iam.list_instance_profiles_for_role(RoleName=name).get("InstanceProfiles", []):
                iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
            iam.delete_role(RoleName=name)
            return self._public(self._changed())

    def restore(self) -> dict[str, Any]:
        """Undo the breakage: trusted access on, and the last template deployed again if its role is gone."""
        with self._lock:
            self.last_error = ""
            self._organizations().enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
            deployment = self.deployment
            if deployment and not self._role_arn():
                try:
                    self._undeploy(deployment["region"])
                    role_arn = deploy_rendered_template(
                        deployment["template"], region=deployment["region"], session=self._session_for(deployment["region"])
                    )
                except (SandboxDeployError, ClientError, BotoCoreError) as error:
                    raise self._fail(f"Redeploying the stack failed: {error}") from None
                self.deployment = {**deployment, "role_arn": role_arn, "deployed_at": time.time()}
            return self._public(self._changed())

    @staticmethod
    def _public(state: dict[str, Any]) -> dict[str, Any]:
        deployment = state.get("deployment")
        if deployment:
            deployment.pop("template", None)
        return state

    def public_state(self) -> dict[str, Any]:
        return self._public(self.state())
