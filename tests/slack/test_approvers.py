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


def approvers_with(ids: set[str], members: set[str], **options) -> tuple[Approvers, Lookup]:
    """Approvers whose user-group lookups answer `members` (and are counted)."""
    approvers = Approvers(frozenset(ids), WebClient(token="xoxb-test"), **options)
    approvers._lookup = lookup = Lookup(members)
    return approvers, lookup


def test_the_first_lookup_is_waited_for_and_later_ones_run_beside_the_ack():
    now = [1000.0]
    approvers, lookup = approvers_with({"U0BOSS", "S0GROUP"}, {"U0OLD"}, clock=lambda: now[0])

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
    approvers, lookup = approvers_with({"S0GROUP"}, {"U0MEMBER"})
    approvers.prefetch().join(5)
    assert lookup.calls == 1

    async def first_click():
        assert await approvers.includes_async("U0MEMBER")
        assert not await approvers.includes_async("U0OTHER")

    run(first_click())
    assert lookup.calls == 1


def test_without_user_groups_nothing_is_read_at_start():
    approvers, lookup = approvers_with({"U0BOSS"}, set())
    assert approvers.prefetch() is None and lookup.calls == 0
