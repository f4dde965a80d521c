"""Approvers on an ack path: a user-group lookup is waited for only the first time; after that the
members known answer at once and a due refresh runs beside the ack."""

from __future__ import annotations

import threading

from slack_sdk import WebClient

from bot.slack.approvers import GROUP_CACHE_SECONDS, Approvers
from tests.support.event_loop import run


class Lookup:
    def __init__(self, members):
        self.members = members
        self.calls = 0
        self.release = threading.Event()
        self.release.set()

    def usergroups_users_list(self, usergroup):
        self.calls += 1
        self.release.wait(5)
        return {"users": list(self.members)}


def test_the_first_lookup_is_waited_for_and_later_ones_run_beside_the_ack():
    now = [1000.0]
    approvers = Approvers(frozenset({"U0BOSS", "S0GROUP"}), WebClient(token="xoxb-test"), clock=lambda: now[0])
    lookup = Lookup({"U0OLD"})
    approvers._lookup = lookup

    async def scenario():
        assert await approvers.includes_async("U0BOSS") and lookup.calls == 0  # a user ID: no lookup
        assert await approvers.includes_async("U0OLD") and lookup.calls == 1  # the first: waited for
        assert not await approvers.includes_async("U0NEW") and lookup.calls == 1  # fresh: no lookup

        now[0] += GROUP_CACHE_SECONDS + 1
        lookup.members, lookup.release = {"U0NEW"}, threading.Event()
        assert not await approvers.includes_async("U0NEW")  # due: answered from what is known …
        assert await approvers.includes_async("U0OLD")  # … while one refresh runs
        lookup.release.set()
        await approvers._refreshing
        assert lookup.calls == 2
        assert await approvers.includes_async("U0NEW") and not await approvers.includes_async("U0OLD")

    run(scenario())


def test_group_members_are_read_when_the_bot_starts_so_no_ack_waits_for_them():
    approvers = Approvers(frozenset({"S0GROUP"}), WebClient(token="xoxb-test"))
    lookup = Lookup({"U0MEMBER"})
    approvers._lookup = lookup
    approvers.prefetch().join(5)
    assert lookup.calls == 1

    async def first_click():
        assert await approvers.includes_async("U0MEMBER")
        assert not await approvers.includes_async("U0OTHER")

    run(first_click())
    assert lookup.calls == 1


def test_without_user_groups_nothing_is_read_at_start():
    approvers = Approvers(frozenset({"U0BOSS"}), WebClient(token="xoxb-test"))
    lookup = Lookup(set())
    approvers._lookup = lookup
    assert approvers.prefetch() is None and lookup.calls == 0
