"""AwsAccess: client configuration, assume-role sessions, partition regions."""

from __future__ import annotations

import os
import subprocess
import sys

from aws_testkit import EXTERNAL_ID, new_session
from moto.sts.models import sts_backends

from bot.aws.session import AwsAccess, home_region, partition_of
from tests.support.bot_server import offline_env


def test_clients_have_tight_timeouts_and_standard_retries():
    client = AwsAccess(new_session()).client(None, "organizations", "us-east-1")
    config = client.meta.config
    assert config.connect_timeout == 5
    assert config.read_timeout == 15
    # botocore's max_attempts counts retries: 4 retries, 5 attempts in all
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}


def test_client_factory_is_used():
    made = []
    access = AwsAccess(new_session(), client_factory=lambda s, service, region: made.append((service, region)) or "c")
    assert access.client(None, "cloudformation", "eu-west-1") == "c"
    assert made == [("cloudformation", "eu-west-1")]


def test_assume_role_gives_a_session_acting_as_the_role(mocked_aws):
    access = AwsAccess(new_session())
    arn = "arn:aws:iam::111122223333:role/CloudEntitlementsManagementRole"
    session = access.assume_role(arn, EXTERNAL_ID, region="eu-west-1")
    assert session.region_name == "eu-west-1"
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == "111122223333"
    assumed = sts_backends["111122223333"]["aws"].assumed_roles[-1]  # kept by the role's account
    assert (assumed.role_arn, assumed.external_id, assumed.session_name) == (arn, EXTERNAL_ID, "ce-bot-validation")
    assert session.get_credentials().token == assumed.session_token


def test_partitions():
    assert partition_of("arn:aws-us-gov:iam::111122223333:role/R") == "aws-us-gov"
    assert partition_of("not an arn") == "aws"
    assert home_region("aws") == "us-east-1"
    assert home_region("aws-us-gov") == "us-gov-west-1"
    assert home_region("aws-cn") == "cn-northwest-1"
    assert home_region("aws-unknown", "eu-west-1") == "eu-west-1"


def test_the_web_process_starts_without_importing_boto3(tmp_path):
    """boto3 is 0.2 s of a cold start; only the worker, which calls AWS, imports it."""
    probe = (
        "import sys\n"
        "from bot.cli import web_runtime\n"
        "config, runtime = web_runtime('serve')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'boto3' or m.startswith('botocore.client')))\n"
    )
    env = {**os.environ, **offline_env(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
