"""`ce-bot serve` as operators run it: a process configured only by its environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot import config as configuration
from bot.runtime import Runtime
from bot.worker_process import yield_to_acks
from tests.e2e.conftest import BOT_TOKEN, SIGNING_SECRET, free_port
from tests.reliability.harness import wait_until
from tests.support.bot_server import TRUSTED_ACCOUNT, offline_env
from tests.support.processes import worker_children
from tests.support.slack_requests import SlackClientSim

CE_BOT = str(Path(sys.executable).with_name("ce-bot"))


def base_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CE_", "REDIS_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CE_TRUSTED_ACCOUNT_ID=TRUSTED_ACCOUNT,
        CE_APPROVERS="U0APP",
        HOST="127.0.0.1",
    )
    env.update(extra)
    return env


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                return response.status
        except OSError:
            time.sleep(0.1)
    raise AssertionError("never healthy")


@pytest.mark.parametrize(
    "missing, bad, variable",
    [
        ("CE_TRUSTED_ACCOUNT_ID", {}, "CE_TRUSTED_ACCOUNT_ID"),
        ("SLACK_SIGNING_SECRET", {}, "SLACK_SIGNING_SECRET"),
        ("", {"CE_APPROVERS": "alice"}, "CE_APPROVERS"),
        ("", {"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_variable(missing, bad, variable, tmp_path):
    env = base_env(**bad)
    env.pop(missing, None)
    result = subprocess.run([CE_BOT, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert SIGNING_SECRET not in result.stderr and BOT_TOKEN not in result.stderr


def test_a_second_bot_on_the_same_embedded_redis_stops_with_one_line(tmp_path):
    from bot.store.embedded import EmbeddedRedis

    running = EmbeddedRedis(tmp_path / "data")
    running.start()
    try:
        env = base_env(CE_DATA_DIR=str(tmp_path / "data"))
        result = subprocess.run([CE_BOT, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    finally:
        running.stop()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another process runs the embedded Redis" in lines[0] and "REDIS_URL" in lines[0], lines


def test_serve_with_the_embedded_redis_answers_health_and_commands(standin, tmp_path):
    port = free_port()
    env = base_env(PORT=str(port), SLACK_API_URL=standin.api_url, CE_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen([CE_BOT, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, process) == 200
        response = SlackClientSim(url, SIGNING_SECRET, standin).command("U0REQ", "help")
        assert response.status == 200 and response.json()["response_type"] == "ephemeral"
        assert any((tmp_path / "data").iterdir())  # state persisted under the working folder
        # Its worker child, and every thread the child runs jobs on, yields the CPU to the acks.
        workers = wait_until(lambda: worker_children(process.pid), 20, "the worker child", interval=0.1)
        tasks = Path(f"/proc/{workers[0]}/task")

        def job_threads() -> list[int]:  # once its job threads started
            threads = [int(t.name) for t in tasks.iterdir()]
            return threads if len(threads) >= 5 else []

        threads = wait_until(job_threads, 20, "its job threads", interval=0.1)
        assert len(threads) >= 5 and {os.sched_getscheduler(t) for t in threads} == {os.SCHED_IDLE}
    finally:
        process.terminate()
        process.wait(15)


@pytest.mark.parametrize("token, problem", [("", "is not set"), ("xoxb-not-an-app-token", "xapp-")])
def test_socket_mode_needs_an_app_level_token(token, problem, tmp_path):
    env = base_env(SLACK_APP_TOKEN=token)
    result = subprocess.run([CE_BOT, "socket"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and problem in result.stderr


@pytest.mark.parametrize("variable", ["REDIS_URL", "SLACK_BOT_TOKEN"])
def test_a_worker_on_its_own_needs_the_bots_redis_and_token(variable, redis_url, tmp_path):
    """`ce-bot worker` joins a running bot's Redis: it never starts an embedded one of its own."""
    env = base_env(REDIS_URL=redis_url)
    env.pop(variable)
    result = subprocess.run([CE_BOT, "worker"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert not (tmp_path / ".ce-bot").exists()


def test_a_worker_on_its_own_runs_jobs_until_sigterm(redis_url, redis, tmp_path):
    env = base_env(REDIS_URL=redis_url)
    worker = subprocess.Popen([CE_BOT, "worker"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not redis.exists("ce:jobs:interactive"):  # its consumer groups are made at start
            assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)
        assert {g["name"] for g in redis.xinfo_groups("ce:jobs:slack")} == {"workers"}
    finally:
        worker.terminate()
        assert worker.wait(15) == 0


def test_a_process_whose_jobs_run_in_its_child_never_builds_them(tmp_path):
    """`ce-bot serve` and `ce-bot socket` answer Slack only: the workers and the scheduler are the child's."""
    env = offline_env(tmp_path)
    runtime = Runtime(configuration.load("serve", environ=env), worker_process=True)
    runtime.app  # noqa: B018 - the web side is built
    assert "jobs" not in vars(runtime)
    with pytest.raises(RuntimeError, match="ce-bot worker"):
        runtime.jobs  # noqa: B018
    in_process = Runtime(configuration.load("serve", environ=env))
    assert [w.name for w in in_process.jobs.workers] and in_process.jobs.scheduler is not None


def test_building_the_app_logs_no_warning(tmp_path, monkeypatch, caplog):
    """Bolt reads SLACK_BOT_TOKEN itself and, handed a client, warned at every start that the token
    "will be unused": the client is made from that same token, so the warning said nothing."""
    env = offline_env(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", env["SLACK_BOT_TOKEN"])
    with caplog.at_level("WARNING"):
        Runtime(configuration.load("serve", environ=env), worker_process=True).app  # noqa: B018
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_a_worker_child_is_made_to_yield_as_soon_as_it_exists():
    """The parent sets it: the child's second of imports does not compete with the parent's start-up."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        yield_to_acks(child.pid)
        assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
    finally:
        child.kill()
        child.wait()
