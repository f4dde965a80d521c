"""`make bench`: ce-bot against bare Bolt baselines, in one run, over interleaved rounds.

    python -m bench [--rounds 3] [--bg-rounds 3] [--out bench/results.json] [--smoke]

Phases (each server in its own process; see bench/README.md for what each figure means):

A. quiet: baseline 1, baseline 2, baseline 2 again (the noise), ce-bot; every scenario × N, the
   servers' order rotated from cell to cell, `--rounds` times.
B. background: 100 validations queued in a second ce-bot ("ce-bot+bg") whose AWS answers every call
   after 2 s; ce-bot+bg, ce-bot and baseline 2 interleaved, `--bg-rounds` times.
C. Redis round trips per ack path (a counting wrapper + MONITOR), cold start, RSS, Redis memory
   per organization (10,000 × 50 accounts), validation of one organization with 5,000 accounts.

The table and every figure go to stdout and `--out` (JSON).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench import payloads, procs, report, seed, tls
from bench.load import run_cell
from bench.payloads import BOT_TOKEN, SIGNING_SECRET
from bench.report import B1, B2, B2X, CE, CEBG
from bench.standins import TRUSTED_ACCOUNT
from bot.connection.model import Connection, OrgStatus

CE_LIST = "ce-bot (list)"  # ce-bot on a Redis holding only the 1,000 organizations: the /ce list cells

SCENARIOS = ("help", "list", "toggle", "approve", "submit")
BG_VALIDATIONS = 100
AWS_DELAY = 2.0


class Profile:
    """Sizes of one run."""

    def __init__(self, smoke: bool, rounds: int, bg_rounds: int):
        self.smoke = smoke
        self.rounds = rounds
        self.bg_rounds = bg_rounds
        if smoke:
            self.clients = (1, 4)
            self.requests = {1: 8, 4: 16}
            self.list_requests = self.requests
            self.warmup = 4
            self.list_orgs = 30
            self.list_accounts = 3
            self.bg = 0
            self.memory_orgs, self.memory_accounts = 20, 5
            self.big_accounts = 0
            self.cold_starts = 0
        else:
            self.clients = (1, 16, 64)
            self.requests = {1: 400, 16: 500, 64: 1000}  # N = 1 cells of 150 moved more between runs than within one
            # /ce list's after-ack work is the heaviest (every cell waits for it to drain): fewer requests
            # per cell, but not so few that one slow moment decides a cell (80 at N = 1 did)
            self.list_requests = {n: count // 2 for n, count in self.requests.items()}
            self.warmup = 60
            self.list_orgs = 1000
            self.list_accounts = 50
            self.bg = BG_VALIDATIONS
            self.memory_orgs, self.memory_accounts = 10_000, 50
            self.big_accounts = 5000
            self.cold_starts = 3

    def pool_size(self) -> int:
        """Connections one ce-bot consumes per pool: every cell, warm-ups, the round-trip count."""
        per_round = sum(self.requests[n] for n in self.clients)
        rounds = self.rounds + (self.bg_rounds if self.bg else 0)
        return rounds * per_round + 2 * self.warmup + (32 if self.smoke else 100)


def say(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# --- the requests of one cell -------------------------------------------------------------------


class Pools:
    """Connections seeded for one ce-bot Redis, consumed one per Approve click / IDs submission; and
    its connected organizations, clicked Disable then Enable in turn."""

    def __init__(self, pending: list[str], started: list[str], connected: list[str]):
        self.pending = pending
        self.started = started
        self.connected = connected
        self.next_pending = 0
        self.next_started = 0
        self.next_org = 0
        self.next_toggle = 0

    def take_pending(self, n: int) -> list[str]:
        if self.next_pending + n > len(self.pending):
            raise RuntimeError("the Approve pool ran out: make the pools larger")
        out = self.pending[self.next_pending:self.next_pending + n]
        self.next_pending += n
        return out

    def take_started(self, n: int) -> list[tuple[str, str]]:
        if self.next_started + n > len(self.started):
            raise RuntimeError("the IDs submission pool ran out: make the pools larger")
        out = []
        for conn_id in self.started[self.next_started:self.next_started + n]:
            out.append((conn_id, seed.org_id("sub", self.next_org)))
            self.next_org += 1
        self.next_started += n
        return out

    def take_toggles(self, n: int) -> list[Connection]:
        """The next `n` organizations to click, as the list shows them: each is active until its
        Disable was clicked, inactive until its Enable was, and so on round the list. Every click
        taken must be sent, and no more than one per organization at once (a Disable and an Enable
        of the same one could be run in either order by the worker's threads)."""
        if n > len(self.connected):
            raise RuntimeError(f"{n} clicks at once on {len(self.connected)} organizations: some would race")
        out = []
        for k in range(self.next_toggle, self.next_toggle + n):
            i, rounds = k % len(self.connected), k // len(self.connected)
            status = OrgStatus.INACTIVE if rounds % 2 else OrgStatus.ACTIVE
            out.append(payloads.connected_connection(self.connected[i], seed.org_id("list", i), status))
        self.next_toggle += n
        return out


def post_once(proc: procs.Proc, body: bytes):
    """One signed request to `proc`, on a connection of its own; the load client's result."""
    request = payloads.http_post(f"127.0.0.1:{proc.port}", body, payloads.FORM, SIGNING_SECRET)
    return run_cell("127.0.0.1", proc.port, [request], clients=1, total=1)


def build_requests(scenario: str, total: int, host: str, base_url: str, pools: Pools | None) -> list[bytes]:
    """The signed requests of one cell; a ce-bot gets connections from its pools, a baseline made-up IDs."""
    ts = int(time.time())
    if scenario in ("help", "list"):  # the verb is the scenario's name
        return [payloads.http_post(host, payloads.command_body(scenario, base_url), payloads.FORM, SIGNING_SECRET, ts)
                for _ in range(min(total, 64))]
    if scenario == "approve":
        ids = pools.take_pending(total) if pools else [secrets.token_hex(8) for _ in range(total)]
        out = []
        for i, conn_id in enumerate(ids):
            conn = payloads.pending_connection(conn_id, seed.org_id("clk", i))
            out.append(payloads.http_post(host, payloads.approve_click_body(conn, base_url), payloads.FORM,
                                          SIGNING_SECRET, ts))
        return out
    if scenario == "toggle":
        conns = pools.take_toggles(total) if pools else [
            payloads.connected_connection(secrets.token_hex(8), seed.org_id("list", i), OrgStatus.ACTIVE) for i in range(total)
        ]
        return [payloads.http_post(host, payloads.toggle_click_body(conn, base_url), payloads.FORM, SIGNING_SECRET, ts)
                for conn in conns]
    if scenario == "submit":
        pairs = pools.take_started(total) if pools else [(secrets.token_hex(8), seed.org_id("sub", i)) for i in range(total)]
        return [payloads.http_post(host, payloads.ids_submission_body(conn_id, org), payloads.FORM, SIGNING_SECRET, ts)
                for conn_id, org in pairs]
    raise ValueError(scenario)


def bench_env(api_url: str, sink_cert: Path) -> dict[str, str]:
    """The environment of every server of the bench (ce-bot reads all of it, a baseline some)."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "CE_TRUSTED_ACCOUNT_ID": TRUSTED_ACCOUNT,
        "CE_APPROVERS": ",".join(payloads.APPROVERS),
        "AWS_REGION": payloads.REGION,
        "SSL_CERT_FILE": str(sink_cert),  # ce-bot trusts the sink as it trusts Slack
    }


def start_slack_standin(work: Path, stack: ExitStack) -> tuple[procs.Proc, Path]:
    """The Slack stand-in and its response_url sink, which speaks HTTPS as Slack does, with a
    certificate made for the run; and that certificate (ce-bot trusts it: `bench_env`)."""
    cert, key = tls.make_certificate(work)
    proc = procs.start_standin(work, "slack-standin", ["slack", "--token", BOT_TOKEN, "--tls-cert", str(cert),
                                                       "--tls-key", str(key)])  # fmt: skip
    stack.callback(proc.stop)
    return proc, cert


# --- the run ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, stack: ExitStack):
        self.p = Profile(args.smoke, args.rounds, args.bg_rounds)
        self.stack = stack
        self.work = Path(tempfile.mkdtemp(prefix="ce-bench-"))
        stack.callback(shutil.rmtree, self.work, True)
        self.servers: dict[str, procs.Proc] = {}
        self.redis: dict[str, object] = {}  # server name -> EmbeddedRedis
        self.pools: dict[str, Pools] = {}
        self.cells: list[dict] = []
        self.skipped: dict[str, str] = {}
        self.bg_log: list[dict] = []
        self.extras: dict = {}
        self.list_check: dict | None = None
        self.worker_pids: dict[str, int | None] = {}  # server name -> its worker child (worker_pid)

    # -- set-up ----------------------------------------------------------------------------------

    def start(self) -> None:
        say(f"bench: work folder {self.work}")
        self.slack, self.sink_cert = start_slack_standin(self.work, self.stack)
        self.sink_trust = tls.client_context(self.sink_cert)  # the harness's own reads of the sink
        self.api_url = self.slack.info["api_url"]
        self.base_url = self.slack.info["responses_url"]  # response_urls in payloads point at the sink
        if self.p.bg:
            self.aws_slow = self._standin(
                "aws-slow", ["aws", "--orgs", str(self.p.bg), "--accounts", "3", "--delay", str(AWS_DELAY)])
        if self.p.big_accounts:
            # seeded now (it takes a while), used at the end
            self.aws_big = self._standin(
                "aws-big", ["aws", "--orgs", "1", "--accounts", str(self.p.big_accounts), "--stack-set"], timeout=300)
        self._seed_ce_redis()
        env = self.env()
        specs = [(B1, ["-m", "bench.baselines", "served"], env, True)]
        if not self.p.smoke:  # the smoke run checks the harness against baseline 1 only: fewer processes
            specs.append((B2, ["-m", "bench.baselines", "async"], env, False))
            specs.append((B2X, ["-m", "bench.baselines", "async"], env, False))  # the noise
        for name in self.ce_names():
            extra = {"REDIS_URL": self.redis[name].url, "CE_DATA_DIR": str(self.work / f"data-{_slug(name)}")}
            if self.p.bg:
                extra["AWS_ENDPOINT_URL"] = self.aws_slow.info["url"]
            argv = ["-m", "bot.cli", "serve"]
            if self.p.smoke:  # one process fewer to start: the smoke's ce-bot counts its Redis round trips
                argv = ["-m", "bench.counting"]
                extra["BENCH_TRIPS_FILE"] = str(self.trips_file)
            specs.append((name, argv, {**env, **extra}, True))
        for name, argv, server_env, _ in specs:  # started together, waited for one by one
            self.servers[name] = procs.spawn_server(self.work, _slug(name), argv, server_env)
        self.stack.callback(lambda: procs.stop_all(self.servers.values()))
        for name, _, _, need_200 in specs:
            procs.wait_healthy(self.servers[name], need_200=need_200, timeout=60)
            say(f"bench: {name} up on port {self.servers[name].port} (pid {self.servers[name].pid})")

    def _standin(self, name: str, args: list[str], timeout: float = 120.0) -> procs.Proc:
        proc = procs.start_standin(self.work, name, args, timeout=timeout)
        self.stack.callback(proc.stop)
        return proc

    def env(self) -> dict[str, str]:
        return bench_env(self.api_url, self.sink_cert)

    def ce_names(self) -> list[str]:
        if self.p.smoke:
            return [CE]  # /ce list runs on ce-bot's own Redis (the organizations and the pools)
        return [CE_LIST, CE, CEBG] if self.p.bg else [CE_LIST, CE]

    @property
    def trips_file(self) -> Path:
        return self.work / "trips.jsonl"

    def scenarios(self) -> list[str]:
        return [s for s in SCENARIOS if s not in self.skipped]

    def _seed_ce_redis(self) -> None:
        """Seed one Redis through ConnectionStore, then give each ce-bot its own copy of it: the list
        server gets the organizations only, the others the organizations and the request pools."""
        from bot.store.embedded import EmbeddedRedis

        base = self.work / "redis-seed"
        embedded = EmbeddedRedis(base)
        embedded.start()
        size = self.p.pool_size()
        t0 = time.monotonic()
        parallel = 1 if self.p.smoke else 2
        connected = seed.seed(embedded.url, "connected", self.p.list_orgs, kind="list", accounts=self.p.list_accounts,
                              parallel=parallel)
        if CE_LIST in self.ce_names():
            embedded.stop()
            self._copy_redis(base, CE_LIST)
            embedded.start()
        pending = seed.seed(embedded.url, "pending", size, kind="clk", accounts=3, parallel=parallel)
        started = seed.seed(embedded.url, "started", size, parallel=parallel)
        say(f"bench: seeded {self.p.list_orgs} connected organizations, {size} pending approvals and {size} "
            f"open IDs modals in {time.monotonic() - t0:.1f} s")
        embedded.stop()
        for name in self.ce_names():
            if name != CE_LIST:
                self._copy_redis(base, name)
                self.pools[name] = Pools(pending, started, connected)

    def _copy_redis(self, base: Path, name: str) -> None:
        from bot.store.embedded import EmbeddedRedis

        folder = self.work / f"redis-{_slug(name)}"
        shutil.copytree(base, folder, ignore=shutil.ignore_patterns("redis.sock", "redis.pid", "redis.lock"))
        server = EmbeddedRedis(folder)
        server.start()
        self.stack.callback(server.stop)
        self.redis[name] = server
        import redis as redis_py

        client = redis_py.Redis.from_url(server.url)
        client.config_set("slowlog-log-slower-than", 2000)  # µs: anything that holds Redis 2 ms or more
        client.slowlog_reset()
        client.close()

    # -- cells -----------------------------------------------------------------------------------

    def physical(self, server: str, scenario: str) -> str:
        """The process that serves `server`'s cells of `scenario` (ce-bot's /ce list: the list server)."""
        return CE_LIST if (server == CE and scenario == "list" and CE_LIST in self.servers) else server

    def warm(self, server: str, scenario: str) -> None:
        """A few requests, not recorded: connections, caches and code paths warm."""
        physical = self.physical(server, scenario)
        proc = self.servers[physical]
        requests = build_requests(scenario, self.p.warmup, f"127.0.0.1:{proc.port}", self.base_url,
                                  self.pools.get(physical))
        run_cell("127.0.0.1", proc.port, requests, clients=4, total=self.p.warmup)
        self._drain(physical)

    def measure(self, phase: str, round_no: int, server: str, scenario: str, clients: int) -> dict:
        physical = self.physical(server, scenario)
        proc = self.servers[physical]
        pools = self.pools.get(physical)
        host = f"127.0.0.1:{proc.port}"
        total = (self.p.list_requests if scenario == "list" else self.p.requests)[clients]
        requests = build_requests(scenario, total, host, self.base_url, pools)
        # the processes whose CPU time the cell records: the server, and a ce-bot's Redis and worker process
        pids = {"cpu_s": proc.pid, "redis_cpu_s": self.redis[physical].pid if physical in self.redis else None,
                "worker_cpu_s": self.worker_pid(physical)}
        self._drain(physical)
        gc.collect()
        gc.disable()
        try:
            before = {key: procs.cpu_sample(pid) for key, pid in pids.items() if pid}
            result = run_cell("127.0.0.1", proc.port, requests, clients=clients, total=total, keep_bodies=total)
            self._drain(physical)
            cpu = {key: procs.cpu_sample(pids[key]).since(sample) for key, sample in before.items()}
        finally:
            gc.enable()
        bodies = Counter(result.bodies)
        cell = {
            "phase": phase, "round": round_no, "server": server, "scenario": scenario, "clients": clients,
            "requests": result.count, "wall_s": result.wall_s, "errors": result.errors,
            "statuses": {str(k): v for k, v in result.statuses.items()},
            **{key: cpu.get(key) for key in pids},
            "latencies_ns": result.latencies_ns,
            "answers": {body[:160].decode("utf-8", "replace"): count for body, count in bodies.most_common(3)},
        }
        self.cells.append(cell)
        if result.errors:
            say(f"bench: {server} {scenario} N={clients}: {result.errors} errors {cell['statuses']}")
        return cell

    def worker_pid(self, server: str) -> int | None:
        """The `ce-bot worker` process a ce-bot server started (its jobs: what follows each ack): looked
        for in /proc once, and again only if that one is gone (a worker restarted)."""
        if server not in self.redis:
            return None
        parent = self.servers[server].pid
        known = self.worker_pids.get(server)
        if known is None or procs.parent_of(known) != parent:
            found = procs.children(parent)
            known = self.worker_pids[server] = found[0] if found else None
        return known

    def _drain(self, server: str, timeout: float = 120.0) -> None:
        """Wait until the after-ack work of the last cell is done: a ce-bot's interactive and Slack job
        queues empty, then its web and worker processes idle (under 5% of a core over 100 ms). ce-bot+bg
        is never idle (its validations): for it, the queues only."""
        if server not in self.redis:
            time.sleep(0.02)
            return
        import redis as redis_py

        from bot.connection.flow import SLACK
        from bot.jobs.queue import stream_key
        from bot.slack.after_ack import QUEUE as INTERACTIVE

        client = redis_py.Redis.from_url(self.redis[server].url)
        queues = [stream_key(INTERACTIVE), stream_key(SLACK)]
        try:
            deadline = time.monotonic() + timeout
            while any(client.xlen(queue) for queue in queues) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            client.close()
        if server != CEBG:
            worker = self.worker_pid(server)
            pids = [self.servers[server].pid] + ([worker] if worker else [])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                before = [procs.cpu_sample(pid) for pid in pids]
                time.sleep(0.1)
                if all(procs.cpu_sample(pid).since(b) < 0.005 for pid, b in zip(pids, before)):
                    break

    def check_list(self) -> None:
        """Skip /ce list until ce-bot knows the verb (someone is adding it); else check its answer."""
        proc = self.servers.get(CE_LIST) or self.servers[CE]
        answers = {}
        for verb in ("list", "benchnoverb"):
            result = post_once(proc, payloads.command_body(verb, self.base_url))
            answers[verb] = result.first_body.decode("utf-8", "replace")
        if answers["list"].replace("list", "X") == answers["benchnoverb"].replace("benchnoverb", "X"):
            self.skipped["list"] = "ce-bot does not know `/ce list` yet (it answers as to an unknown verb)"
            return
        answer = answers["list"]
        if not answer.strip():  # acked empty: the list follows through the response_url
            before = self._sink()["counts"].get("commands", 0)
            deadline = time.monotonic() + 15
            post_once(proc, payloads.command_body("list", self.base_url))
            while self._sink()["counts"].get("commands", 0) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            answer = (self._sink()["last"] or [""])[-1]
        self.list_check = _paginated(answer)
        self.list_check["acked_with"] = answers["list"][:200] or "(empty ack; the list came through the response_url)"

    def _sink(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(self.base_url + "_bench/responses", timeout=5, context=self.sink_trust) as answer:
            return json.loads(answer.read())

    def interleaved(self, phase: str, rounds: int, servers: list[str], scenarios: list[str]):
        """(round, server, scenario, clients) of every cell of a phase, round after round, the servers'
        order rotated from cell to cell."""
        k = 0
        for round_no in range(1, rounds + 1):
            t0 = time.monotonic()
            for scenario in scenarios:
                for clients in self.p.clients:
                    for server in servers[k % len(servers):] + servers[:k % len(servers)]:
                        yield round_no, server, scenario, clients
                    k += 1
            say(f"bench: phase {phase} round {round_no}/{rounds} took {time.monotonic() - t0:.0f} s")

    def phase_a(self) -> None:
        servers = [s for s in (B1, B2, B2X, CE) if s in self.servers]
        scenarios = self.scenarios()
        for server in servers:
            for scenario in scenarios:
                self.warm(server, scenario)
        for round_no, server, scenario, clients in self.interleaved("A", self.p.rounds, servers, scenarios):
            self.measure("A", round_no, server, scenario, clients)

    # -- phase B: 100 slow validations in the background -------------------------------------------

    def start_background(self) -> None:
        from bot.config import Config
        from bot.connection.flow import ConnectionFlow
        from bot.store.client import connect
        from bot.store.connections import ConnectionStore
        from slack_sdk import WebClient

        self.bg_store = ConnectionStore(connect(self.redis[CEBG].url))
        self.bg_flow = ConnectionFlow(self.bg_store, Config(trusted_account_id=TRUSTED_ACCOUNT,
                                                            approvers=frozenset({payloads.APPROVER})))
        slack = WebClient(token=BOT_TOKEN, base_url=self.api_url)
        self.bg_conns = []
        for org in self.aws_slow.info["orgs"]:
            conn = self.bg_store.create(requester=payloads.REQUESTER, channel=payloads.CHANNEL, ttl=seed.TTL)
            posted = slack.chat_postMessage(channel=payloads.CHANNEL, text=f"Connecting {org['org_id']}")
            self.bg_store.update(conn.id, parent_ts=posted["ts"])
            result = self.bg_flow.submit_ids(conn.id, actor=payloads.REQUESTER, organization_id=org["org_id"],
                                             root_id=org["root_id"])
            if not result.ok:
                raise RuntimeError(f"background connection: {result.refusal}")
            self.bg_conns.append((conn.id, org))
        self.top_up()

    def outstanding(self) -> int:
        return int(self.bg_store.redis.xlen("ce:jobs:validate"))

    def top_up(self) -> int:
        """Queue validations until BG_VALIDATIONS are waiting or running; the number before."""
        from bot.connection.model import State

        before = self.outstanding()
        missing = self.p.bg - before
        for conn_id, org in self.bg_conns:
            if missing <= 0:
                break
            conn = self.bg_store.get(conn_id)
            if conn and conn.state in (State.AWAITING_STACK, State.VALIDATION_FAILED):
                role = payloads.role_arn(org["management_account_id"])
                if self.bg_flow.submit_role(conn_id, actor=payloads.REQUESTER, role_arn=role, region=payloads.REGION).ok:
                    missing -= 1
        return before

    def aws_calls(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(self.aws_slow.info["url"] + "/_bench/stats", timeout=5) as answer:
            return json.loads(answer.read())

    def phase_b(self) -> None:
        if not self.p.bg:
            return
        self.start_background()
        time.sleep(3)  # the first AWS calls are under way
        servers = [s for s in (B2, CE, CEBG) if s in self.servers]
        # /ce list is left out here: ce-bot+bg's Redis holds the pools too, thousands of open connections
        # that the list would show; its ack path is the one /ce help takes.
        scenarios = [s for s in self.scenarios() if s != "list"]
        for scenario in scenarios:
            self.warm(CEBG, scenario)
        for round_no, server, scenario, clients in self.interleaved("B", self.p.bg_rounds, servers, scenarios):
            if server != CEBG:
                self.measure("B", round_no, server, scenario, clients)
                continue
            queued = self.top_up()
            calls_before = sum(self.aws_calls().values())
            cell = self.measure("B", round_no, server, scenario, clients)
            cell["bg"] = {"outstanding_before": queued, "outstanding_after": self.outstanding(),
                          "aws_calls_during": sum(self.aws_calls().values()) - calls_before}
            self.bg_log.append({"scenario": scenario, "clients": clients, **cell["bg"]})
        self.extras["background"] = {
            "validations_queued": self.p.bg,
            "aws_delay_s": AWS_DELAY,
            "aws_calls_by_operation": self.aws_calls(),
            "outstanding_min": min(b["outstanding_before"] for b in self.bg_log),
            "aws_calls_during_ce_bg_cells": sum(b["aws_calls_during"] for b in self.bg_log),
            "validation_states": dict(Counter(str(self.bg_store.get(c).state) for c, _ in self.bg_conns)),
        }

    # -- phase C -----------------------------------------------------------------------------------

    def rss(self) -> None:
        self.extras["rss"] = {name: procs.rss_mb(proc.pid) for name, proc in self.servers.items() if proc.alive()}
        import redis as redis_py

        slow = {}
        for name, server in self.redis.items():
            if server.pid:
                self.extras["rss"][f"redis of {name}"] = procs.rss_mb(server.pid)
                client = redis_py.Redis.from_url(server.url, decode_responses=True)
                slow[name] = [{"ms": round(e["duration"] / 1000, 1), "command": _short_command(e["command"])}
                              for e in client.slowlog_get(10)]
                client.close()
        self.extras["redis_slowlog"] = slow

    def counted_post(self, proc: procs.Proc, body: bytes, pause: float) -> dict:
        """One request to the counting ce-bot, then `pause` s for it to finish: the record it wrote."""
        seen = len(self.trips_file.read_text().splitlines())
        post_once(proc, body)
        time.sleep(pause)
        lines = self.trips_file.read_text().splitlines()
        return json.loads(lines[seen]) if len(lines) > seen else {"round_trips": -1, "commands": []}

    def round_trips(self) -> None:
        """Redis round trips on each ack path, counted in a ce-bot whose Redis connections count."""
        from bench.monitor import Monitor

        url = self.redis[CE].url
        trips_file = self.trips_file
        if self.p.smoke:
            proc = self.servers[CE]  # it counts already
        else:
            self.servers.pop(CE).stop()
            extra = {"REDIS_URL": url, "CE_DATA_DIR": str(self.work / "data-counting"),
                     "BENCH_TRIPS_FILE": str(trips_file)}
            proc = procs.start_server(self.work, "ce-bot-counting", ["-m", "bench.counting"], {**self.env(), **extra})
            self.stack.callback(proc.stop)
        pools = self.pools[CE]

        reps = 1 if self.p.smoke else 5
        pause = 0.15 if self.p.smoke else 0.4

        def sends() -> dict[str, list]:
            pending = pools.take_pending(8)
            started = pools.take_started(16)
            taken_org = started[0][1]
            out = {
                "/ce help": [payloads.command_body("help", self.base_url) for _ in range(reps)],
                "/ce (unknown verb)": [payloads.command_body("frobnicate", self.base_url) for _ in range(reps)],
                "/ce connect aws-org": [payloads.command_body("connect aws-org", self.base_url) for _ in range(reps)],
                "Approve click": [payloads.approve_click_body(payloads.pending_connection(c, seed.org_id("clk", i)),
                                                              self.base_url) for i, c in enumerate(pending[:reps])],
                "Disable / Enable click": [payloads.toggle_click_body(c, self.base_url) for c in pools.take_toggles(reps)],
                "IDs submission (accepted)": [payloads.ids_submission_body(c, o) for c, o in started[:reps]],
                "IDs submission (organization taken)": [payloads.ids_submission_body(c, taken_org)
                                                        for c, _ in started[5:5 + reps]],
                "IDs submission (invalid ID)": [payloads.ids_submission_body(c, "o-NOPE")
                                                for c, _ in started[10:10 + reps]],
            }
            if "list" not in self.skipped:
                out["/ce list"] = [payloads.command_body("list", self.base_url) for _ in range(reps)]
            if self.p.smoke:
                out = {k: v for k, v in out.items()
                       if k in ("/ce help", "Disable / Enable click", "Approve click", "IDs submission (accepted)")}
            return out

        if not self.p.smoke:  # warm up: every path, so connections and script caches are in place
            for bodies in sends().values():
                for body in bodies:  # all of them: a Disable / Enable taken and not sent would leave its organization out of step
                    post_once(proc, body)
        time.sleep(pause)
        trips_file.write_text("")
        results = {}
        with Monitor(url) as monitor:
            for path, bodies in sends().items():
                counts, after = [], []
                for body in bodies:
                    mark = monitor.mark()
                    # lazy listeners and jobs
                    counts.append(self.counted_post(proc, body, pause * (3 if path == "/ce list" else 1)))
                    after.append(monitor.since(mark))
                ack = [r["round_trips"] for r in counts]
                typical = statistics.median_low(ack)
                results[path] = {
                    "typical": int(typical), "max": max(ack), "min": min(ack),
                    "ack_path_commands": next(r["commands"] for r in counts if r["round_trips"] == typical),
                    "worst_ack_path_commands": max(counts, key=lambda r: r["round_trips"])["commands"],
                    "all_commands_incl_after_ack": after[-1],
                    "after_ack_round_trips": max(0, len(after[-1]) - counts[-1]["round_trips"]),
                }
        self.counting = proc
        self.counting_used = time.monotonic()
        self.extras["redis_round_trips"] = results

    def round_trips_after_idle(self) -> None:
        """The busiest ack path once more after the bot sat idle for over 30 s (redis-py PINGs a connection
        idle for `health_check_interval` before using it)."""
        if self.p.smoke:
            return
        wait = 31 - (time.monotonic() - self.counting_used)
        if wait > 0:
            time.sleep(wait)
        (conn_id, org), = self.pools[CE].take_started(1)
        record = self.counted_post(self.counting, payloads.ids_submission_body(conn_id, org), 0.3)
        out = {"IDs submission (accepted)": {"round_trips": record["round_trips"], "commands": record["commands"],
                                             "idle_s": 31}}
        self.counting.stop()
        self.extras["redis_round_trips_after_idle"] = out

    def cold_start(self) -> None:
        if not self.p.cold_starts:
            return
        samples = {"ce-bot": [], "baseline1": []}
        env = self.env()
        for i in range(self.p.cold_starts):
            for name, argv in (("ce-bot", ["-m", "bot.cli", "serve"]), ("baseline1", ["-m", "bench.baselines", "served"])):
                data = self.work / f"cold-{i}"
                t0 = time.monotonic()
                proc = procs.start_server(self.work, f"cold-{_slug(name)}-{i}", argv,
                                          {**env, "CE_DATA_DIR": str(data)}, timeout=30)
                samples[name].append(time.monotonic() - t0)
                proc.stop()
                shutil.rmtree(data, ignore_errors=True)
        ce, b1 = statistics.median(samples["ce-bot"]), statistics.median(samples["baseline1"])
        self.extras["cold_start"] = {"ce_median_s": ce, "baseline1_median_s": b1, "ratio": ce / b1,
                                     "samples_s": {k: [round(v, 3) for v in vs] for k, vs in samples.items()}}

    def redis_memory(self) -> None:
        from bot.store.embedded import EmbeddedRedis
        import redis as redis_py

        folder = self.work / "redis-memory"
        server = EmbeddedRedis(folder)
        server.start()
        try:
            client = redis_py.Redis.from_url(server.url, decode_responses=True)
            before = int(client.info("memory")["used_memory"])
            t0 = time.monotonic()
            ids = seed.seed(server.url, "connected", self.p.memory_orgs, kind="mem", accounts=self.p.memory_accounts,
                            parallel=1 if self.p.smoke else 2)
            seconds = time.monotonic() - t0
            after = int(client.info("memory")["used_memory"])
            sample = ids[len(ids) // 2]
            per_org = (after - before) / self.p.memory_orgs
            self.extras["redis_memory"] = {
                "organizations": self.p.memory_orgs, "accounts_each": self.p.memory_accounts,
                "used_memory_delta_mb": round((after - before) / 2**20, 1),
                "bytes_per_org": round(per_org),
                "bytes_per_account": round(per_org / self.p.memory_accounts),
                "sample_connection_hash_bytes": client.memory_usage(f"ce:conn:{sample}"),
                "sample_accounts_hash_bytes": client.memory_usage(f"ce:conn:{sample}:accounts"),
                "audit_stream_bytes": client.memory_usage("ce:audit"),
                "audit_entries": client.xlen("ce:audit"),
                "keys": client.dbsize(),
                "seed_seconds": round(seconds, 1),
            }
            client.close()
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)

    def big_validation(self) -> None:
        if not self.p.big_accounts:
            return
        from bench.validation_scale import validate_big

        self.extras["validation_5000"] = validate_big(self.aws_big.info, self.work)

    # -- results -----------------------------------------------------------------------------------

    def results(self) -> dict:
        scenarios = self.scenarios()
        agg = report.aggregate(self.cells)
        noise = report.noise_level(agg, scenarios, self.p.clients)
        table_rows = report.rows(agg, scenarios, self.p.clients)
        trips = self.extras.get("redis_round_trips", {})
        targets = report.targets(table_rows, noise, trips, self.extras, self.skipped, list_check=self.list_check)
        return {
            "meta": _meta(self.p),
            "table": report.table(table_rows, self.skipped),
            "rows": table_rows,
            "noise": noise,
            "skipped": self.skipped,
            "list_check": self.list_check,
            "extras": self.extras,
            "background_cells": self.bg_log,
            "targets": targets,
            "cells": [{k: v for k, v in c.items() if k != "latencies_ns"} for c in self.cells],
        }


def _paginated(answer: str) -> dict:
    try:
        data = json.loads(answer)
    except ValueError:
        return {"paginated": False, "summary": f"not JSON: {answer[:80]}"}
    blocks = data.get("blocks") or [] if isinstance(data, dict) else []
    text = json.dumps(data).lower()
    more = any(word in text for word in ("next", "more", "page"))
    return {"paginated": len(blocks) <= 50 and more, "blocks": len(blocks), "bytes": len(answer),
            "summary": f"{len(blocks)} blocks, {len(answer)} bytes, mentions more: {more}"}


def _short_command(command) -> str:
    text = command.decode("utf-8", "replace") if isinstance(command, bytes) else str(command)
    return text[:80]


def _slug(name: str) -> str:
    return name.replace("+", "-").replace("'", "x")


def _meta(p: Profile) -> dict:
    import slack_bolt
    import uvicorn

    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "slack_bolt": slack_bolt.version.__version__,
        "uvicorn": uvicorn.__version__,
        "cpus": os.cpu_count(),
        "smoke": p.smoke,
        "rounds": p.rounds,
        "bg_rounds": p.bg_rounds,
        "clients": list(p.clients),
        "requests_per_cell": p.requests,
    }


def _jsonable(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def print_summary(res: dict, out=None) -> None:
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    w(res["table"])
    w()
    lv = res["noise"]["level"]
    w(f"noise (baseline 2 against itself, largest deviation over cells): p50 ±{_pct(lv.get('p50'))}, "
      f"p99 ±{_pct(lv.get('p99'))}, throughput ±{_pct(lv.get('rps'))}, CPU ±{_pct(lv.get('cpu'))}")
    ex = res["extras"]
    if "background" in ex:
        b = ex["background"]
        w(f"background: {b['validations_queued']} validations kept queued (min outstanding {b['outstanding_min']}), "
          f"AWS answering after {b['aws_delay_s']} s; {b['aws_calls_during_ce_bg_cells']} AWS calls during the ce+bg cells")
    for path, info in ex.get("redis_round_trips", {}).items():
        w(f"redis round trips, ack path of {path}: {info['typical']} (worst {info['max']}; "
          f"{' '.join(info['ack_path_commands']) or '-'}); after the ack: {info['after_ack_round_trips']}")
    for path, info in ex.get("redis_round_trips_after_idle", {}).items():
        w(f"redis round trips, ack path of {path} after {info['idle_s']} s idle: {info['round_trips']} "
          f"({' '.join(info['commands'])})")
    if "cold_start" in ex:
        c = ex["cold_start"]
        w(f"cold start to /healthz 200: ce-bot {c['ce_median_s']:.2f} s (embedded Redis), baseline 1 "
          f"{c['baseline1_median_s']:.2f} s, ratio {c['ratio']:.2f}")
    if "rss" in ex:
        w("RSS after load (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in ex["rss"].items()))
    if "redis_memory" in ex:
        m = ex["redis_memory"]
        w(f"redis memory: {m['bytes_per_org']} bytes per organization ({m['organizations']} × {m['accounts_each']} "
          f"accounts: {m['used_memory_delta_mb']} MB; {m['bytes_per_account']} bytes per account)")
    if "validation_5000" in ex:
        v = ex["validation_5000"]
        w(f"validation of one organization with {v['accounts']} accounts: {v['wall_s']:.1f} s "
          f"(checks {v['checks_s']:.1f} s, recording {v['record_s']:.2f} s), {v['aws_calls']} AWS calls: "
          + ", ".join(f"{k} {n}" for k, n in v["calls_by_operation"].items()) + f"; outcome {v['outcome']}")
    w()
    met = sum(1 for t in res["targets"] if t["met"])
    w(f"targets: {met} of {len(res['targets'])} met")
    for t in res["targets"]:
        if not t["met"]:
            w(f"  MISSED {t['target']}: {t['value']} (limit {t['limit']}){' — ' + t['note'] if t['note'] else ''}")


def _pct(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the quiet phase")
    # three: with two, one slow moment of this shared machine in one round decided a cell's verdict
    parser.add_argument("--bg-rounds", type=int, default=3, help="interleaved rounds with the background validations")
    parser.add_argument("--out", default=str(procs.ROOT / "bench" / "results.json"))
    parser.add_argument("--smoke", action="store_true", help="a few requests of each kind (the test suite's run)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.bg_rounds = 1, 0
    started = time.monotonic()
    with ExitStack() as stack:
        bench = Bench(args, stack)
        bench.start()
        bench.check_list()
        bench.phase_a()
        bench.phase_b()
        bench.rss()
        bench.round_trips()
        procs.stop_all(bench.servers.values())
        bench.cold_start()
        bench.redis_memory()
        bench.big_validation()
        bench.round_trips_after_idle()
        res = bench.results()
    res["meta"]["seconds"] = round(time.monotonic() - started, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(_jsonable(res), indent=1))
    print_summary(res)
    print(f"\n(full results in {args.out}; {res['meta']['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
