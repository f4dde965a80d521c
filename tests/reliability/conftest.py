"""Fixtures of the reliability tests: see harness.py."""

from tests.reliability.harness import bots, no_real_aws, own_redis, processes, sandbox, standin  # noqa: F401
