"""`make profile`: where ce-bot's time goes, scenario by scenario, next to the bare baselines.

    python -m bench.profile [--requests 200] [--rounds 5] [--out bench/profiles] [--smoke]

Everything runs in this one process, without sockets but Redis's and Slack's: each app's ASGI
callable is handed the bench's signed requests as uvicorn would hand them over (uvicorn's HTTP
parsing, the same for every server, is left out), one at a time, on one event loop.

- ce-bot: the web runtime of `ce-bot serve` (`bot.cli.web_runtime`) behind its ASGI app, on an
  embedded Redis seeded as `make bench` seeds it;
- baseline 1 and baseline 2: `bench.baselines`' bare app behind the same ASGI app, and behind Bolt's
  ASGI adapter;
- ce-bot's worker: the jobs those acks handed over (the list page, a status change and its
  announcement, the decision's announcement, the template an IDs submission sends), run by the
  worker's own handlers against the Slack stand-in and its HTTPS response_url sink.

Printed: CPU per ack of each app and per job of the worker (`time.process_time`, without the
profiler, after a warm-up; the median of `--rounds` rounds, the apps' order rotated from round to
round). Written to `--out`: pyinstrument's profiles of ce-bot's acks
(`ack-<scenario>.txt`) and of its jobs (`jobs-<scenario>.txt`). They sample wall-clock time, so an
ack waiting on Redis shows as the event loop's `epoll.poll`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from pyinstrument import Profiler

from bench import baselines, payloads, procs, seed
from bench.payloads import BOT_TOKEN, SIGNING_SECRET
from bench.run import SCENARIOS, Pools, bench_env, build_requests, start_slack_standin
from bot import config as configuration
from bot.runtime import Runtime

HOST = "127.0.0.1"
CE = "ce-bot"


class Sizes:
    def __init__(self, smoke: bool, requests: int, rounds: int):
        self.requests = 40 if smoke else requests  # enough samples for each profile to hold its path
        self.rounds = 1 if smoke else rounds
        self.warmup = 3 if smoke else 60
        self.list_orgs = 50 if smoke else 1000  # at least one pass of requests: no organization clicked twice at once
        self.list_accounts = 3 if smoke else 50

    def pool(self) -> int:
        """Approve clicks / IDs submissions ce-bot takes: a warm-up, the timed rounds, the profiled pass."""
        return self.warmup + (self.rounds + 1) * self.requests


def asgi_request(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of one of the bench's raw HTTP requests, as an ASGI server passes them on."""
    head, body = raw.split(b"\r\n\r\n", 1)
    headers = [tuple(part.strip() for part in line.split(b":", 1)) for line in head.split(b"\r\n")[1:]]
    return [(name.lower(), value) for name, value in headers], body


async def call(app, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": payloads.PATH, "raw_path": payloads.PATH.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": (HOST, 50000), "server": (HOST, 80),
    }  # fmt: skip
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


