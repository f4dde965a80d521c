"""A bot process, or its worker child, killed -9 in the middle of a validation: another worker takes the
job over and the connection never sticks in `validating`."""

from __future__ import annotations

import os
import signal

from bot.runtime import LEASE
from tests.e2e.journey import Journey, text_of
from tests.reliability.harness import bot_env, jobs_settled, slack_for, wait_until
from tests.support.processes import worker_children
from tests.support.redis_state import connection_of


def test_validation_job_of_a_killed_bot_is_taken_over(standin, sandbox, redis_url, processes, bots, tmp_path):
    env = bot_env(redis_url, standin, tmp_path / "data")
    first = processes(env)  # a plain `ce-bot serve`
    first.wait_healthy()
    journey = Journey(slack_for(first, standin), standin)
    role_arn = journey.deployed_role(sandbox.org_id, sandbox.root_id)

    # Slow progress updates keep the validation running long enough to kill it in the middle.
    standin.set_latency(1.0, "chat.update")
    journey.submit_role(role_arn)
    journey.wait_reply(lambda m: "Validation of" in m.get("text", ""), "the checklist", timeout=10)
    standin.wait_until(lambda s: s.calls_to("chat.update"), 5, "the first progress update")
    assert connection_of(redis_url, sandbox.org_id)["state"] == "validating"
    first.kill()  # kill -9 while its validation job is in flight
    standin.set_latency(0, "chat.update")
    assert not jobs_settled(redis_url)  # the job is still there, pending for the dead consumer

    second = bots(env, claim_idle={"validate": 1.0, "slack": 1.0})  # another replica
    checklist = journey.checklist_done(timeout=20)
    assert "passed every check" in text_of(checklist)
    request = journey.approval_request()
    assert sandbox.org_id in text_of(request)
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert connection_of(redis_url, sandbox.org_id)["state"] == "pending_approval"
    approvals = [m for m in journey.replies() if "Approval needed" in m.get("text", "")]
    assert len(approvals) == 1
    assert second.runtime  # (the replica that finished the work)


def test_a_validation_whose_slack_messages_keep_failing_still_finishes(standin, redis_url, bots, tmp_path, caplog):
    """Slack refuses every post and update in the channel (archived, bot removed) while the job retries:
    the progress messages are cosmetic, the validation's outcome is not — the connection must not stay
    in `validating` (where it can neither be cancelled nor expire, and keeps its organization claimed)
    once the job has used up its attempts."""
    from bot.jobs.queue import Job, JobQueue
    from bot.store.client import connect
    from tests.reliability.harness import REQUESTER, connection, set_up_connection

    bot = bots(bot_env(redis_url, standin, tmp_path / "data"), claim_idle={"validate": 0.2})
    conn_id = set_up_connection(redis_url, standin, requester=REQUESTER, org_id="o-stuckvalid01", until="validating")
    for method in ("chat.postMessage", "chat.update"):
        standin.fail_next(method, error="channel_not_found", status=200, times=1000)
    JobQueue(connect(redis_url), "validate").enqueue(Job("validate", "validate", conn_id))  # as submit_role does
    wait_until(lambda: jobs_settled(redis_url), 20, "the validation job to finish or die")
    conn = connection(redis_url, conn_id)
    assert conn["state"] == "validation_failed", conn["state"]  # AWS is unreachable in this test
    assert "could not reach AWS" in conn["last_checks"]
    assert bot.runtime


def test_validation_of_a_killed_worker_child_is_finished_by_its_replacement(standin, sandbox, redis_url, processes, tmp_path):
    """`ce-bot serve` as operators run it (no setting shortened): its worker child killed -9 in the middle of
    a validation is replaced, and the replacement takes the job over at once, not once its lease has run out."""
    bot = processes(bot_env(redis_url, standin, tmp_path / "data"))
    bot.wait_healthy()
    journey = Journey(slack_for(bot, standin), standin)
    role_arn = journey.deployed_role(sandbox.org_id, sandbox.root_id)

    standin.set_latency(1.0, "chat.update")  # the validation waits on Slack: it is running when killed
    journey.submit_role(role_arn)
    standin.wait_until(lambda s: s.calls_to("chat.update"), 10, "the validation to be under way")
    assert connection_of(redis_url, sandbox.org_id)["state"] == "validating"
    [worker] = worker_children(bot.pid)
    os.kill(worker, signal.SIGKILL)
    standin.set_latency(0, "chat.update")

    def validated() -> bool:
        return connection_of(redis_url, sandbox.org_id)["state"] != "validating"

    wait_until(validated, LEASE / 2, "the validation to end well before its dead worker's lease had lapsed")
    assert connection_of(redis_url, sandbox.org_id)["state"] == "pending_approval"
    assert "passed every check" in text_of(journey.checklist_done(timeout=10))
    wait_until(lambda: jobs_settled(redis_url), 10, "every job done")
    assert len([m for m in journey.replies() if "Approval needed" in m.get("text", "")]) == 1
    assert worker not in worker_children(bot.pid)
