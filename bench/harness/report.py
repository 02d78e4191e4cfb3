"""Medians over rounds, ratios, targets; results/<backend>.json and results/README.md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .env import BENCH

RESULTS = BENCH / "results"
ORDER = ("sqlite", "postgres", "mysql", "mongo")
TARGETS = {"get_one": 0.9, "list": 0.85, "post": 0.8, "patch": 0.8, "list_expand": 0.9}
"""omnicrud ÷ reference, on PostgreSQL, MariaDB and SQLite."""
PEERS = ("fastcrud", "crudrouter")


AUTHENTICATED = ("omnicrud-jwt", "omnicrud-key")
"""omnicrud GET-one with an HS256 JWT / an API key: its ratio says what auth costs."""


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One config x scenario over its rounds."""
    rps = [r["rps"] for r in runs]

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    return {
        "rounds": len(runs),
        "rps": statistics.median(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "max_ms": max(r["max_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "timeouts": sum(r["timeouts"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "server_cpu_us": median("server_cpu_us"),
        "db_cpu_us": median("db_cpu_us"),
        "wrk_cpu_us": median("wrk_cpu_us"),
        "other_cpu_us": median("other_cpu_us"),
        "stalled_rounds": sum(int(r.get("stalled", 0)) for r in runs),
    }


def ratios(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """scenario -> {"reference": omnicrud/reference, "<peer>": omnicrud/peer}."""
    found: dict[str, dict[str, float]] = {}
    for scenario, omni in summary.get("omnicrud", {}).items():
        for other in ("reference", *PEERS, *AUTHENTICATED):
            theirs = summary.get(other, {}).get(scenario)
            if theirs and theirs["rps"] > 0:
                found.setdefault(scenario, {})[other] = omni["rps"] / theirs["rps"]
    return found


def targets(backend: str, summary: dict[str, Any], ratio: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, as information: nothing is gated on them."""
    checks: list[dict[str, Any]] = []
    if backend != "mongo":
        for scenario, least in TARGETS.items():
            value = ratio.get(scenario, {}).get("reference")
            if value is not None:
                checks.append(
                    {
                        "what": f"{scenario} ≥ {least} x reference",
                        "value": round(value, 4),
                        "met": value >= least,
                    }
                )
        value = ratio.get("get_one", {}).get("fastcrud")
        if value is not None:
            checks.append(
                {"what": "get_one ≥ 2 x FastCRUD", "value": round(value, 3), "met": value >= 2}
            )
    for config in AUTHENTICATED:
        value = ratio.get("get_one", {}).get(config)
        if value:
            checks.append(
                {
                    "what": f"get_one {config} ≥ 0.9 x omnicrud without auth",
                    "value": round(1 / value, 3),
                    "met": 1 / value >= 0.9,
                }
            )
    omni = summary.get("omnicrud", {})
    if omni.get("list_expand") and omni.get("list_posts", {}).get("rps"):
        value = omni["list_expand"]["rps"] / omni["list_posts"]["rps"]
        checks.append(
            {
                "what": "list_expand ≥ 0.75 x omnicrud's own list_posts",
                "value": round(value, 4),
                "met": value >= 0.75,
            }
        )
    for scenario, s in summary.get("omnicrud", {}).items():
        # No latency recorded (every request timed out) is a miss, not a ratio of 0.
        spread = round(s["p99_ms"] / s["p50_ms"], 2) if s["p50_ms"] else None
        checks.append(
            {
                "what": f"{scenario} p99 ≤ 3 x p50",
                "value": spread,
                "met": spread is not None and spread <= 3,
            }
        )
        checks.append(
            {
                "what": f"{scenario} no socket timeouts",
                "value": s["timeouts"],
                "met": s["timeouts"] == 0 and not s["stalled_rounds"],
            }
        )
    return checks


def write_json(backend: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{backend}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def _fmt_rps(s: dict[str, Any]) -> str:
    if s["rounds"] == 1:
        return f"{s['rps']:,.0f}"
    return f"{s['rps']:,.0f} ({s['rps_min']:,.0f}-{s['rps_max']:,.0f})"


def table(data: dict[str, Any]) -> list[str]:
    summary, ratio = data["summary"], data["ratios"]
    lines = [
        "| scenario | server | req/s median (min-max) | p50 ms | p99 ms | errors "
        "| server CPU µs/req | DB CPU µs/req | other CPU µs/req | omnicrud ÷ this |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    scenarios = ("hello", "get_one", "list", "list_posts", "list_expand", "patch", "post")
    for scenario in scenarios:
        for config, by_scenario in summary.items():
            s = by_scenario.get(scenario)
            if s is None:
                continue
            versus = ratio.get(scenario, {}).get(config)
            errors = f"{s['errors']}" + (f" ({s['timeouts']} timeouts)" if s["timeouts"] else "")
            if s["stalled_rounds"]:
                errors += f"; no response at all in {s['stalled_rounds']} round(s)"
            lines.append(
                f"| {scenario} | {config} | {_fmt_rps(s)} | {s['p50_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {errors} | {s['server_cpu_us']:.0f} "
                f"| {s['db_cpu_us']:.0f} | {s['other_cpu_us']:.0f} "
                f"| {'' if versus is None else f'{versus:.2f}'} |"
            )
    return lines


def markdown(all_data: dict[str, dict[str, Any]]) -> str:
    out = ["# omnicrud benchmark results", ""]
    out.append(
        "Generated by `python3 bench/run.py` (see bench/README.md). Ratios compare "
        "median req/s; nothing is gated on absolute numbers."
    )
    first = next(iter(all_data.values()))
    hw, load = first["hardware"], first["load"]
    out += [
        "",
        f"- Hardware: {hw['cpu']} x {hw['nproc']} (nproc), {hw['memory']}, kernel {hw['kernel']}",
        f"- Load: wrk {load['wrk']} `-t1 -c{load['connections']} --timeout {load['timeout']}`, "
        f"{load['warmup']} s warm-up + {load['duration']} s, {load['rounds']} round(s) "
        f"interleaved, wrk pinned to CPU {load['wrk_cpu'] or '(none)'}; "
        f"{load['rows']:,} items",
        "- Servers: uvicorn, 1 worker, uvloop + httptools, access log off; pools ≥ 64",
        "",
    ]
    for backend in ORDER:
        data = all_data.get(backend)
        if data is None:
            continue
        out += [f"## {backend} — {data['database_version']}", "", *table(data), ""]
        checks = data["targets"]
        if checks:
            met = ", ".join(f"{c['what']}: {c['value']} {'✓' if c['met'] else '✗'}" for c in checks)
            out += [f"Targets (informational): {met}", ""]
        for text in data["notes"]:
            out.append(f"- {text}")
        prof = data.get("profile") or {}
        if prof.get("self_pct"):
            top = ", ".join(f"{name} {pct}%" for name, pct in prof["self_pct"][:10])
            out.append(
                f"- omnicrud GET-one under py-spy ({prof['run']['rps']:,.0f} req/s while "
                f"sampled; event-loop thread, {prof['other_threads_pct']}% of samples in "
                f"other threads): top own time: {top}"
            )
            layers = ", ".join(
                f"{name} {pct}%" for name, pct in prof.get("self_by_package_pct", [])[:8]
            )
            if layers:
                out.append(f"- Same profile, own time by package: {layers}")
        if data["verification"]:
            out.append(
                "- Reference vs omnicrud responses: "
                + (
                    "identical"
                    if not data["verification"]["differences"]
                    else "; ".join(data["verification"]["differences"])
                )
            )
        out.append("")
    out += ["## Versions", ""]
    for name, version in sorted(first["versions"].items()):
        out.append(f"- {name}: {version}")
    return "\n".join(out) + "\n"


def write_markdown() -> Path:
    all_data = {}
    for backend in ORDER:
        path = RESULTS / f"{backend}.json"
        if path.exists():
            all_data[backend] = json.loads(path.read_text())
    readme = RESULTS / "README.md"
    readme.write_text(markdown(all_data) if all_data else "# No results yet\n")
    return readme


def compact(data: dict[str, Any]) -> list[str]:
    """A few lines for the terminal."""
    lines = [f"{data['backend']} ({data['database_version']}):"]
    for scenario, by_other in data["ratios"].items():
        omni = data["summary"]["omnicrud"][scenario]
        parts = ", ".join(f"÷{k} {v:.2f}" for k, v in by_other.items())
        lines.append(
            f"  {scenario:8} omnicrud {omni['rps']:8,.0f} req/s  p50 {omni['p50_ms']:.1f} ms"
            f"  p99 {omni['p99_ms']:.1f} ms  {parts}"
        )
    hello = data["summary"].get("hello", {}).get("hello")
    if hello:
        lines.append(f"  hello    {hello['rps']:8,.0f} req/s (framework ceiling)")
    return lines
