"""Validation of one organization with thousands of member accounts, against moto over HTTP.

Runs the bot's own `ConnectionFlow.validate` (every check, then the outcome and the member accounts
recorded in Redis in one transition) with an `AwsAccess` whose clients count what they send: API
calls by operation (botocore's `before-call`) and HTTP requests (`before-send`, retries included).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from pathlib import Path

from bench.payloads import APPROVER, CHANNEL, REGION, REQUESTER, role_arn
from bench.procs import AWS_CREDENTIALS
from bench.standins import TRUSTED_ACCOUNT


def validate_big(aws_info: dict, work: Path) -> dict:
    from bot.aws.session import AwsAccess, client_config
    from bot.config import Config
    from bot.connection.flow import ConnectionFlow
    from bot.store.client import connect
    from bot.store.connections import ConnectionStore
    from bot.store.embedded import EmbeddedRedis

    org = aws_info["orgs"][0]
    calls: Counter = Counter()
    sends: Counter = Counter()

    def counting_client(session, service, region):
        client = session.client(service, region_name=region, config=client_config())
        client.meta.events.register("before-call", lambda model, **_: calls.update([f"{service}:{model.name}"]))
        client.meta.events.register("before-send", lambda **_: sends.update([service]))
        return client

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", *AWS_CREDENTIALS)}
    os.environ.update(AWS_CREDENTIALS, AWS_ENDPOINT_URL=aws_info["moto_url"])
    folder = work / "redis-validation"
    server = EmbeddedRedis(folder)
    server.start()
    try:
        store = ConnectionStore(connect(server.url))
        config = Config(trusted_account_id=TRUSTED_ACCOUNT, approvers=frozenset({APPROVER}))
        flow = ConnectionFlow(store, config, aws=AwsAccess(client_factory=counting_client))
        conn = store.create(requester=REQUESTER, channel=CHANNEL, ttl=3600)
        assert flow.submit_ids(conn.id, actor=REQUESTER, organization_id=org["org_id"], root_id=org["root_id"]).ok
        role = role_arn(org["management_account_id"])
        assert flow.submit_role(conn.id, actor=REQUESTER, role_arn=role, region=REGION).ok

        record_time = [0.0]
        record = flow.record_validation

        def timed_record(conn_id, outcome):
            t = time.perf_counter()
            try:
                return record(conn_id, outcome)
            finally:
                record_time[0] = time.perf_counter() - t

        flow.record_validation = timed_record
        updates = [0]

        def progress(checks):
            updates[0] += 1

        start = time.perf_counter()
        result = flow.validate(store.get(conn.id), progress)
        wall = time.perf_counter() - start
        after = result.connection
        checks = [(c["key"], c["status"]) for c in _checks(after.last_checks)] if after else []
        failed = [k for k, s in checks if s != "passed"]
        return {
            "accounts": len(store.accounts(conn.id)) if after else 0,
            "wall_s": wall,
            "checks_s": wall - record_time[0],
            "record_s": record_time[0],
            "aws_calls": sum(calls.values()),
            "calls_by_operation": dict(sorted(calls.items())),
            "http_requests": sum(sends.values()),
            "progress_updates": updates[0],
            "outcome": str(after.state) if after else "?",
            "failed_checks": failed,
        }
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _checks(text: str) -> list[dict]:
    import json

    return json.loads(text) if text else []
