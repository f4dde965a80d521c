"""The benchmark harness, run small (a few requests of each kind) so it cannot rot.

`make bench` runs the real thing (minutes); this runs `python -m bench --smoke`: the Slack stand-in,
baseline 1 and ce-bot in their own processes, every scenario at N = 1 and 4, the Redis round-trip
count, Redis memory per organization, results written and the table printed.
"""

from __future__ import annotations

import json

from bench.run import main


def test_bench_smoke_measures_every_scenario(tmp_path, capsys):
    out = tmp_path / "results.json"

    assert main(["--smoke", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "scenario" in printed and "targets:" in printed
    results = json.loads(out.read_text())
    cells = results["cells"]
    assert cells and all(cell["errors"] == 0 for cell in cells), [c["statuses"] for c in cells if c["errors"]]
    measured = {(cell["server"], cell["scenario"]) for cell in cells}
    for scenario in ("help", "toggle", "approve", "submit"):
        assert ("ce-bot", scenario) in measured and ("baseline1", scenario) in measured
    ce = {cell["scenario"]: cell for cell in cells if cell["server"] == "ce-bot"}
    assert any("Cloud Entitlements" in answer for answer in ce["help"]["answers"])  # the real usage text
    assert set(ce["submit"]["answers"]) == {""}  # every IDs submission accepted: the pools are sound
    assert all(cell["cpu_s"] > 0 for cell in cells)
    page = results["list_check"]  # /ce list's first page, as the response_url sink (HTTPS, as Slack's) got it
    assert page["paginated"] and page["blocks"] > 1, page

    trips = results["extras"]["redis_round_trips"]
    assert trips["IDs submission (accepted)"]["typical"] >= 1  # the transition, at least
    assert "EVALSHA" in trips["IDs submission (accepted)"]["ack_path_commands"]
    toggle = trips["Disable / Enable click"]  # handed to the worker in the ack, which sets the status
    assert toggle["typical"] == 1 and toggle["ack_path_commands"] == ["XADD"], toggle
    assert "EVALSHA" in toggle["all_commands_incl_after_ack"], toggle
    assert results["extras"]["redis_memory"]["bytes_per_org"] > 0
    assert results["targets"]
