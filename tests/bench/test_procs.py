"""`start_standin` gives up on a stand-in that never prints its ready line, or dies first."""

from __future__ import annotations

import time

import pytest

from bench.procs import start_standin


def test_a_standin_not_ready_in_time_is_stopped(tmp_path):
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="aws did not start"):
        # seeding a million member accounts takes minutes: no ready line for a long while
        start_standin(tmp_path, "aws", ["aws", "--accounts", "1000000"], timeout=0.5)
    assert time.monotonic() - start < 15  # the timeout, then SIGTERM (or SIGKILL after 10 s)


def test_a_standin_that_dies_is_reported_with_its_log(tmp_path):
    with pytest.raises(RuntimeError, match="invalid choice"):
        start_standin(tmp_path, "bad", ["no-such-role"])
