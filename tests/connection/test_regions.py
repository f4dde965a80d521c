"""The stack's region: the role modal offers a list (the usual StackSet regions and the configured
AWS_REGION), and a submission is accepted only with one of them, whatever a forged payload says."""

from __future__ import annotations

import pytest

from bot import config as configuration
from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.connection.ids import InvalidInput
from bot.connection.model import Connection
from bot.connection.regions import STACK_REGIONS, offered, parse_region
from bot.slack import ids
from bot.slack.views.modals import role_modal

ARN = "arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole"
HOSTILE = [
    "us-east-١",  # an Arabic-Indic digit: \d took it
    "us-" + "a" * 50_000 + "-1",  # no length bound: stored, then echoed into the checklist
    "us-east-1\u200b",
    "US-EAST-1",
    "us-east-1 <!channel>",
    "xx-nowhere-9",  # well formed, but not offered
]


class RecordingStore:
    def __init__(self):
        self.calls = []

    def transition(self, conn_id, event, **options):
        self.calls.append((conn_id, event, options))
        return "accepted"


def flow(region: str = "us-east-1") -> tuple[ConnectionFlow, RecordingStore]:
    store = RecordingStore()
    return ConnectionFlow(store, Config(trusted_account_id="123456789012", approvers=frozenset({"U0APP"}), aws_region=region)), store


@pytest.mark.parametrize("region", STACK_REGIONS)
def test_every_listed_region_is_accepted(region):
    assert parse_region(region, configured="us-east-1") == region


def test_the_configured_region_is_offered_and_accepted_though_not_listed():
    """A stack in a region the list lacks: the operator sets AWS_REGION to it."""
    assert "ap-southeast-9" not in STACK_REGIONS
    assert "ap-southeast-9" in offered("ap-southeast-9")
    assert parse_region("ap-southeast-9", configured="ap-southeast-9") == "ap-southeast-9"


@pytest.mark.parametrize("region", HOSTILE)
def test_anything_else_is_refused_on_the_region_field_without_echoing_it(region):
    with pytest.raises(InvalidInput) as refused:
        parse_region(region, configured="us-east-1")
    assert refused.value.errors.keys() == {ids.REGION_BLOCK}
    message = refused.value.message
    assert "AWS_REGION" in message and region not in message and len(message) < 300


def test_the_modal_offers_exactly_what_is_accepted():
    conn = Connection(id="0123456789abcdef", state="awaiting_stack", requester="U0REQ", channel="C0CE",
                      created_at=1.0, updated_at=1.0, org_id="o-abcdefghij", region="ap-southeast-9")  # fmt: skip
    block = next(b for b in role_modal(conn)["blocks"] if b.get("block_id") == ids.REGION_BLOCK)
    values = [option["value"] for option in block["element"]["options"]]
    assert values == offered("ap-southeast-9")
    assert all(parse_region(value, configured="ap-southeast-9") == value for value in values)


@pytest.mark.parametrize("region", HOSTILE)
def test_a_submission_with_a_hostile_region_never_reaches_the_store(region):
    connection_flow, store = flow()
    with pytest.raises(InvalidInput) as refused:
        connection_flow.submit_role("0123456789abcdef", actor="U0REQ", role_arn=ARN, region=region)
    assert refused.value.field == ids.REGION_BLOCK and store.calls == []


def test_a_submission_with_an_offered_region_stores_it():
    connection_flow, store = flow(region="ap-southeast-9")
    connection_flow.submit_role("0123456789abcdef", actor="U0REQ", role_arn=ARN, region="ap-southeast-9")
    (_, _, options), = store.calls
    assert options["fields"]["region"] == "ap-southeast-9"


BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CE_TRUSTED_ACCOUNT_ID": "123456789012", "CE_APPROVERS": "U0APP"}


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "cn-northwest-1", "ap-southeast-9", "eu-isoe-west-1"])
def test_aws_region_configuration_takes_region_names(region):
    assert configuration.load("serve", environ={**BASE, "AWS_REGION": region}).aws_region == region


@pytest.mark.parametrize("region", ["us-east-١", "us-" + "a" * 50_000 + "-1", "us-east", "us_east_1", "US-EAST-1"])
def test_aws_region_configuration_refuses_anything_else(region):
    with pytest.raises(configuration.ConfigError) as refused:
        configuration.load("serve", environ={**BASE, "AWS_REGION": region})
    assert refused.value.variable == "AWS_REGION" and len(str(refused.value)) < 200
