"""The App Home opened while Redis is away: acknowledged at once, and the person's Home says the
state store is unavailable (published after the ack, which never waits for it); once Redis is back,
opening it again shows the dashboard."""

from __future__ import annotations

from tests.e2e.journey import text_of
from tests.reliability.harness import REQUESTER, STORE_UNAVAILABLE, bot_env, healthz, slack_for, timed, wait_until


def test_the_home_says_the_state_store_is_unavailable(own_redis, standin, bots, tmp_path):
    bot = bots(bot_env(own_redis.url, standin, tmp_path / "data"))  # Redis never started
    slack = slack_for(bot, standin)
    standin.set_latency(1.5, "views.publish")  # the ack does not wait for the Home
    try:
        response, took = timed(lambda: slack.home_opened(REQUESTER))
        assert response.status == 200 and took < 1.0, f"acknowledged after {took:.1f} s"
        home = standin.wait_until(lambda s: s.home(REQUESTER), 5, "a Home for the person")
    finally:
        standin.set_latency(0, "views.publish")
    assert STORE_UNAVAILABLE in text_of(home) and "Try again" in text_of(home)

    own_redis.start()
    wait_until(lambda: healthz(bot.url) == 200, 5, "/healthz to say 200")
    slack.home_opened(REQUESTER)
    standin.wait_until(lambda s: "Organizations" in text_of(s.home(REQUESTER) or {}), 10, "the dashboard")
