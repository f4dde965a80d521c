"""Fixtures of the security tests: see tests/reliability/harness.py."""

from tests.reliability.harness import bots, no_real_aws, own_redis, processes, sandbox, standin  # noqa: F401
