"""Render the CloudFormation template of one connection, and the CLI lines around it.

Pure functions: no Slack, no AWS calls. The templates live in `templates/`
(shipped as package data `bot.cfn_templates`):

- `member.yaml`: the read-only role of every member account, deployed by
  the StackSet;
- `management.yaml`: the stack the user deploys in the management account.
  On disk its per-connection parameters have no Default and its StackSet's
  TemplateBody is a placeholder, so that `cfn-lint templates/*.yaml` checks
  the files as they are.

`render_management_template` fills in the Defaults (so the user types
nothing in the console) and embeds `member.yaml` as a literal block, by
text insertion: the output keeps the comments and the short-form intrinsic
tags (`!Ref`, `!Sub`, `!GetAtt`) of the file on disk. It then parses its own
output and checks every value against the template's AllowedPattern, so a
template that would be refused at deploy time is never returned.
"""

from __future__ import annotations

import re
import secrets
import shlex
from importlib import resources
from typing import Any

import yaml

STACK_SET_NAME = "CloudEntitlements-MemberRoles"
MANAGEMENT_ROLE_NAME = "CloudEntitlementsManagementRole"
MEMBER_ROLE_NAME = "CloudEntitlementsMemberRole"
STACK_NAME = "cloud-entitlements"

MANAGEMENT_TEMPLATE = "management.yaml"
MEMBER_TEMPLATE = "member.yaml"
TEMPLATE_PACKAGE = "bot.cfn_templates"

# The same patterns as the templates' AllowedPattern (a test keeps them equal).
# Explicit ASCII classes: Python's \w and \d also match non-ASCII characters.
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
EXTERNAL_ID_PATTERN = r"^[a-zA-Z0-9_+=,.@:/-]{2,1224}$"
ROOT_ID_PATTERN = r"^r-[a-z0-9]{4,32}$"
STACK_SET_NAME_PATTERN = r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$"
ORGANIZATION_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
STACK_NAME_PATTERN = r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$"
# us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1, ...
REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"

# A template passed to create-stack as a body (CLI --template-body) may not
# exceed 51,200 bytes.
MAX_TEMPLATE_BODY_BYTES = 51_200


