"""Deploying into moto and cleaning up, each test in its own organization."""

from __future__ import annotations

import boto3
import pytest

from bot.playground.sandbox_stack import SandboxDeployError, delete_deployment, deploy_rendered_template
from bot.template import render

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..StackSet:UserWarning")

TRUSTED = "111122223333"
EXTERNAL_ID = "0123456789abcdef0123456789abcdef"
REGION = "us-east-1"


@pytest.fixture
def deployed(moto_org):
    body = render.render_management_template(
        trusted_account_id=TRUSTED, external_id=EXTERNAL_ID, root_id=moto_org.root_id
    )
    return moto_org, body, deploy_rendered_template(body, region=REGION)


def test_delete_deployment_in_clean_up_order_then_redeploy(deployed):
    _, body, _ = deployed
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    delete_deployment(region=REGION)
    with pytest.raises(cloudformation.exceptions.StackSetNotFoundException):
        cloudformation.describe_stack_set(StackSetName=render.STACK_SET_NAME)
    statuses = {s["StackName"]: s["StackStatus"] for s in cloudformation.list_stacks()["StackSummaries"]}
    assert statuses[render.STACK_NAME] == "DELETE_COMPLETE"
    delete_deployment(region=REGION)  # nothing left: a no-op
    assert deploy_rendered_template(body, region=REGION).endswith(f":role/{render.MANAGEMENT_ROLE_NAME}")


def test_custom_names_and_session(moto_org):
    body = render.render_management_template(
        trusted_account_id=TRUSTED, external_id="ext-id", root_id=moto_org.root_id, stack_set_name="CE-Other"
    )
    session = boto3.Session(region_name="eu-west-1")
    deploy_rendered_template(body, region="eu-west-1", stack_name="ce-other", session=session)
    cloudformation = session.client("cloudformation", region_name="eu-west-1")
    assert cloudformation.describe_stack_set(StackSetName="CE-Other")["StackSet"]["Status"] == "ACTIVE"
    regions = {s["Region"] for s in cloudformation.list_stack_instances(StackSetName="CE-Other")["Summaries"]}
    assert regions == {"eu-west-1"}


def test_deploying_twice_is_refused(deployed):
    _, body, _ = deployed
    with pytest.raises(Exception, match="already exists"):
        deploy_rendered_template(body, region=REGION)


def test_a_template_without_its_stack_set_is_refused(moto_org):
    body = render.member_template()
    with pytest.raises(SandboxDeployError):
        deploy_rendered_template(body, region=REGION, stack_name="member-only")
