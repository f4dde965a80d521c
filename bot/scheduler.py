"""Background work that happens even when nobody touches anything: expiry, health re-checks, lost
validations, Home refresh.

One thread per bot process ticks every `tick` seconds (real time) and looks at
the injectable `clock` for what is due:

- **expiry**: every open connection past its `expires_at` gets the EXPIRE
  transition, whose job posts "expired" in the thread. The transition is atomic
  and refuses a connection that already moved on, so with several processes each
  connection expires once.
- **health re-checks**: every `recheck_pass` seconds (by the clock) the
  organizations due (connected, active, last claimed `recheck_interval` ago) are
  claimed in one Lua script, each with a durable job on the `health` queue; a
  claimed organization is not claimed again by another process.
- **lost validations**: every `validation_sweep_pass` seconds, connections in
  `validating` for longer than `validation_stuck_after` (their `validate` job
  died after its attempts, e.g. Redis was unreachable) are claimed in one Lua
  script with a new `validate` job each, at most once per that bound across
  processes; the handler checks the state first.
- **App Home**: when the audit log moved on, the Homes of recent viewers are
  republished; the claim is atomic, so one process does it.

Nothing here imports Slack: the Home refresh is a callback.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterable

from bot.connection.operations import Operations
from bot.store.client import StoreUnavailable

log = logging.getLogger(__name__)

RECHECK_PASS_MAX = 60.0  # look for due re-checks at least this often (clock seconds)
# A validation takes a few minutes at most (boto3 timeouts, retries): one still `validating` this long
# after its last change (or the last re-enqueue) lost its job.
VALIDATION_STUCK_AFTER = 15 * 60.0


@dataclass
class Tick:
    """What one tick did (for logs and tests)."""

    expired: list[str] = field(default_factory=list)
    rechecks: list[str] = field(default_factory=list)
    revalidated: list[str] = field(default_factory=list)
    home_viewers: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        operations: Operations,
        *,
        clock: Callable[[], float] = time.time,
        tick: float = 1.0,
        recheck_pass: float | None = None,
        validation_stuck_after: float = VALIDATION_STUCK_AFTER,
        validation_sweep_pass: float | None = None,
        on_home_refresh: Callable[[Iterable[str]], object] | None = None,
    ):
        if tick <= 0:
            raise ValueError("tick must be positive")
        self.operations = operations
        self.store = operations.store
        self.clock = clock
        self.tick_seconds = float(tick)
        interval = operations.config.recheck_interval
        self.recheck_pass = recheck_pass if recheck_pass is not None else min(RECHECK_PASS_MAX, interval / 10)
        self.validation_stuck_after = float(validation_stuck_after)
        if validation_sweep_pass is None:
            validation_sweep_pass = min(RECHECK_PASS_MAX, self.validation_stuck_after / 10)
        self.validation_sweep_pass = float(validation_sweep_pass)
        self.on_home_refresh = on_home_refresh
        self._next_recheck_pass = float("-inf")
        self._next_validation_sweep = float("-inf")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._down = False

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            self.tick()

    # -- one tick -------------------------------------------------------------------------------------

    def tick(self) -> Tick:
        """Do whatever is due now; never raises (a failing part is logged and retried next tick)."""
        done = Tick()
        now = float(self.clock())
        done.expired = self._guard("expiry", lambda: [c.id for c in self.operations.expire_due(now)], [])
        if now >= self._next_recheck_pass:
            claimed = self._guard("re-checks", lambda: self.operations.claim_rechecks(now), None)
            if claimed is not None:
                done.rechecks = claimed
                self._next_recheck_pass = now + self.recheck_pass
        if now >= self._next_validation_sweep:
            sweep = partial(self.operations.revalidate_stuck, now, stuck_after=self.validation_stuck_after)
            revalidated = self._guard("lost validations", sweep, None)
            if revalidated is not None:
                done.revalidated = revalidated
                self._next_validation_sweep = now + self.validation_sweep_pass
        if self.on_home_refresh is not None:
            done.home_viewers = self._guard("home", self.store.claim_home_refresh, [])
            if done.home_viewers:
                self._guard("home", lambda: self.on_home_refresh(done.home_viewers), None)
        if done.expired or done.rechecks:
            log.info("scheduler: %d expired, %d re-checks claimed", len(done.expired), len(done.rechecks))
        if done.revalidated:
            log.warning("scheduler: lost validations (validating too long) enqueued again: %s", ", ".join(done.revalidated))
        return done

    def _guard(self, what: str, action, fallback):
        try:
            result = action()
        except StoreUnavailable as error:
            if not self._down:
                log.warning("scheduler: Redis unavailable (%s); retrying every tick", error)
                self._down = True
            return fallback
        except Exception:  # noqa: BLE001 - the scheduler thread must never die
            log.exception("scheduler: %s failed", what)
            return fallback
        if self._down:
            log.info("scheduler: Redis is back")
            self._down = False
        return result