# --------------------------------------------------------------------------
# Reading templates (tolerant of CloudFormation's short-form tags)
# --------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Ref x` into `{"Ref": "x"}`, `!Sub s` into
    `{"Fn::Sub": s}`, `!GetAtt A.B` into `{"Fn::GetAtt": ["A", "B"]}`, …"""


def _construct_cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(text: str) -> dict[str, Any]:
    """Parse a CloudFormation YAML template; short-form tags become long form."""
    document = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError("not a CloudFormation template: the document is not a mapping")
    return document


def read_template(name: str) -> str:
    """The text of `templates/<name>` as shipped (package data `bot.cfn_templates`)."""
    if name not in (MANAGEMENT_TEMPLATE, MEMBER_TEMPLATE):
        raise ValueError(f"unknown template {name!r}")
    text = resources.files(TEMPLATE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return text.replace("\r\n", "\n")


def member_template() -> str:
    """The member-account template, exactly as embedded in the StackSet."""
    return read_template(MEMBER_TEMPLATE)


# --------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------


def new_external_id() -> str:
    """A fresh random ExternalId: 32 lowercase hex characters (128 bits)."""
    return secrets.token_hex(16)


def _require(value: object, pattern: str, what: str, example: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        shown = value if isinstance(value, str) and len(value) <= 80 else type(value).__name__
        raise ValueError(f"invalid {what} {shown!r}: expected something like {example}")
    return value


def _check_account_id(value: object) -> str:
    return _require(value, ACCOUNT_ID_PATTERN, "AWS account ID", "123456789012 (12 digits)")


def _check_external_id(value: object) -> str:
    return _require(value, EXTERNAL_ID_PATTERN, "ExternalId", "2 to 1224 characters of letters, digits, _+=,.@:/-")


def _check_root_id(value: object) -> str:
    return _require(value, ROOT_ID_PATTERN, "root ID", "r-ab12")


def _check_stack_set_name(value: object) -> str:
    return _require(value, STACK_SET_NAME_PATTERN, "StackSet name", STACK_SET_NAME)


def _check_region(value: object) -> str:
    return _require(value, REGION_PATTERN, "AWS region", "us-east-1")


def _check_stack_name(value: object) -> str:
    return _require(value, STACK_NAME_PATTERN, "stack name", STACK_NAME)


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def _yaml_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _set_parameter_default(text: str, name: str, value: str) -> str:
    """Set (or replace) `Default:` of parameter `name` in the top-level Parameters."""
    lines = text.split("\n")
    try:
        section = lines.index("Parameters:")
    except ValueError:
        raise RuntimeError("management template has no top-level Parameters section") from None
    section_end = next(
        (i for i in range(section + 1, len(lines)) if _is_content(lines[i]) and _indent_of(lines[i]) == 0),
        len(lines),
    )
    header = next(
        (
            i
            for i in range(section + 1, section_end)
            if _is_content(lines[i])
            and lines[i].strip() == f"{name}:"
            and _indent_of(lines[i]) == _indent_of(lines[section + 1])
        ),
        None,
    )
    if header is None:
        raise RuntimeError(f"management template has no parameter {name!r}")
    header_indent = _indent_of(lines[header])
    block_end = next(
        (i for i in range(header + 1, section_end) if _is_content(lines[i]) and _indent_of(lines[i]) <= header_indent),
        section_end,
    )
    body = [i for i in range(header + 1, block_end) if _is_content(lines[i])]
    if not body:
        raise RuntimeError(f"parameter {name!r} of the management template has no properties")
    indent = " " * _indent_of(lines[body[0]])
    new_line = f"{indent}Default: {_yaml_quote(value)}"
    for i in body:
        if lines[i].startswith(f"{indent}Default:"):
            lines[i] = new_line
            break
    else:
        after = next((i for i in body if lines[i].startswith(f"{indent}Type:")), header)
        lines.insert(after + 1, new_line)
    return "\n".join(lines)


_TEMPLATE_BODY_LINE = re.compile(r"^(?P<indent> +)TemplateBody:.*$", re.MULTILINE)


def _embed_template_body(text: str, body: str) -> str:
    """Replace the StackSet's one-line TemplateBody with `body` as a literal block."""
    matches = list(_TEMPLATE_BODY_LINE.finditer(text))
    if len(matches) != 1:
        raise RuntimeError("management template must have exactly one one-line TemplateBody")
    match = matches[0]
    inner = match["indent"] + "  "
    block = "\n".join(inner + line if line else "" for line in body.rstrip("\n").split("\n"))
    replacement = f"{match['indent']}TemplateBody: |\n{block}"
    return text[: match.start()] + replacement + text[match.end() :]


def _stack_set_properties(template: dict[str, Any]) -> dict[str, Any]:
    stack_sets = [
        resource.get("Properties", {})
        for resource in (template.get("Resources") or {}).values()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudFormation::StackSet"
    ]
    if len(stack_sets) != 1:
        raise RuntimeError("the management template must hold exactly one StackSet")
    return stack_sets[0]


