"""The AWS side, as rendered for one connection: the roles are read-only and hold only what the
validation and Cloud Entitlements need; their trust policies admit exactly the Cloud Entitlements
account presenting this connection's ExternalId; cfn-lint finds nothing; checkov (when installed:
it pins boto3 and packaging to versions older than the bot's, so it is not a test dependency)
finds nothing either."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.aws.explain import PERMISSION
from bot.template import render

REPO = Path(__file__).resolve().parents[2]
TRUSTED = "111122223333"
ROOT = "r-tmpl"
READ_VERBS = ("Describe", "Get", "List")
REPORT_ACTIONS = {"iam:GenerateCredentialReport", "iam:GenerateServiceLastAccessedDetails"}  # build a read-only report
NEVER = ("sts:AssumeRole", "iam:PassRole", "iam:Create", "iam:Put", "iam:Attach", "iam:Update", "iam:Delete",
         "organizations:Create", "organizations:Invite", "organizations:Leave", "organizations:Remove",
         "cloudformation:Create", "cloudformation:Update", "cloudformation:Delete", "s3:", "kms:", "secretsmanager:")  # fmt: skip


def rendered(external_id: str) -> tuple[dict, dict, str]:
    text = render.render_management_template(trusted_account_id=TRUSTED, external_id=external_id, root_id=ROOT)
    management = render.load_template(text)
    (stack_set,) = [r for r in management["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"]
    member = render.load_template(stack_set["Properties"]["TemplateBody"])
    return management, member, text


def resolve(value, parameters: dict, stack_set_values: dict | None = None):
    """Refs and Subs against the parameters' Defaults (the member stack gets them from the StackSet)."""
    values = {name: p.get("Default") for name, p in parameters.items()}
    values.update(stack_set_values or {})
    values["AWS::Partition"] = "aws"
    if isinstance(value, dict) and "Ref" in value:
        return values[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, v in values.items():
            text = text.replace("${" + name + "}", str(v))
        return text
    if isinstance(value, dict):
        return {k: resolve(v, parameters, stack_set_values) for k, v in value.items()}
    return value


def roles(template: dict) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]


def test_trust_pins_the_account_and_this_connections_external_id():
    external_id = render.new_external_id()
    assert len(external_id) >= 32 and external_id != render.new_external_id()  # fresh and unguessable
    management, member, _ = rendered(external_id)
    (stack_set,) = [r for r in management["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"]
    passed_down = {p["ParameterKey"]: resolve(p["ParameterValue"], management["Parameters"])
                   for p in stack_set["Properties"]["Parameters"]}  # fmt: skip
    assert passed_down["TrustedAccountId"] == TRUSTED and passed_down["ExternalId"] == external_id

    for role, parameters, given in ((roles(management)[0], management["Parameters"], None),
                                    (roles(member)[0], member["Parameters"], passed_down)):  # fmt: skip
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert set(statement) == {"Sid", "Effect", "Principal", "Action", "Condition"}
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
        assert resolve(statement["Principal"], parameters, given) == {"AWS": f"arn:aws:iam::{TRUSTED}:root"}
        assert resolve(statement["Condition"], parameters, given) == {"StringEquals": {"sts:ExternalId": external_id}}
        assert role["MaxSessionDuration"] <= 3600


def test_roles_are_read_only_and_hold_what_validation_needs():
    management, member, _ = rendered(render.new_external_id())
    granted: set[str] = set()
    for template in (management, member):
        for role in roles(template):
            assert not role.get("ManagedPolicyArns"), "no managed policy: every action is listed"
            for policy in role["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    assert statement["Effect"] == "Allow"
                    assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    for action in actions:
                        service, _, verb = action.partition(":")
                        assert "*" not in action and not action.startswith(NEVER), action
                        assert verb.startswith(READ_VERBS) or action in REPORT_ACTIONS, action
                        granted.add(action)
    needed = set(PERMISSION.values())  # every call the validation makes with the assumed role
    assert needed <= granted, needed - granted


def test_cfn_lint_finds_nothing_in_a_rendered_template(tmp_path):
    _, _, text = rendered(render.new_external_id())
    path = tmp_path / "cloud-entitlements.yaml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def checkov_command() -> list[str] | None:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    return [found] if found else None


@pytest.mark.skipif(checkov_command() is None, reason="checkov is not installed (set CHECKOV=/path/to/checkov); "
                    "last run recorded in RELIABILITY.md")  # fmt: skip
def test_checkov_finds_nothing(tmp_path):
    _, _, text = rendered(render.new_external_id())
    (tmp_path / "rendered.yaml").write_text(text)
    for folder in (REPO / "templates", tmp_path):
        result = subprocess.run(
            [*checkov_command(), "-d", str(folder), "--framework", "cloudformation", "--skip-download", "-o", "json",
             "--config-file", str(REPO / ".checkov.yaml")],
            capture_output=True, text=True, timeout=120, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )  # fmt: skip
        report = json.loads(result.stdout)
        reports = report if isinstance(report, list) else [report]
        failed = [c["check_id"] for r in reports for c in r.get("results", {}).get("failed_checks", [])]
        passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
        assert not failed and passed > 0, (folder, failed, result.stderr[-500:])
