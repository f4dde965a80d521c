"""Who may approve: configured Slack user IDs, and members of configured user groups."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
GROUP_CACHE_SECONDS = 300
# A lookup before any succeeded may sit on an ack path (later ones run beside it): bounded, and never sleeping out a
# 429's Retry-After; when it fails, the members known before are kept.
LOOKUP_TIMEOUT = 1.5


class Approvers:
    def __init__(self, approvers: frozenset[str], client: WebClient, *, clock=time.monotonic):
        self.ids = approvers
        self.users = frozenset(a for a in approvers if not a.startswith("S"))
        self.groups = frozenset(a for a in approvers if a.startswith("S"))
        self.client = client
        self._lookup = WebClient(
            token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT, retry_handlers=[],
            ssl=client.ssl, proxy=client.proxy,
        )  # fmt: skip
        self.clock = clock
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")
        self._refreshing: asyncio.Future | None = None  # a refresh started from an ack path

    def includes(self, user_id: str) -> bool:
        return user_id in self.users or user_id in self._group_members()

    async def includes_async(self, user_id: str) -> bool:
        """`includes`, from an ack path: the members known are used at once and, when they are due for
        a refresh, refreshed in a thread after the ack. Only a lookup before any succeeded (`prefetch`
        starts one at start-up) is waited for."""
        if user_id in self.users:
            return True
        if not self.groups:
            return False
        if self._fetched_at == float("-inf"):
            return await asyncio.to_thread(self.includes, user_id)
        if not self._fresh() and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.ensure_future(asyncio.to_thread(self._group_members))
        return user_id in self._members

    def prefetch(self) -> threading.Thread | None:
        """Read the approver user groups' members now, in a thread, so that the first Approve or
        Reject after start-up does not wait for them on its ack path. None without user groups."""
        if not self.groups:
            return None
        thread = threading.Thread(target=self._group_members, name="approver-groups", daemon=True)
        thread.start()
        return thread

    def _fresh(self) -> bool:
        return self.clock() - self._fetched_at < GROUP_CACHE_SECONDS

    def _group_members(self) -> frozenset[str]:
        """Members of the approver user groups, fetched at most every few minutes."""
        if not self.groups:
            return frozenset()
        with self._lock:
            if self._fresh():
                return self._members
            members: set[str] = set()
            try:
                for group in sorted(self.groups):
                    members.update(self._lookup.usergroups_users_list(usergroup=group).get("users", []))
            except Exception as error:  # noqa: BLE001 - SlackApiError, 429, timeouts, connection errors
                # Keep what we knew (nobody, at first) and ask again next time: never guess.
                reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
                log.warning("could not read approver user groups: %s", reason)
                return self._members
            self._members = frozenset(members)
            self._fetched_at = self.clock()
            return self._members
