"""A job's lease: how long its worker may go without a word before another worker takes the job over.

The lease lives in Redis, as the pending entry's idle time (Redis's clock only: no two hosts' clocks are
compared). A running job's worker renews it (`renew`); a job whose lease has lapsed is taken over with
XAUTOCLAIM (`bot/jobs/worker.py`); a job whose worker is known to be dead (`bot/jobs/consumers.py`) has its
lease ended at once (`end`). Each reads an entry's owner and changes it in one script: nothing can come
between, so a job has one owner at a time.
"""

from __future__ import annotations

from pathlib import Path

import redis as redis_py


class Leases:
    def __init__(self, redis: redis_py.Redis, key: str, group: str):
        self.key = key
        self.group = group
        self._renew = redis.register_script(_script("renew.lua"))
        self._end = redis.register_script(_script("end_leases.lua"))

    def renew(self, consumer: str, entry_ids: list[str]) -> list[str]:
        """Renew `consumer`'s lease on the entries it runs; returns those another consumer has taken over
        meanwhile, which are left to it."""
        return self._renew(keys=[self.key], args=[self.group, consumer, *entry_ids])

    def end(self, dead: str, owner: str, lease: float) -> int:
        """Pass the entries of `dead` (a consumer known to be dead) to `owner` with their lease run out, for the
        next XAUTOCLAIM; returns how many passed. `dead` is forgotten once it holds nothing."""
        return int(self._end(keys=[self.key], args=[self.group, dead, owner, int(lease * 1000)]))


def _script(name: str) -> str:
    return Path(__file__).with_name(name).read_text()
