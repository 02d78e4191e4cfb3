"""Medians over rounds, ratios, targets; results/<backend>.json and results/README.md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .env import BENCH

RESULTS = BENCH / "results"
ORDER = ("sqlite", "postgres", "postgres-replica", "mysql", "mongo")
TARGETS = {"get_one": 1.05, "list": 1.0, "post": 0.95, "patch": 0.95, "list_expand": 0.9}
"""omnicrud ÷ reference, on PostgreSQL, MariaDB and SQLite (#20; list_expand: #15)."""
PEERS = ("fastcrud", "crudrouter")


AUTHENTICATED = ("omnicrud-jwt", "omnicrud-key")
"""omnicrud GET-one with an HS256 JWT / an API key: its ratio says what auth costs."""
VARIANTS = {
    "omnicrud-jwt": ("omnicrud", 0.9),
    "omnicrud-key": ("omnicrud", 0.9),
    "omnicrud-metrics": ("omnicrud", 0.95),
    "omnicrud-trace": ("omnicrud", 0.7),
    "omnicrud-w2": ("omnicrud", None),
    "omnicrud-w2-replica": ("omnicrud-w2", None),
}
"""config -> (the config it is a variant of, least ratio of their req/s or None)."""
PAIRS = {"reference": "omnicrud", "reference-w2": "omnicrud-w2", **dict.fromkeys(PEERS, "omnicrud")}
"""contender -> the omnicrud config compared with it: "omnicrud ÷ this"."""
FIXED = {
    "rps",
    "requests",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "errors",
    "non_2xx",
    "timeouts",
    "socket_errors",
    "server_cpu_us",
    "db_cpu_us",
    "wrk_cpu_us",
    "other_cpu_us",
    "settle_s",
    "stalled",
}


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
        # what a probe counted (OTLP traffic, primary/replica CPU), per request
        **{k: median(k) for k in runs[0] if k not in FIXED},
    }