class Profiling:
    def __init__(self, sizes: Sizes, out: Path, stack: ExitStack):
        self.sizes = sizes
        self.out = out
        self.work = Path(tempfile.mkdtemp(prefix="ce-profile-"))
        stack.callback(shutil.rmtree, self.work, True)
        self.loop = asyncio.new_event_loop()
        stack.callback(self.loop.close)
        slack, cert = start_slack_standin(self.work, stack)
        self.base_url = slack.info["responses_url"]
        redis_url, self.pools = self._seeded_redis(stack)
        os.environ.update(bench_env(slack.info["api_url"], cert))
        # No AWS here: a job that called it would fail at once rather than wait on the network.
        os.environ.update(REDIS_URL=redis_url, CE_DATA_DIR=str(self.work / "data"),
                          AWS_ENDPOINT_URL="http://127.0.0.1:9", **procs.AWS_CREDENTIALS)  # fmt: skip
        self.apps = self._apps()
        worker = Runtime(configuration.load("serve"))  # the worker side, built and never started
        self.redis = worker.redis
        self.handlers = {w.queue.name: w.handlers for w in worker.jobs.workers}

    def _seeded_redis(self, stack: ExitStack) -> tuple[str, Pools]:
        """An embedded Redis seeded as the bench seeds ce-bot's: its URL, and the pools of its connections."""
        from bot.store.embedded import EmbeddedRedis

        redis = EmbeddedRedis(self.work / "redis")
        url = redis.start()
        stack.callback(redis.stop)
        s = self.sizes
        connected = seed.seed(url, "connected", s.list_orgs, kind="list", accounts=s.list_accounts, parallel=2)
        pending = seed.seed(url, "pending", s.pool(), kind="clk", accounts=3)
        return url, Pools(pending, seed.seed(url, "started", s.pool()), connected)

    def _apps(self) -> dict:
        from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler

        from bot.cli import web_runtime
        from bot.server import create_http_app

        def bare():
            return baselines.async_app(SIGNING_SECRET, BOT_TOKEN, os.environ["SLACK_API_URL"])

        _, runtime = web_runtime("serve")  # its worker child is never started: the jobs run here
        return {
            "baseline1": create_http_app(baselines.BareRuntime(bare())),
            "baseline2": AsyncSlackRequestHandler(bare()),
            CE: create_http_app(runtime),
        }

    # --- acks -----------------------------------------------------------------------------------

    def requests(self, scenario: str, count: int, ce: bool) -> list:
        raw = build_requests(scenario, count, HOST, self.base_url, self.pools if ce else None)
        return [asgi_request(r) for r in raw]

    def acks(self, app, requests: list, count: int) -> float:
        """CPU seconds for `count` acks (the requests taken in turn), and the replies they send after
        the ack (`soon`)."""
        started = time.process_time()
        self.answer(app, requests, count)
        self.settle()
        return time.process_time() - started

    def answer(self, app, requests: list, count: int) -> None:
        """`count` acks, one after another; every answer must be a 200."""

        async def run() -> list[int]:
            return [await call(app, *requests[i % len(requests)]) for i in range(count)]

        statuses = self.loop.run_until_complete(run())
        if set(statuses) != {200}:
            raise RuntimeError(f"answers other than 200: {sorted(set(statuses))}")

    def settle(self) -> None:
        """Let the replies sent after an ack (`soon`) finish."""
        self.loop.run_until_complete(asyncio.sleep(0.01))

    # --- the worker's jobs ----------------------------------------------------------------------

    def run_jobs(self) -> tuple[int, float]:
        """Run every job queued (and those they queue) with the worker's handlers; how many, CPU seconds."""
        from bot.jobs.queue import Job, stream_key

        done, started = 0, time.process_time()
        while True:
            batch = [(queue, entry) for queue in self.handlers for entry in self.redis.xrange(stream_key(queue))]
            if not batch:
                return done, time.process_time() - started
            self.redis.delete(*{stream_key(queue) for queue, _ in batch})
            for queue, (entry_id, fields) in batch:
                job = Job.from_entry(queue, entry_id, fields)
                self.handlers[queue][job.kind](job)
                done += 1

    # --- one scenario ---------------------------------------------------------------------------

    def scenario(self, name: str) -> dict:
        """CPU per ack of each app (the median of its rounds, the apps' order rotated from round to
        round: this machine's speed moves), per job of ce-bot's worker; then the profiles."""
        s = self.sizes
        for server, app in self.apps.items():
            self.acks(app, self.requests(name, s.warmup, server == CE), s.warmup)
        self.run_jobs()
        servers, per_ack, jobs, job_cpu = list(self.apps), {server: [] for server in self.apps}, 0, 0.0
        for r in range(s.rounds):
            for server in servers[r % len(servers):] + servers[:r % len(servers)]:
                spent = self.acks(self.apps[server], self.requests(name, s.requests, server == CE), s.requests)
                per_ack[server].append(spent / s.requests)
                if server == CE:  # its jobs now, as the worker would take them
                    done, spent = self.run_jobs()
                    jobs, job_cpu = jobs + done, job_cpu + spent
        row = {"scenario": name, **{server: statistics.median(cpu) for server, cpu in per_ack.items()}}
        row["jobs_per_ack"] = jobs / (s.rounds * s.requests)
        row["cpu_per_job"] = job_cpu / jobs if jobs else 0.0
        requests = self.requests(name, s.requests, True)
        self.profiled(f"ack-{name}", lambda: self.answer(self.apps[CE], requests, s.requests))
        self.settle()  # not in the profile: it would show as a wait
        self.profiled(f"jobs-{name}", self.run_jobs)
        return row

    def profiled(self, name: str, work) -> None:
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        profiler.start()
        work()
        profiler.stop()
        (self.out / f"{name}.txt").write_text(profiler.output_text(unicode=True, color=False))


def table(rows: list[dict]) -> str:
    lines = [
        "CPU per ack (µs; the median of the rounds), in-process, one request at a time; ce-bot's worker: CPU per "
        "job (µs) and jobs per ack",
        f"{'scenario':<9}{'b1':>8}{'b2':>8}{'ce':>8}{'ce/b1':>8}{'ce/b2':>8}{'job':>9}{'jobs/ack':>10}",
    ]
    for r in rows:
        b1, b2, ce = (r[k] * 1e6 for k in ("baseline1", "baseline2", CE))
        lines.append(f"{r['scenario']:<9}{b1:>8.0f}{b2:>8.0f}{ce:>8.0f}{ce / b1:>8.2f}{ce / b2:>8.2f}"
                     f"{r['cpu_per_job'] * 1e6:>9.0f}{r['jobs_per_ack']:>10.2f}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="acks per app, scenario and round (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--out", default="bench/profiles", help="where the profiles are written")
    parser.add_argument("--smoke", action="store_true", help="a few requests: checks the tool, measures nothing")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        profiling = Profiling(Sizes(args.smoke, args.requests, args.rounds), out, stack)
        rows = [profiling.scenario(name) for name in SCENARIOS]
    print(table(rows))
    print(f"profiles: {', '.join(sorted(p.name for p in out.glob('*.txt')))} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
