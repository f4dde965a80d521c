"""`ce-bot serve` runs its jobs in a `ce-bot worker` child: killed, it is replaced and the work carries on;
the child never outlives the bot, whether the bot is stopped or killed with -9."""

from __future__ import annotations

import os
import signal

from tests.reliability.harness import CHANNEL, REQUESTER, bot_env, http_get, slack_for, wait_until
from tests.support.processes import alive, worker_children


def worker_said(bot) -> str:
    status, state = http_get(bot.url + "/healthz")
    assert status == 200
    return state["worker"]


def connect_posts_a_thread(bot, standin) -> None:
    before = len(standin.messages(CHANNEL))
    assert slack_for(bot, standin).command(REQUESTER, "connect aws-org").status == 200
    standin.wait_until(lambda s: len(s.messages(CHANNEL)) > before, 15, "the parent message of a new connection")


def test_a_killed_worker_process_is_replaced_and_jobs_carry_on(standin, redis_url, processes, tmp_path):
    bot = processes(bot_env(redis_url, standin, tmp_path / "data"))
    bot.wait_healthy()
    [first] = wait_until(lambda: worker_children(bot.pid), 10, "the worker process to start")
    connect_posts_a_thread(bot, standin)

    assert worker_said(bot) == "running"
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: worker_said(bot) == "restarting", 5, "/healthz to say the worker is restarting")
    wait_until(lambda: [p for p in worker_children(bot.pid) if p != first], 15, "a new worker process")
    wait_until(lambda: worker_said(bot) == "running", 5, "/healthz to say the worker runs again")
    connect_posts_a_thread(bot, standin)  # jobs are run again
    assert "worker process exited" in bot.output()


def test_the_worker_process_stops_with_the_bot(standin, redis_url, processes, tmp_path):
    bot = processes(bot_env(redis_url, standin, tmp_path / "data"))
    bot.wait_healthy()
    [child] = wait_until(lambda: worker_children(bot.pid), 10, "the worker process to start")
    bot.stop()  # SIGTERM: uvicorn shuts down (and re-raises the signal), the lifespan stops the worker
    wait_until(lambda: not alive(child), 5, "the worker process to stop")


def test_the_worker_process_stops_when_the_bot_is_killed(standin, redis_url, processes, tmp_path):
    bot = processes(bot_env(redis_url, standin, tmp_path / "data"))
    bot.wait_healthy()
    [child] = wait_until(lambda: worker_children(bot.pid), 10, "the worker process to start")
    bot.kill()
    wait_until(lambda: not alive(child), 10, "the orphaned worker process to notice and stop")
