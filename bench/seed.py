"""Data for the benchmark, written through the bot's own `ConnectionStore` (its Lua transitions), so
every key, index and audit entry is what the bot itself would have written.

- `connected_orgs`: organizations connected through the whole flow (IDs, role, validation with member
  accounts, approval): what `/ce list` shows and what the memory figure is about.
- `pending_approvals`: connections waiting for an approver (the Approve click's pool; one per click).
- `started`: connections whose IDs modal is open (the IDs submission's pool; one per submission).

Large seeds are split over processes (`parallel`): the cost is the client's Python, not Redis.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from bench.payloads import APPROVER, CHANNEL, MANAGEMENT_ACCOUNT, REGION, REQUESTER, ROOT_ID, role_arn
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.store.client import connect
from bot.store.connections import ConnectionStore
from bot.template.render import STACK_SET_NAME

TTL = 7 * 24 * 3600.0


def org_id(kind: str, i: int) -> str:
    """A valid organization ID (o- + 10..32 lowercase letters/digits) unique per kind and index."""
    return f"o-{kind}{i:08d}"


def account_list(org_index: int, n: int) -> list[dict[str, str]]:
    base = 100_000_000_000 + org_index * 1000
    return [
        {"id": f"{base + j:012d}", "name": f"Member {j + 1}", "email": f"aws+o{org_index}m{j + 1}@example.com",
         "status": "ACTIVE" if j % 25 else "SUSPENDED"}
        for j in range(n)
    ]


def _to_pending(store: ConnectionStore, kind: str, i: int, accounts: int) -> str:
    conn = store.create(requester=REQUESTER, channel=CHANNEL, ttl=TTL)
    fields = {"org_id": org_id(kind, i), "root_id": ROOT_ID, "external_id": f"{i:032x}",
              "stack_set_name": STACK_SET_NAME, "region": REGION}
    for step in (
        lambda: store.transition(conn.id, Event.SUBMIT_IDS, actor=REQUESTER, fields=fields, ttl=TTL),
        lambda: store.transition(
            conn.id, Event.SUBMIT_ROLE, actor=REQUESTER, ttl=TTL,
            fields={"role_arn": role_arn(MANAGEMENT_ACCOUNT)},
        ),
        lambda: store.transition(
            conn.id, Event.VALIDATION_PASSED, actor=SYSTEM_ACTOR, ttl=TTL, accounts=account_list(i, accounts),
            fields={"management_account_id": MANAGEMENT_ACCOUNT, "validated_at": "1700000000.0", "last_checks": "[]"},
        ),
    ):
        result = step()
        if not result.ok:
            raise RuntimeError(f"seeding {conn.id}: {result.refusal}")
    return conn.id


def _chunk(args: tuple) -> list[str]:
    url, what, kind, start, stop, accounts = args
    store = ConnectionStore(connect(url))
    out = []
    for i in range(start, stop):
        if what == "started":
            out.append(store.create(requester=REQUESTER, channel=CHANNEL, ttl=TTL).id)
        elif what == "pending":
            out.append(_to_pending(store, kind, i, accounts))
        elif what == "connected":
            conn_id = _to_pending(store, kind, i, accounts)
            result = store.transition(conn_id, Event.APPROVE, actor=APPROVER, actor_is_approver=True,
                                      fields={"status": "active"})
            if not result.ok:
                raise RuntimeError(f"approving {conn_id}: {result.refusal}")
            out.append(conn_id)
        else:
            raise ValueError(what)
    store.redis.close()
    return out


def seed(url: str, what: str, count: int, *, kind: str = "x", accounts: int = 0, parallel: int = 1) -> list[str]:
    """`count` connections of `what` ("started", "pending", "connected"); their IDs in index order."""
    if count <= 0:
        return []
    parallel = max(1, min(parallel, os.cpu_count() or 1, count // 200 or 1))
    step = -(-count // parallel)
    jobs = [(url, what, kind, s, min(count, s + step), accounts) for s in range(0, count, step)]
    if parallel == 1:
        return [conn_id for job in jobs for conn_id in _chunk(job)]
    with ProcessPoolExecutor(max_workers=parallel) as pool:
        return [conn_id for chunk in pool.map(_chunk, jobs) for conn_id in chunk]
