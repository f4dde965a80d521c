"""Who may approve: configured Slack user IDs, and members of configured user groups."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
GROUP_CACHE_SECONDS = 300


class Approvers:
    def __init__(self, approvers: frozenset[str], client: WebClient, *, clock=time.monotonic):
        self.ids = approvers
        self.users = frozenset(a for a in approvers if not a.startswith("S"))
        self.groups = frozenset(a for a in approvers if a.startswith("S"))
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")

    def includes(self, user_id: str) -> bool:
        return user_id in self.users or user_id in self._group_members()

    def _group_members(self) -> frozenset[str]:
        """Members of the approver user groups, fetched at most every few minutes."""
        if not self.groups:
            return frozenset()
        with self._lock:
            if self.clock() - self._fetched_at < GROUP_CACHE_SECONDS:
                return self._members
            members: set[str] = set()
            try:
                for group in sorted(self.groups):
                    members.update(self.client.usergroups_users_list(usergroup=group).get("users", []))
            except SlackApiError as error:
                # Keep what we knew (nobody, at first) and ask again next time: never guess.
                log.warning("could not read approver user groups: %s", error.response.get("error"))
                return self._members
            self._members = frozenset(members)
            self._fetched_at = self.clock()
            return self._members
