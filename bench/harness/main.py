"""Orchestration: per backend, load the data, verify the reference, run the rounds."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import configs, dbs, load, otlp, procs, report, verify, wrk
from .env import CRUDROUTER_VENV, VENV

BACKENDS = ("sqlite", "postgres", "postgres-replica", "mysql", "mongo")
LOGS = Path(tempfile.gettempdir()) / "omnicrud-bench-logs" / str(os.getpid())
DURATION, WARMUP = 5, 2
"""Seconds per run by default: what fits a full run into ~40 minutes on 2 cores."""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--configs", default="", help="subset, e.g. reference,omnicrud (default all)")
    p.add_argument("--scenarios", default="", help="subset of get_one,list,patch,post")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=DURATION, help="measured seconds per run")
    p.add_argument("--warmup", type=int, default=WARMUP, help="warm-up seconds per run")
    p.add_argument(
        "--every-round",
        action="store_true",
        help="run hello, the peers and the auth configs in every round too (default: round 1)",
    )
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--wrk-cpu", default="1", help="CPU list to pin wrk to ('' = none)")
    p.add_argument("--quick", action="store_true", help="1 round, 1 s warm-up + 4 s: a smoke run")
    p.add_argument(
        "--profile",
        nargs="?",
        const="get_one",
        default="",
        metavar="SCENARIOS",
        help="also profile omnicrud and the reference with py-spy on these scenarios "
        "(default get_one; results/profile-*.txt)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 4, 1
    return args


_receiver: otlp.Receiver | None = None


def receiver() -> otlp.Receiver:
    """The OTLP receiver of the omnicrud-trace config, started once per run."""
    global _receiver
    if _receiver is None:
        _receiver = otlp.Receiver()
    return _receiver


def _env(config: configs.Config, db: dbs.Database) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OMNICRUD_", "BENCH_", "OTEL_"))
    }
    env.update(BENCH_BACKEND=db.name, BENCH_URL=db.url, DATABASE_URL=db.url)
    env["OMNICRUD_POOL_SIZE"] = str(config.pool)
    env["OMNICRUD_CURSOR_SECRET"] = configs.CURSOR_SECRET
    env.update(config.lua_env)
    env.update(config.env)
    if config.otlp:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver().url
    if config.replica:
        env["OMNICRUD_READ_URLS"] = db.read_url
    return env


def probe_for(config: configs.Config, db: dbs.Database) -> Callable[[], dict[str, float]] | None:
    """What else to count during a run: the OTLP receiver's traffic, the DB CPU split."""
    if config.otlp:
        return receiver().stats
    from .cluster import PostgresReplica

    return db.split if isinstance(db, PostgresReplica) else None


def with_api_key(config: configs.Config, db: dbs.Database) -> configs.Config:
    """``config`` sending a fresh API key (made by ``omnicrud keys create``), when it asks."""
    if not config.api_key:
        return config
    omnicrud = str(config.venv / "bin" / "omnicrud")
    name = f"bench-{time.time_ns()}"
    made = subprocess.run(
        [omnicrud, "keys", "create", "--name", name, "--scopes", "items:read"],
        env=_env(config, db),
        capture_output=True,
        text=True,
        check=True,
    )
    lua_env = {**config.lua_env, "BENCH_AUTHORIZATION": f"Bearer {made.stdout.strip()}"}
    return dataclasses.replace(config, lua_env=lua_env, api_key=False)


def start(config: configs.Config, db: dbs.Database, ready: str | None = None) -> procs.Server:
    LOGS.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    server = procs.Server(
        config.name,
        config.argv(port),
        _env(config, db),
        port,
        LOGS / f"{db.name}-{config.name}.log",
    )
    server.wait_ready(ready or config.ready_path)
    return server