def ratios(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """scenario -> {contender: omnicrud's req/s / the contender's} (omnicrud-w2 against
    reference-w2)."""
    found: dict[str, dict[str, float]] = {}
    for other, ours in PAIRS.items():
        for scenario, theirs in summary.get(other, {}).items():
            omni = summary.get(ours, {}).get(scenario)
            if omni and theirs["rps"] > 0:
                found.setdefault(scenario, {})[other] = omni["rps"] / theirs["rps"]
    return found


def variants(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """scenario -> {variant: its req/s / its base config's} (metrics on / omnicrud...)."""
    found: dict[str, dict[str, float]] = {}
    for config, (base, _least) in VARIANTS.items():
        for scenario, theirs in summary.get(config, {}).items():
            ours = summary.get(base, {}).get(scenario)
            if ours and ours["rps"] > 0:
                found.setdefault(scenario, {})[config] = theirs["rps"] / ours["rps"]
    return found


def _check(what: str, value: float | None, met: bool) -> dict[str, Any]:
    return {"what": what, "value": value, "met": met}


def targets(
    backend: str,
    summary: dict[str, Any],
    ratio: dict[str, Any],
    variant: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The issues' targets, as information: nothing is gated on them. MongoDB's ratios are
    listed too (SecantusDB is no production server: read them as a rough guide)."""
    checks: list[dict[str, Any]] = []
    for scenario, least in TARGETS.items():
        value = ratio.get(scenario, {}).get("reference")
        if value is not None:
            what = f"{scenario} ≥ {least} x reference"
            if scenario == "get_one":
                what += " (also: tracing off costs nothing)"
            checks.append(_check(what, round(value, 3), value >= least))
    for scenario in ("get_one", "list"):
        value = ratio.get(scenario, {}).get("reference-w2")
        if value is not None:
            least = TARGETS[scenario]
            checks.append(
                _check(
                    f"{scenario} --workers 2 ≥ {least} x reference on 2 workers",
                    round(value, 3),
                    value >= least,
                )
            )
    value = ratio.get("get_one", {}).get("fastcrud")
    if value is not None:
        checks.append(_check("get_one ≥ 2 x FastCRUD", round(value, 3), value >= 2))
    for config, (base, least) in VARIANTS.items():
        value = (variant or {}).get("get_one", {}).get(config)
        if value is not None and least is not None:
            checks.append(
                _check(f"get_one {config} ≥ {least} x {base}", round(value, 3), value >= least)
            )
    omni = summary.get("omnicrud", {})
    if omni.get("list_expand") and omni.get("list_posts", {}).get("rps"):
        value = omni["list_expand"]["rps"] / omni["list_posts"]["rps"]
        checks.append(
            _check("list_expand ≥ 0.75 x omnicrud's own list_posts", round(value, 4), value >= 0.75)
        )
    for config, by_scenario in summary.items():
        if not config.startswith("omnicrud"):
            continue
        for scenario, s in by_scenario.items():
            # No latency recorded (every request timed out) is a miss, not a ratio of 0.
            spread = round(s["p99_ms"] / s["p50_ms"], 2) if s["p50_ms"] else None
            checks.append(
                _check(
                    f"{config} {scenario} p99 ≤ 3 x p50",
                    spread,
                    spread is not None and spread <= 3,
                )
            )
            checks.append(
                _check(
                    f"{config} {scenario} no socket timeouts",
                    s["timeouts"],
                    s["timeouts"] == 0 and not s["stalled_rounds"],
                )
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


def _probed(s: dict[str, Any]) -> str:
    """What a probe counted, per request: the DB CPU split, the OTLP traffic."""
    parts = []
    if "primary_cpu_us" in s:
        parts.append(f"primary {s['primary_cpu_us']:.0f} + replica {s['replica_cpu_us']:.0f}")
    if "otlp_bytes" in s:
        parts.append(
            f"OTLP {s['otlp_bytes']:.0f} B/req, 1 export per {1 / max(s['otlp_posts'], 1e-9):,.0f}"
            f" req, receiver {s['otlp_cpu_us']:.0f} µs/req"
        )
    return "; ".join(parts)


def table(data: dict[str, Any]) -> list[str]:
    summary, ratio = data["summary"], data["ratios"]
    variant = data.get("variants", {})
    lines = [
        "| scenario | server | req/s median (min-max) | p50 ms | p99 ms | p99/p50 | errors "
        "| server CPU µs/req | DB CPU µs/req | other CPU µs/req | omnicrud ÷ this "
        "| this ÷ base | also |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    scenarios = ("hello", "get_one", "list", "list_posts", "list_expand", "patch", "post")
    for scenario in scenarios:
        for config, by_scenario in summary.items():
            s = by_scenario.get(scenario)
            if s is None:
                continue
            versus = ratio.get(scenario, {}).get(config)
            if versus is not None and PAIRS.get(config, "omnicrud") != "omnicrud":
                versus_text = f"{versus:.2f} ({PAIRS[config]})"
            else:
                versus_text = "" if versus is None else f"{versus:.2f}"
            over = variant.get(scenario, {}).get(config)
            over_text = "" if over is None else f"{over:.2f} ({VARIANTS[config][0]})"
            spread = f"{s['p99_ms'] / s['p50_ms']:.1f}" if s["p50_ms"] else "-"
            errors = f"{s['errors']}" + (f" ({s['timeouts']} timeouts)" if s["timeouts"] else "")
            if s["stalled_rounds"]:
                errors += f"; no response at all in {s['stalled_rounds']} round(s)"
            lines.append(
                f"| {scenario} | {config} | {_fmt_rps(s)} | {s['p50_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {spread} | {errors} | {s['server_cpu_us']:.0f} "
                f"| {s['db_cpu_us']:.0f} | {s['other_cpu_us']:.0f} "
                f"| {versus_text} | {over_text} | {_probed(s)} |"
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
        f"{load['rows']:,} items"
        + ("; hello and the peers in round 1 only" if load.get("once_only") else ""),
        "- Servers: uvicorn, 1 worker (the -w2 configs: 2), uvloop + httptools, access log "
        "off; 64 pooled connections per server (32 per worker with 2)",
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
        out += profile_lines(data.get("profiles") or {})
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


def profile_lines(profiles: dict[str, dict[str, Any]]) -> list[str]:
    """One line per profiled scenario and server: own time by package, then top functions."""
    out = []
    for scenario, by_config in profiles.items():
        for name, prof in by_config.items():
            if not prof.get("self_pct"):
                out.append(f"- {name} {scenario} under py-spy: {prof.get('error', 'no samples')}")
                continue
            layers = ", ".join(f"{n} {pct}%" for n, pct in prof["self_by_package_pct"][:8])
            top = ", ".join(f"{n} {pct}%" for n, pct in prof["self_pct"][:8])
            out.append(
                f"- {name} {scenario} under py-spy ({prof['run']['rps']:,.0f} req/s, "
                f"{prof['run']['server_cpu_us']:.0f} server CPU µs/req while sampled; "
                f"`{prof['raw']}`): own time by package: {layers}; top functions: {top}"
            )
    return out


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
    for config, by_scenario in data["summary"].items():
        if not config.startswith("omnicrud"):
            continue
        for scenario, s in by_scenario.items():
            parts = [
                f"÷{k} {v:.2f}"
                for k, v in data["ratios"].get(scenario, {}).items()
                if PAIRS[k] == config
            ]
            over = data.get("variants", {}).get(scenario, {}).get(config)
            if over is not None:
                parts.append(f"÷{VARIANTS[config][0]} {over:.2f}")
            extra = _probed(s)
            lines.append(
                f"  {config:19} {scenario:11} {s['rps']:8,.0f} req/s  p50 {s['p50_ms']:.1f} ms"
                f"  p99 {s['p99_ms']:.1f} ms  {'  '.join(parts)}"
                + (f"  [{extra}]" if extra else "")
            )
    hello = data["summary"].get("hello", {}).get("hello")
    if hello:
        lines.append(f"  hello    {hello['rps']:8,.0f} req/s (framework ceiling)")
    return lines
