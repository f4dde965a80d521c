"""Figures from the raw cells: aggregation, the noise level, the targets, the one table."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from bench.load import percentile

B1, B2, B2X, CE, CEBG = "baseline1", "baseline2", "baseline2-again", "ce-bot", "ce-bot+bg"
# figure -> the aggregate's key it is the ratio of
FIGURES = {"p50": "p50_ms", "p99": "p99_ms", "rps": "rps", "cpu": "cpu_ms_per_req"}
_MISSING = {key: math.nan for key in FIGURES.values()}  # a server not measured: every ratio to it is nan


def aggregate(cells: list[dict]) -> dict:
    """(phase, server, scenario, clients) -> pooled figures over the rounds."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for cell in cells:
        groups[(cell["phase"], cell["server"], cell["scenario"], cell["clients"])].append(cell)
    out = {}
    for key, group in groups.items():
        latencies = sorted(ns for cell in group for ns in cell["latencies_ns"])
        requests = sum(cell["requests"] for cell in group)
        cpu = sum(cell["cpu_s"] for cell in group)
        redis_cpu = [cell["redis_cpu_s"] for cell in group if cell.get("redis_cpu_s") is not None]
        worker_cpu = [cell["worker_cpu_s"] for cell in group if cell.get("worker_cpu_s") is not None]
        out[key] = {
            "rounds": len(group),
            "requests": requests,
            "p50_ms": percentile(latencies, 50) / 1e6,
            "p99_ms": percentile(latencies, 99) / 1e6,
            "max_ms": latencies[-1] / 1e6 if latencies else math.nan,
            "rps": statistics.median(cell["requests"] / cell["wall_s"] for cell in group),
            "rps_rounds": [round(cell["requests"] / cell["wall_s"], 1) for cell in group],
            "cpu_ms_per_req": cpu * 1000 / requests if requests else math.nan,
            "redis_cpu_ms_per_req": sum(redis_cpu) * 1000 / requests if redis_cpu else None,
            # ce-bot's worker process: the jobs a request caused after its ack (not the ack server's CPU)
            "worker_cpu_ms_per_req": sum(worker_cpu) * 1000 / requests if worker_cpu else None,
            "errors": sum(cell["errors"] for cell in group),
        }
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def _ratios(label: str, a: dict, b: dict, figures=tuple(FIGURES)) -> dict[str, float]:
    """`a`'s figures over `b`'s, keyed "{label} {figure}" (just the figure when `label` is empty)."""
    return {f"{label} {f}" if label else f: _ratio(a[FIGURES[f]], b[FIGURES[f]]) for f in figures}


def noise_level(agg: dict, scenarios, clients) -> dict:
    """A baseline against itself: b2' / b2 per cell, and the largest deviation from 1 per figure."""
    per_cell = []
    for scenario in scenarios:
        for n in clients:
            a, b = agg.get(("A", B2X, scenario, n)), agg.get(("A", B2, scenario, n))
            if a and b:
                per_cell.append({"scenario": scenario, "clients": n, **_ratios("", a, b)})
    level = {}
    for figure in FIGURES:
        deviations = [abs(c[figure] - 1) for c in per_cell if not math.isnan(c[figure])]
        level[figure] = max(deviations) if deviations else math.nan
        level[figure + "_median"] = statistics.median(deviations) if deviations else math.nan
    return {"cells": per_cell, "level": level}


def rows(agg: dict, scenarios, clients) -> list[dict]:
    out = []
    for scenario in scenarios:
        for n in clients:
            ce, b1, b2 = (agg.get(("A", s, scenario, n)) for s in (CE, B1, B2))
            bg, ce_b = agg.get(("B", CEBG, scenario, n)), agg.get(("B", CE, scenario, n))
            if not ce:
                continue
            b2 = b2 or dict(_MISSING)
            row = {
                "scenario": scenario, "clients": n,
                "b1": b1, "b2": b2, "ce": ce, "ce_in_B": ce_b, "ce_bg": bg,
                **_ratios("ce/b2", ce, b2),
                **_ratios("ce/b1", ce, b1 or _MISSING, ("p50", "p99", "rps")),
                **_ratios("b1/b2", b1 or _MISSING, b2, ("p50",)),
            }
            if bg and ce_b:
                row.update(_ratios("bg/ce", bg, ce_b, ("p50", "p99", "rps")))
            out.append(row)
    return out