def load_data(db: dbs.Database, rows: int) -> None:
    db.prepare()
    omnicrud = next(c for c in configs.configs_for(db.name) if c.name == "omnicrud")
    server = start(omnicrud, db, ready="/livez")
    try:
        started = time.monotonic()
        load.post_all(server.port, rows)
        load.post_related(server.port)
        print(f"  loaded {rows:,} items through omnicrud in {time.monotonic() - started:.1f} s")
    finally:
        server.stop()
    db.analyze()


def verify_reference(db: dbs.Database, cfgs: list[configs.Config], rows: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if not {"reference", "omnicrud"} <= {c.name for c in cfgs}:
        return {}
    for config in cfgs:
        if config.name in ("reference", "omnicrud"):
            server = start(config, db)
            try:
                found[config.name] = verify.samples(server.port)
            finally:
                server.stop()
    db.trim(rows)
    if len(found) < 2:
        return {}
    diffs = verify.differences(found["reference"], found["omnicrud"])
    return {"differences": diffs, "samples": found}


def run_backend(args: argparse.Namespace, backend: str, load_opts: wrk.Load) -> dict[str, Any]:
    print(f"== {backend}", flush=True)
    db = dbs.open_database(backend)
    try:
        cfgs = configs.configs_for(backend)
        if args.configs:
            wanted = set(args.configs.split(","))
            cfgs = [c for c in cfgs if c.name in wanted]
        load_data(db, args.rows)
        verification = verify_reference(db, cfgs, args.rows)
        for line in verification.get("differences", []):
            print(f"  DIFF {line}")
        runs: dict[str, dict[str, list[dict[str, float]]]] = {}
        for round_no in range(1, args.rounds + 1):
            for config in map(lambda c: with_api_key(c, db), cfgs):
                if config.once and round_no > 1 and not args.every_round:
                    continue
                scenarios = [
                    s
                    for s in config.scenarios
                    if not args.scenarios or s == "hello" or s in args.scenarios.split(",")
                ]
                if not scenarios:
                    continue
                server = start(config, db)
                try:
                    for scenario in scenarios:
                        result = wrk.measure(
                            load_opts,
                            scenario,
                            server.port,
                            server.pid,
                            db.pids,
                            config.lua_env,
                            probe_for(config, db),
                        )
                        runs.setdefault(config.name, {}).setdefault(scenario, []).append(result)
                        print(
                            f"  round {round_no} {config.name:19} {scenario:11} "
                            f"{result['rps']:8,.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                            f"p99 {result['p99_ms']:7.2f} ms  errors {result['errors']:.0f}  "
                            f"CPU µs/req server {result['server_cpu_us']:.0f} "
                            f"db {result['db_cpu_us']:.0f}",
                            flush=True,
                        )
                finally:
                    server.stop()
                if any(s in ("post", "patch") for s in scenarios):
                    db.trim(args.rows)
        summary = {
            name: {s: report.summarize(r) for s, r in by_scenario.items()}
            for name, by_scenario in runs.items()
        }
        ratio = report.ratios(summary)
        variant = report.variants(summary)
        notes = [f"{c.name} {s}: {why}" for c in cfgs for s, why in c.notes.items()] + [
            f"{peer}: cannot run: {why}"
            for peer, why in configs.MISSING_PEERS.get(backend, {}).items()
        ]
        data = {
            "backend": backend,
            "database_version": db.version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "hardware": hardware(),
            "versions": versions(),
            "load": {
                "wrk": wrk_version(),
                "connections": wrk.CONNECTIONS,
                "timeout": wrk.TIMEOUT,
                "threads": 1,
                "warmup": args.warmup,
                "duration": args.duration,
                "rounds": args.rounds,
                "once_only": not args.every_round,
                "wrk_cpu": args.wrk_cpu,
                "rows": args.rows,
            },
            "summary": summary,
            "ratios": ratio,
            "variants": variant,
            "targets": report.targets(backend, summary, ratio, variant),
            "notes": notes,
            "verification": verification,
            "runs": runs,
        }
        if args.profile:
            data["profiles"] = profiles(db, cfgs, args.profile.split(","), load_opts)
            db.trim(args.rows)
        return data
    finally:
        db.close()


def profiles(
    db: dbs.Database, cfgs: list[configs.Config], scenarios: list[str], load_opts: wrk.Load
) -> dict[str, dict[str, Any]]:
    """py-spy of omnicrud and the reference on each scenario both run here: where each
    one's event-loop time goes, side by side."""
    from . import profiling

    out: dict[str, dict[str, Any]] = {}
    for config in cfgs:
        if config.name not in ("reference", "omnicrud"):
            continue
        for scenario in (s for s in scenarios if s in config.scenarios):
            server = start(config, db)
            try:
                found = profiling.record(server, db.name, config, scenario, load_opts)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print(f"  profile of {config.name} {scenario} failed: {exc}")
                found = {"error": str(exc)[:2000]}
            finally:
                server.stop()
            out.setdefault(scenario, {})[config.name] = found
    return out


def hardware() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
    }


