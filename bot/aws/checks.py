"""The validation checks: one small function per check, and the ordered list.

Each check takes the `CheckContext` (the request, AWS access, what earlier
checks learned) and returns a `Verdict`: passed or not, what was found, what
to do. A check may simply let an AWS error escape: the runner
(`bot.aws.validation`) turns it into a failed line through `bot.aws.explain`.
Checks catch only the errors they can say something more precise about.

Adding a check: write the function, add one `Check(...)` line to `CHECKS`
(its `needs` are the checks whose failure makes it pointless).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from botocore.exceptions import ClientError

from bot.aws.explain import error_code, explain, is_access_denied
from bot.aws.session import AwsAccess, home_region, partition_of
from bot.aws.validation import MemberAccount, ValidationRequest
from bot.connection.ids import InvalidInput, parse_role_arn

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
SHOWN = 10  # at most this many accounts or instances named in one line
BACKOFF_BASE = 1.0  # seconds before the 2nd assume-role attempt (before jitter)
BACKOFF_CAP = 8.0


@dataclass(frozen=True)
class Verdict:
    passed: bool
    found: str = ""
    fix: str = ""
    # On failure: whether checks that need this one are skipped. False when
    # what this check found is still sound for them (e.g. the organization is
    # the right one but lacks "all features").
    blocks: bool = True


def passed(found: str) -> Verdict:
    return Verdict(True, found)


def failed(found: str, fix: str, *, blocks: bool = True) -> Verdict:
    return Verdict(False, found, fix, blocks)


@dataclass
class CheckContext:
    request: ValidationRequest
    aws: AwsAccess
    assume_timeout: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    report: Callable[[str], None] = lambda found: None  # update the running line's `found`
    session: boto3.Session | None = None  # the assumed role, once assume_role passed
    organization: dict = field(default_factory=dict)  # describe_organization's Organization
    management_account_id: str = ""  # set once the organization is the requested one
    accounts: tuple[MemberAccount, ...] = ()
    _listed: bool = False
    _clients: dict = field(default_factory=dict)

    @property
    def role_account_id(self) -> str:
        parts = self.request.role_arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    def organizations(self) -> BaseClient:
        """Organizations is global: its client lives in the home region of the role's partition."""
        partition = partition_of(self.request.role_arn)
        return self._client("organizations", home_region(partition, self.request.region))

    def cloudformation(self) -> BaseClient:
        return self._client("cloudformation", self.request.region)

    def _client(self, service: str, region: str) -> BaseClient:
        # One client per service for the validation, made from the assumed role's session.
        if (service, region) not in self._clients:
            self._clients[service, region] = self.aws.client(self.session, service, region)
        return self._clients[service, region]

    def list_accounts(self) -> tuple[MemberAccount, ...]:
        """Every account of the organization (all pages), listed once per validation."""
        if not self._listed:
            accounts = []
            for page in self.organizations().get_paginator("list_accounts").paginate():
                for account in page.get("Accounts", []):
                    accounts.append(
                        MemberAccount(
                            id=account["Id"],
                            name=account.get("Name", ""),
                            email=account.get("Email", ""),
                            status=account.get("State") or account.get("Status") or "",
                        )
                    )
            self.accounts = tuple(accounts)
            self._listed = True
        return self.accounts


# --- the checks -------------------------------------------------------------


def assume_role(ctx: CheckContext) -> Verdict:
    """Assume the role with the ExternalId, waiting for IAM to propagate a new role."""
    try:
        arn = parse_role_arn(ctx.request.role_arn)
    except InvalidInput as invalid:
        return failed("the role ARN is not a valid IAM role ARN", invalid.message)

    deadline = ctx.clock() + ctx.assume_timeout
    attempt = 1
    while True:
        try:
            ctx.session = ctx.aws.assume_role(arn.arn, ctx.request.external_id, duration=900, region=ctx.request.region)
        except ClientError as error:
            if not is_access_denied(error):
                raise  # cannot heal by waiting: the runner explains it
            remaining = deadline - ctx.clock()
            if remaining <= 0:
                explanation = explain(error, context="assume_role")
                return failed(
                    f"{explanation.found} (still denied after {attempt} attempts over {ctx.assume_timeout:g} s)",
                    explanation.fix,
                )
            # A role created minutes ago is denied until IAM propagates it: back off and retry.
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
            attempt += 1
            ctx.report(f"waiting for the new role to reach IAM, attempt {attempt}")
            ctx.sleep(min(remaining, delay / 2 + random.uniform(0, delay / 2)))
            continue
        return passed(f"assumed {arn.name} in account {arn.account_id}")