def _verify_rendered(text: str, defaults: dict[str, str], member: str) -> None:
    """Parse what was rendered and check it says what was asked, acceptably."""
    template = load_template(text)
    parameters = template.get("Parameters") or {}
    for name, value in defaults.items():
        spec = parameters.get(name) or {}
        if spec.get("Default") != value:
            raise RuntimeError(f"rendering failed: parameter {name} has no Default {value!r}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ValueError(f"{name} {value!r} does not match the template's pattern {pattern}")
    for name, spec in parameters.items():
        if "Default" not in spec:
            raise RuntimeError(f"rendering failed: parameter {name} has no Default")
    if _stack_set_properties(template).get("TemplateBody") != member:
        raise RuntimeError("rendering failed: the member template is not embedded verbatim")
    if len(text.encode("utf-8")) > MAX_TEMPLATE_BODY_BYTES:
        raise RuntimeError("rendering failed: the template exceeds CloudFormation's 51,200 bytes")


def render_management_template(
    *,
    trusted_account_id: str,
    external_id: str,
    root_id: str,
    stack_set_name: str = STACK_SET_NAME,
) -> str:
    """The management template of one connection, ready to deploy as is.

    Every parameter has a Default (TrustedAccountId, ExternalId, RootId and
    StackSetName from the arguments; the role names keep theirs) and the
    StackSet's TemplateBody is `member.yaml`, verbatim. Raises ValueError on a
    malformed argument. The same arguments give the same text.
    """
    defaults = {
        "TrustedAccountId": _check_account_id(trusted_account_id),
        "ExternalId": _check_external_id(external_id),
        "RootId": _check_root_id(root_id),
        "StackSetName": _check_stack_set_name(stack_set_name),
    }
    member = member_template()
    text = read_template(MANAGEMENT_TEMPLATE)
    for name, value in defaults.items():
        text = _set_parameter_default(text, name, value)
    text = _embed_template_body(text, member)
    header = (
        "# Cloud Entitlements: rendered for one connection (organization root "
        f"{defaults['RootId']}).\n"
        "# Deploy it as is in the organization's management account; every parameter\n"
        "# is already filled in. Tick the IAM acknowledgement, then copy RoleArn from\n"
        "# the stack's Outputs.\n"
    )
    text = header + text
    _verify_rendered(text, defaults, member)
    return text


# --------------------------------------------------------------------------
# File name and CLI lines
# --------------------------------------------------------------------------


def template_filename(org_id: str) -> str:
    """The name of the uploaded template file: `cloud-entitlements-o-….yaml`."""
    _require(org_id, ORGANIZATION_ID_PATTERN, "organization ID", "o-a1b2c3d4e5")
    return f"{STACK_NAME}-{org_id}.yaml"


def create_stack_command(*, filename: str, region: str, stack_name: str = STACK_NAME) -> str:
    """The one-line AWS CLI equivalent of the console steps."""
    if not isinstance(filename, str) or not filename or any(c in filename for c in "\r\n\0"):
        raise ValueError(f"invalid template file name {filename!r}")
    _check_region(region)
    _check_stack_name(stack_name)
    return (
        f"aws cloudformation create-stack --stack-name {stack_name}"
        f" --template-body {shlex.quote('file://' + filename)}"
        f" --capabilities CAPABILITY_NAMED_IAM --region {region}"
    )


def cleanup_steps(
    *,
    region: str,
    root_id: str,
    stack_set_name: str = STACK_SET_NAME,
    stack_name: str = STACK_NAME,
) -> list[tuple[str, str]]:
    """The clean-up, in order, as (what it does, AWS CLI line) pairs.

    The StackSet goes first (its stack instances, then the StackSet itself),
    then the stack. Deleting the instances is an asynchronous StackSet
    operation: the StackSet can be deleted only once it has finished.
    """
    _check_region(region)
    _check_root_id(root_id)
    _check_stack_set_name(stack_set_name)
    _check_stack_name(stack_name)
    return [
        (
            (
                "Delete the StackSet's stack instances: removes the role from every member "
                "account. Wait until this operation has succeeded (CloudFormation → StackSets "
                f"→ {stack_set_name} → Operations) before the next step."
            ),
            (
                "aws cloudformation delete-stack-instances"
                f" --stack-set-name {stack_set_name}"
                f" --deployment-targets OrganizationalUnitIds={root_id}"
                f" --regions {region}"
                " --operation-preferences MaxConcurrentPercentage=100,FailureTolerancePercentage=100"
                f" --no-retain-stacks --region {region}"
            ),
        ),
        (
            "Delete the StackSet.",
            f"aws cloudformation delete-stack-set --stack-set-name {stack_set_name} --region {region}",
        ),
        (
            "Delete the stack: removes the role from the management account.",
            f"aws cloudformation delete-stack --stack-name {stack_name} --region {region}",
        ),
    ]


def cleanup_commands(
    *,
    region: str,
    root_id: str,
    stack_set_name: str = STACK_SET_NAME,
    stack_name: str = STACK_NAME,
) -> list[str]:
    """The clean-up as AWS CLI lines, in order: stack instances, StackSet, stack."""
    return [
        command
        for _, command in cleanup_steps(
            region=region, root_id=root_id, stack_set_name=stack_set_name, stack_name=stack_name
        )
    ]