VERSIONED = (
    "omnicrud",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic-core",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "sqlalchemy",
    "asyncpg",
    "aiomysql",
    "aiosqlite",
    "pymongo",
    "fastcrud",
    "secantusdb",
)
CRUDROUTER_VERSIONED = ("fastapi-crudrouter", "fastapi", "pydantic", "databases", "sqlalchemy")


def _versions_in(python: Path, names: Sequence[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        f"for n in {list(names)!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    import json

    text = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    found: dict[str, str] = json.loads(text.stdout)
    return found


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    found.update(_versions_in(VENV / "bin" / "python", VERSIONED))
    commit = subprocess.run(
        ["git", "-C", str(VENV.parent.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if commit:
        found["omnicrud"] += f" (git {commit}, working tree)"
    crud = _versions_in(CRUDROUTER_VENV / "bin" / "python", CRUDROUTER_VERSIONED)
    found.update({f"crudrouter venv: {k}": v for k, v in crud.items()})
    return found


def wrk_version() -> str:
    text = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return text.split()[1] if text else "?"


SETUP_S = {"postgres-replica": 60.0, "mongo": 40.0}
"""Seconds before a backend's first run (load the data, verify; a cluster to start)."""
PER_SERVER_S, PER_RUN_S = 3.0, 1.5
"""A server's start and stop; a run's settling and wrk start-up."""


def estimate(args: argparse.Namespace) -> float:
    """Seconds the run should take on an otherwise idle 2-core machine."""
    total = 0.0
    for backend in args.backends.split(","):
        cfgs = configs.configs_for(backend) if backend in BACKENDS else []
        if args.configs:
            cfgs = [c for c in cfgs if c.name in args.configs.split(",")]
        total += SETUP_S.get(backend, 25.0)
        for round_no in range(1, args.rounds + 1):
            for config in cfgs:
                if config.once and round_no > 1 and not args.every_round:
                    continue
                runs = [
                    s
                    for s in config.scenarios
                    if not args.scenarios or s == "hello" or s in args.scenarios.split(",")
                ]
                if runs:
                    total += PER_SERVER_S + len(runs) * (args.warmup + args.duration + PER_RUN_S)
    return total


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    load_opts = wrk.Load(args.duration, args.warmup, args.wrk_cpu, args.rows)
    began = time.monotonic()
    print(f"bench: estimated {estimate(args) / 60:.0f} min on an idle 2-core machine", flush=True)
    summaries = []
    try:
        for backend in args.backends.split(","):
            if backend not in BACKENDS:
                sys.exit(f"bench: unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
            data = run_backend(args, backend, load_opts)
            path = report.write_json(backend, data)
            print(f"  wrote {path}")
            summaries.append(data)
    finally:
        if _receiver is not None:
            _receiver.close()
    print(f"bench: took {(time.monotonic() - began) / 60:.1f} min", flush=True)
    readme = report.write_markdown()
    print(f"\nwrote {readme}\n")
    for data in summaries:
        print("\n".join(report.compact(data)))
        for check in data["targets"]:
            if not check["met"]:
                print(f"  target missed: {check['what']} (got {check['value']})")
    return 0