def organization(ctx: CheckContext) -> Verdict:
    """The role's organization is the requested one, with all features enabled."""
    wanted = ctx.request.org_id
    try:
        org = ctx.organizations().describe_organization()["Organization"]
    except ClientError as error:
        if error_code(error) != "AWSOrganizationsNotInUseException":
            raise
        return failed(
            f"the role's account {ctx.role_account_id} is in no AWS organization",
            f"Deploy the stack in the management account of {wanted} "
            "(AWS Organizations → AWS accounts, the account marked Management account), "
            "then validate again with the new RoleArn.",
        )
    ctx.organization = org
    if org.get("Id") != wanted:
        return failed(
            f"this role belongs to organization {org.get('Id')}, not {wanted}",
            f"Deploy the stack in the management account of {wanted}; or, if {org.get('Id')} is the "
            "organization you meant, start over and enter its IDs.",
        )
    ctx.management_account_id = org.get("MasterAccountId", "")
    if org.get("FeatureSet") != "ALL":
        return failed(
            f"organization {wanted} has only consolidated billing features enabled",
            "AWS Organizations → Settings → Enable all features (every member account must accept), "
            "then validate again.",
            blocks=False,
        )
    return passed(f"organization {wanted}, all features enabled")


def management_account(ctx: CheckContext) -> Verdict:
    """The role lives in the organization's management account."""
    role_account = ctx.role_account_id
    management = ctx.organization.get("MasterAccountId", "")
    if role_account != management:
        return failed(
            f"the role is in member account {role_account}; the management account is {management}",
            f"Deploy the stack in the management account {management} (sign in to it), then validate again "
            f"with the new RoleArn. Delete the stack you created in {role_account}.",
        )
    return passed(f"the role is in the management account {management}")


def root(ctx: CheckContext) -> Verdict:
    """The requested root ID is the organization's root."""
    wanted = ctx.request.root_id
    roots = [
        r["Id"] for page in ctx.organizations().get_paginator("list_roots").paginate() for r in page.get("Roots", [])
    ]
    if wanted in roots:
        return passed(f"root {wanted}")
    actual = ", ".join(roots) or "none"
    return failed(
        f"the organization's root is {actual}, not {wanted}",
        f"Start over and enter root ID {roots[0] if roots else '(AWS Organizations → AWS accounts, next to Root)'}; "
        "first delete the StackSet, then the stack deployed with the wrong root ID.",
        blocks=False,
    )


def trusted_access(ctx: CheckContext) -> Verdict:
    """Trusted access for CloudFormation StackSets is enabled in AWS Organizations."""
    principals = {
        s.get("ServicePrincipal")
        for page in ctx.organizations().get_paginator("list_aws_service_access_for_organization").paginate()
        for s in page.get("EnabledServicePrincipals", [])
    }
    if STACKSETS_PRINCIPAL in principals:
        return passed("trusted access for CloudFormation StackSets is enabled")
    return failed(
        "trusted access for CloudFormation StackSets is not enabled in AWS Organizations",
        "In the management account: CloudFormation → StackSets → Activate trusted access; or run "
        f"`aws organizations enable-aws-service-access --service-principal {STACKSETS_PRINCIPAL}`. "
        "Then validate again.",
        blocks=False,
    )


def stack_set(ctx: CheckContext) -> Verdict:
    """The member StackSet exists in the region, service-managed, with auto-deployment on.

    A missing `AutoDeployment` is reported but does not fail: AWS returns it for
    every service-managed StackSet, and moto (the playground and the end-to-end
    tests, where nothing can set it across processes) omits it. A present
    `AutoDeployment` with `Enabled: false` fails.
    """
    name, region = ctx.request.stack_set_name, ctx.request.region
    try:
        found = ctx.cloudformation().describe_stack_set(StackSetName=name)["StackSet"]
    except ClientError as error:
        if error_code(error) != "StackSetNotFoundException":
            raise
        return failed(
            f"no StackSet named {name} in region {region}",
            f"Deploy the template the bot uploaded for this connection, unchanged, in the management account "
            f"in region {region}: the stack creates the StackSet. If you deployed it in another region, "
            "delete it there first (the StackSet, then the stack).",
        )
    problems = []
    if found.get("Status", "ACTIVE") != "ACTIVE":
        problems.append(f"it is {found.get('Status')}")
    if found.get("PermissionModel") != "SERVICE_MANAGED":
        problems.append(f"it uses {found.get('PermissionModel') or 'self-managed'} permissions, not service-managed")
    auto = found.get("AutoDeployment")
    if auto is not None and not auto.get("Enabled"):
        problems.append("automatic deployment is off")
    if problems:
        return failed(
            f"StackSet {name}: " + "; ".join(problems),
            "The StackSet must be the one the template creates (service-managed, automatic deployment on). "
            "Delete the StackSet, then the stack, and deploy the template the bot uploaded, unchanged.",
            blocks=False,
        )
    deployment = "automatic deployment on" if auto is not None else "automatic deployment not reported"
    return passed(f"StackSet {name} in {region}: service-managed, {deployment}")


