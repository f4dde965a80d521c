"""Rendering one connection's template, and the CLI lines that go with it."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.template import render

TRUSTED = "111122223333"
EXTERNAL_ID = "0123456789abcdef0123456789abcdef"
ROOT = "r-ab12"


def _render(**overrides) -> str:
    args = {"trusted_account_id": TRUSTED, "external_id": EXTERNAL_ID, "root_id": ROOT, **overrides}
    return render.render_management_template(**args)


def _stack_set(template: dict) -> dict:
    (stack_set,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    return stack_set


def test_rendered_template_passes_cfn_lint(cfn_lint, tmp_path):
    path = tmp_path / render.template_filename("o-abcdefghij")
    path.write_text(_render(), encoding="utf-8")
    result = cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_parameter_has_its_default():
    parameters = render.load_template(_render())["Parameters"]
    assert {name: spec["Default"] for name, spec in parameters.items()} == {
        "TrustedAccountId": TRUSTED,
        "ExternalId": EXTERNAL_ID,
        "RootId": ROOT,
        "StackSetName": render.STACK_SET_NAME,
        "ManagementRoleName": render.MANAGEMENT_ROLE_NAME,
        "MemberRoleName": render.MEMBER_ROLE_NAME,
    }
    for name, spec in parameters.items():
        assert re.fullmatch(spec["AllowedPattern"], spec["Default"]), name


def test_member_template_is_embedded_verbatim_as_a_literal_block():
    text = _render()
    assert _stack_set(render.load_template(text))["TemplateBody"] == render.member_template()
    assert "      TemplateBody: |\n        AWSTemplateFormatVersion:" in text


def test_rendered_template_keeps_the_short_form_tags_and_the_partition():
    text = _render()
    for tag in ("!Ref ", "!Sub ", "!GetAtt "):
        assert tag in text
    assert "arn:aws:" not in text
    assert "${AWS::Partition}" in text


def test_trust_condition_and_only_output():
    template = render.load_template(_render())
    role = template["Resources"]["CloudEntitlementsManagementRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${TrustedAccountId}:root"}}
    assert list(template["Outputs"]) == ["RoleArn"]
    assert template["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["CloudEntitlementsManagementRole", "Arn"]}


def test_custom_stack_set_name():
    template = render.load_template(_render(stack_set_name="CE-Roles-2"))
    assert template["Parameters"]["StackSetName"]["Default"] == "CE-Roles-2"


def test_deterministic_and_small():
    assert _render() == _render()
    assert _render() != _render(external_id="another-external-id")
    assert len(_render().encode()) < render.MAX_TEMPLATE_BODY_BYTES


def test_new_external_id_is_fresh_and_acceptable():
    ids = {render.new_external_id() for _ in range(50)}
    assert len(ids) == 50
    for external_id in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", external_id)
        assert re.fullmatch(render.EXTERNAL_ID_PATTERN, external_id)
    render.load_template(_render(external_id=ids.pop()))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(render.EXTERNAL_ID_PATTERN, fullmatch=True).filter(lambda s: len(s) < 300))
def test_any_acceptable_external_id_round_trips(external_id):
    parameters = render.load_template(_render(external_id=external_id))["Parameters"]
    assert parameters["ExternalId"]["Default"] == external_id


@pytest.mark.parametrize(
    "field, value",
    [
        ("trusted_account_id", "12345678901"),
        ("trusted_account_id", "1234567890123"),
        ("trusted_account_id", "12345678901a"),
        ("trusted_account_id", " 123456789012"),
        ("trusted_account_id", "١٢٣٤٥٦٧٨٩٠١٢"),  # non-ASCII digits
        ("trusted_account_id", 123456789012),
        ("trusted_account_id", None),
        ("external_id", ""),
        ("external_id", "a"),
        ("external_id", "x" * 1225),
        ("external_id", "has space"),
        ("external_id", "it's"),
        ("external_id", "new\nline"),
        ("external_id", "ééééé"),
        ("external_id", 'a"b'),
        ("root_id", "o-abcdefghij"),
        ("root_id", "r-abc"),
        ("root_id", "r-ABCD"),
        ("root_id", "r-" + "a" * 33),
        ("root_id", "r-ab12\n"),
        ("stack_set_name", "1-starts-with-digit"),
        ("stack_set_name", "has_underscore"),
        ("stack_set_name", "a" * 129),
    ],
)
def test_malformed_input_is_refused(field, value):
    with pytest.raises(ValueError):
        _render(**{field: value})


def test_template_filename():
    assert render.template_filename("o-abcdefghij") == "cloud-entitlements-o-abcdefghij.yaml"
    for bad in ("r-ab12", "o-short", "o-ABCDEFGHIJ", "../o-abcdefghij", "o-abcdefghij/x"):
        with pytest.raises(ValueError):
            render.template_filename(bad)


def test_create_stack_command():
    assert render.create_stack_command(filename="cloud-entitlements-o-abcdefghij.yaml", region="eu-west-1") == (
        "aws cloudformation create-stack --stack-name cloud-entitlements"
        " --template-body file://cloud-entitlements-o-abcdefghij.yaml"
        " --capabilities CAPABILITY_NAMED_IAM --region eu-west-1"
    )
    assert "--stack-name other " in render.create_stack_command(
        filename="t.yaml", region="us-gov-west-1", stack_name="other"
    )
    assert "'file://my template.yaml'" in render.create_stack_command(filename="my template.yaml", region="us-east-1")
    for bad in ({"region": "us east 1"}, {"region": "US-EAST-1"}, {"stack_name": "bad name"}, {"filename": ""}):
        args = {"filename": "t.yaml", "region": "us-east-1", **bad}
        with pytest.raises(ValueError):
            render.create_stack_command(**args)


def test_cleanup_commands_in_the_seed_order():
    commands = render.cleanup_commands(region="eu-central-1", root_id="r-ab12")
    assert len(commands) == 3
    instances, stack_set, stack = commands
    assert instances.startswith("aws cloudformation delete-stack-instances ")
    for part in (
        f"--stack-set-name {render.STACK_SET_NAME}",
        "--deployment-targets OrganizationalUnitIds=r-ab12",
        "--regions eu-central-1",
        "--no-retain-stacks",
        "--region eu-central-1",
    ):
        assert part in instances
    assert stack_set == (
        f"aws cloudformation delete-stack-set --stack-set-name {render.STACK_SET_NAME} --region eu-central-1"
    )
    assert stack == "aws cloudformation delete-stack --stack-name cloud-entitlements --region eu-central-1"
    steps = render.cleanup_steps(region="eu-central-1", root_id="r-ab12")
    assert [command for _, command in steps] == commands
    custom = render.cleanup_commands(region="us-east-1", root_id="r-ab12", stack_set_name="X-1", stack_name="s")
    assert "--stack-set-name X-1" in custom[0] and custom[2].endswith("--stack-name s --region us-east-1")
    for bad in ({"root_id": "o-abcdefghij"}, {"region": "nowhere"}):
        with pytest.raises(ValueError):
            render.cleanup_commands(**{"region": "us-east-1", "root_id": "r-ab12", **bad})