def _f(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def table(table_rows: list[dict], skipped: dict[str, str]) -> str:
    head = (
        f"{'scenario':<8} {'N':>3} | {'b1 p50/p99':>11} | {'b2 p50/p99':>11} | {'ce p50/p99':>11} | "
        f"{'ce/b2 p50':>9} {'p99':>5} {'rps':>5} | {'ce/b1 p50':>9} {'p99':>5} {'rps':>5} | "
        f"{'cpu ms/req b2':>13} {'ce':>5} {'x':>5} {'wk':>5} | {'+bg/ce p50':>10} {'p99':>5} {'rps':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in table_rows:
        b1, b2, ce = r["b1"] or {}, r["b2"], r["ce"]
        lines.append(
            f"{r['scenario']:<8} {r['clients']:>3} | "
            f"{_f(b1.get('p50_ms')):>5}/{_f(b1.get('p99_ms')):<5} | {_f(b2['p50_ms']):>5}/{_f(b2['p99_ms']):<5} | "
            f"{_f(ce['p50_ms']):>5}/{_f(ce['p99_ms']):<5} | "
            f"{_f(r['ce/b2 p50']):>9} {_f(r['ce/b2 p99']):>5} {_f(r['ce/b2 rps']):>5} | "
            f"{_f(r['ce/b1 p50']):>9} {_f(r['ce/b1 p99']):>5} {_f(r['ce/b1 rps']):>5} | "
            f"{_f(b2['cpu_ms_per_req'], 3):>13} {_f(ce['cpu_ms_per_req'], 3):>5} {_f(r['ce/b2 cpu']):>5} "
            f"{_f(ce.get('worker_cpu_ms_per_req'), 3):>5} | "
            f"{_f(r.get('bg/ce p50')):>10} {_f(r.get('bg/ce p99')):>5} {_f(r.get('bg/ce rps')):>5}"
        )
    for scenario, why in skipped.items():
        lines.append(f"{scenario:<8}   - | skipped: {why}")
    return "\n".join(lines)


def _beyond_noise(r: dict, label: str, tol: dict) -> list[str]:
    """The figures of ratio `label` ("ce/b1", "bg/ce") worse than 1 by more than the noise."""
    out = [f"{f} ×{r[f'{label} {f}']:.2f}" for f in ("p50", "p99") if r[f"{label} {f}"] > 1 + tol[f]]
    if r[f"{label} rps"] < 1 - tol["rps"]:
        out.append(f"rps ×{r[f'{label} rps']:.2f}")
    return out


def targets(table_rows, noise, trips, extras, skipped, *, list_check: dict | None = None) -> list[dict]:
    """Each target of issue 6 with the measured value and whether ce-bot meets it."""
    lv = noise["level"]
    tol = {k: (0.0 if math.isnan(lv.get(k, math.nan)) else lv[k]) for k in ("p50", "p99", "rps")}
    out = []

    def add(name, value, limit, met, note=""):
        out.append({"target": name, "value": value, "limit": limit, "met": bool(met), "note": note})

    for r in table_rows:
        where = f"{r['scenario']} N={r['clients']}"
        if r["clients"] == 1:
            add(f"ack p50 ≤ 2× baseline 2 ({where})", round(r["ce/b2 p50"], 2), 2.0, r["ce/b2 p50"] <= 2.0)
        if r["clients"] == 16:
            add(f"ack p99 ≤ 2× baseline 2 ({where})", round(r["ce/b2 p99"], 2), 2.0, r["ce/b2 p99"] <= 2.0)
            add(f"throughput ≥ ½ baseline 2 ({where})", round(r["ce/b2 rps"], 2), 0.5, r["ce/b2 rps"] >= 0.5)
        worse = _beyond_noise(r, "ce/b1", tol)
        add(f"never worse than baseline 1, beyond noise ({where})", "; ".join(worse) or "ok",
            f"noise p50 ±{tol['p50']:.0%} p99 ±{tol['p99']:.0%} rps ±{tol['rps']:.0%}", not worse)
        add(f"CPU/request ≤ 2× baseline 2 ({where})", round(r["ce/b2 cpu"], 2), 2.0, r["ce/b2 cpu"] <= 2.0)
        if "bg/ce p50" in r:
            changed = _beyond_noise(r, "bg/ce", tol)
            add(f"unchanged while 100 slow validations run ({where})", "; ".join(changed) or "ok",
                "within noise", not changed)
    for path, info in trips.items():
        if info.get("typical") is not None:
            add(f"Redis round trips on the ack path: {path}", info["typical"], 2, info["typical"] <= 2,
                f"worst seen {info['max']}: a new pool connection's handshake" if info["max"] > info["typical"] else "")
    for path, info in extras.get("redis_round_trips_after_idle", {}).items():
        add(f"Redis round trips on the ack path after {info['idle_s']} s idle: {path}", info["round_trips"], 2,
            0 <= info["round_trips"] <= 2, " ".join(info["commands"]))
    if "cold_start" in extras:
        value = extras["cold_start"]["ce_median_s"]
        add("cold start to /healthz 200 (embedded Redis)", round(value, 3), 1.5, value <= 1.5)
    if "rss" in extras:
        for name, value in extras["rss"].items():
            if name.startswith("ce"):
                add(f"RSS after load ({name})", round(value, 1), 150, value <= 150)
    if "list" in skipped:
        add("/ce list with 1,000 organizations paginated, acked within the same bounds", "not measured", "-", False,
            skipped["list"])
    elif list_check is not None:
        add("/ce list with 1,000 organizations: answer paginated (≤ 50 blocks, says there is more)",
            list_check.get("summary"), "paginated", list_check.get("paginated", False))
    return out