def stack_instances(ctx: CheckContext) -> Verdict:
    """Every active member account has a CURRENT instance of the member StackSet."""
    name = ctx.request.stack_set_name
    instances: dict[str, list[dict]] = {}
    for page in ctx.cloudformation().get_paginator("list_stack_instances").paginate(StackSetName=name):
        for summary in page.get("Summaries", []):
            instances.setdefault(summary.get("Account", ""), []).append(summary)

    management = ctx.organization.get("MasterAccountId", "")
    # AWS never deploys a service-managed StackSet to the management account (moto does: ignore it).
    members = [a for a in ctx.list_accounts() if a.status == "ACTIVE" and a.id != management]
    missing = [a for a in members if a.id not in instances]
    broken = [
        (a, summary)
        for a in members
        for summary in instances.get(a.id, [])
        if summary.get("Status") != "CURRENT"
    ]
    if not missing and not broken:
        return passed(f"{len(members)} of {len(members)} active member accounts have the member role")

    parts = []
    if missing:
        parts.append("no instance in " + _capped([_label(a) for a in missing]))
    if broken:
        parts.append("not deployed in " + _capped([f"{_label(a)}: {instance_state(s)}" for a, s in broken]))
    in_progress = broken and not missing and all(
        s.get("StackInstanceStatus", {}).get("DetailedStatus") in ("PENDING", "RUNNING") for _, s in broken
    )
    if in_progress:
        fix = "The StackSet is still deploying: wait a few minutes, then validate again."
    else:
        fix = (
            f"CloudFormation → StackSets → {name} (region {ctx.request.region}): read the status reason of the "
            f"failed instances; then Actions → Add stacks to StackSet, deployment target the root "
            f"{ctx.request.root_id}, region {ctx.request.region}. Then validate again."
        )
    bad = len({a.id for a in missing} | {a.id for a, _ in broken})
    return failed(f"{bad} of {len(members)} active member accounts lack the member role: " + "; ".join(parts), fix)


def member_accounts(ctx: CheckContext) -> Verdict:
    """The organization's accounts, all pages, listed (and stored by the caller)."""
    accounts = ctx.list_accounts()
    if not accounts:
        return failed(
            "AWS listed no accounts in the organization",
            "Validate again in a few minutes; if it keeps happening, ask the bot's operator.",
        )
    active = sum(1 for a in accounts if a.status == "ACTIVE")
    return passed(f"{len(accounts)} accounts ({active} active)")


def _label(account: MemberAccount) -> str:
    return f"{account.id} ({account.name})" if account.name else account.id


def instance_state(summary: dict, limit: int = 120) -> str:
    """A stack instance's status in words: `OUTDATED/FAILED — <status reason>`, the reason cut to `limit`."""
    state = summary.get("Status", "UNKNOWN")
    detailed = (summary.get("StackInstanceStatus") or {}).get("DetailedStatus")
    if detailed and detailed != state:
        state = f"{state}/{detailed}"
    reason = " ".join(str(summary.get("StatusReason") or "").split())
    if len(reason) > limit:
        reason = reason[: limit - 1] + "…"
    return f"{state} — {reason}" if reason else state


def _capped(items: list[str], shown: int = SHOWN) -> str:
    if len(items) <= shown:
        return ", ".join(items)
    return ", ".join(items[:shown]) + f" and {len(items) - shown} more"


# --- the checklist, in order --------------------------------------------------


@dataclass(frozen=True)
class Check:
    key: str  # stable: stored with the results
    title: str  # the checklist line
    noun: str  # how dependents name it: "not run: <noun> failed"
    run: Callable[[CheckContext], Verdict]
    needs: tuple[str, ...] = ()  # keys of the checks it depends on


# key, title (the checklist line), noun ("not run: <noun> failed"), function, needs
CHECKS: tuple[Check, ...] = (
    Check("assume_role", "Assume the role with the ExternalId", "assume role", assume_role),
    Check("organization", "Organization ID matches", "organization", organization, ("assume_role",)),
    Check("management_account", "Role is in the management account", "management account", management_account,
          ("organization",)),
    Check("root", "Root ID matches", "root", root, ("management_account",)),
    Check("trusted_access", "Trusted access for StackSets is enabled", "trusted access", trusted_access,
          ("management_account",)),
    Check("stack_set", "Member StackSet exists", "StackSet", stack_set, ("management_account",)),
    Check("stack_instances", "Member role reached every account", "StackSet instances", stack_instances,
          ("stack_set",)),
    Check("member_accounts", "Member accounts listed", "member accounts", member_accounts, ("management_account",)),
)
