"""boto3 access for validation: clients with tight timeouts, and assume-role.

`AwsAccess` wraps the bot's own `boto3.Session` (by default the standard
credential chain; boto3 itself honours `AWS_ENDPOINT_URL`, so a moto server
needs nothing here). Tests inject a `client_factory` to hand out clients with
a `botocore.stub.Stubber` attached, which gives true 403s and throttling.

boto3 is imported on first use: the web process, which never calls AWS, starts
0.2 s sooner without it (`ce-bot worker` imports it as it starts).
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.config import Config


@functools.cache
def client_config() -> Config:
    """botocore retries throttling and transient errors itself (standard mode, up to 5 attempts:
    max_attempts counts retries); the timeouts keep a validation job from hanging."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=15)


#: Organizations (and the bot's STS calls) go to the partition's home region.
PARTITION_HOME_REGION = {
    "aws": "us-east-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-cn": "cn-northwest-1",
    "aws-iso": "us-iso-east-1",
    "aws-iso-b": "us-isob-east-1",
}

SESSION_NAME = "ce-bot-validation"

#: (session, service name, region or None) -> client
ClientFactory = Callable[["boto3.Session", str, "str | None"], "BaseClient"]


def partition_of(arn: str) -> str:
    """The partition of an ARN (`arn:<partition>:…`); "aws" when it cannot be read."""
    parts = arn.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def home_region(partition: str, fallback: str = "us-east-1") -> str:
    """The region for a partition's global services (Organizations)."""
    return PARTITION_HOME_REGION.get(partition, fallback)


class AwsAccess:
    """The bot's way into AWS: one base session, clients, assumed-role sessions."""

    def __init__(
        self,
        base_session: boto3.Session | None = None,
        *,
        client_factory: ClientFactory | None = None,
        config: Config | None = None,
    ):
        self._base = base_session
        self._config = config
        self._factory = client_factory or self._default_client
        # boto3 sessions are not thread-safe; clients are. One AwsAccess may be
        # shared by the worker threads, so making clients is serialised.
        self._lock = threading.RLock()

    @property
    def base_session(self) -> boto3.Session:
        with self._lock:
            if self._base is None:
                import boto3

                self._base = boto3.Session()
            return self._base

    def _default_client(self, session: boto3.Session, service_name: str, region: str | None) -> BaseClient:
        with self._lock:
            return session.client(service_name, region_name=region, config=self._config or client_config())

    def client(self, session: boto3.Session | None, service_name: str, region: str | None = None) -> BaseClient:
        """A client for `service_name` in `region` (the session's own region when None)."""
        return self._factory(session if session is not None else self.base_session, service_name, region)

    def assume_role(
        self,
        role_arn: str,
        external_id: str,
        *,
        duration: int = 900,
        region: str | None = None,
        session_name: str = SESSION_NAME,
    ) -> boto3.Session:
        """Assume `role_arn` with `external_id`; a session acting as the role.

        Raises what botocore raises (`ClientError`, `ParamValidationError`,
        `NoCredentialsError`, connection errors); `bot.aws.explain` turns those
        into plain words. The returned session's default region is `region`.
        """
        partition = partition_of(role_arn)
        sts = self.client(self.base_session, "sts", home_region(partition, region or "us-east-1"))
        answer = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=session_name,
            ExternalId=external_id,
            DurationSeconds=duration,
        )
        credentials = answer["Credentials"]
        import boto3
        import botocore.session

        # Share the base session's data loader: a fresh botocore session would
        # re-read botocore's endpoint and service JSON files (~0.3 s) each time.
        core = botocore.session.Session()
        with self._lock:
            core.register_component("data_loader", self.base_session._session.get_component("data_loader"))
        return boto3.Session(
            botocore_session=core,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region or home_region(partition),
        )
