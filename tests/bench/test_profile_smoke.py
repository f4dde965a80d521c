"""`make profile`, run small so it cannot rot: every scenario's acks through ce-bot and both baselines,
the jobs they handed over run by the worker's handlers, and a profile of each written."""

from __future__ import annotations

import subprocess
import sys

from bench.procs import ROOT, python_env
from bench.run import SCENARIOS


def test_profile_smoke_profiles_every_scenario(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.profile", "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    cells = [line.split() for line in done.stdout.splitlines()]
    rows = {cell[0]: cell[1:] for cell in cells if cell and cell[0] in SCENARIOS}
    assert set(rows) == set(SCENARIOS), done.stdout
    for scenario, (b1, b2, ce, _, _, job, jobs_per_ack) in rows.items():
        assert float(b1) > 0 and float(b2) > 0 and float(ce) > 0, scenario
        # help is answered in the ack; the others hand a job to the worker, and a status change queues
        # its announcement too
        assert float(jobs_per_ack) == {"help": 0.0, "toggle": 2.0}.get(scenario, 1.0), (scenario, done.stdout)

    def profile(name: str) -> str:
        return (tmp_path / f"{name}.txt").read_text()

    # each profile holds the code path it is named after, not a bare ack or an empty run
    assert "bot/slack/commands.py" in profile("ack-help")
    assert "hand_over" in profile("ack-list") and "hand_over" in profile("ack-toggle")
    assert "bot/slack/approval.py" in profile("ack-approve")
    assert "submit_ids" in profile("ack-submit")
    assert "show_list" in profile("jobs-list")
    assert "disable_clicked" in profile("jobs-toggle") or "enable_clicked" in profile("jobs-toggle")
    assert "announce_status" in profile("jobs-toggle")
    assert "announce_decision" in profile("jobs-approve")
    assert "send_template" in profile("jobs-submit")
