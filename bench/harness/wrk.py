"""One wrk run with CPU accounting of the server, the database and wrk itself."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import procs
from .env import BENCH

LUA = BENCH / "lua"
CONNECTIONS = 64
TIMEOUT = "2s"


@dataclass(frozen=True)
class Load:
    duration: int
    warmup: int
    wrk_cpu: str
    """CPU list for ``taskset`` ('' = not pinned)."""
    rows: int


def _wrk(
    load: Load, seconds: int, scenario: str, port: int, extra_env: dict[str, str]
) -> dict[str, float]:
    """wrk's numbers (its CPU time shows in ``os.times()`` children once it is reaped)."""
    argv = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        f"--timeout={TIMEOUT}",
        "--latency",
        "-s",
        str(LUA / f"{scenario}.lua"),
        f"http://127.0.0.1:{port}",
    ]
    if load.wrk_cpu:
        argv = ["taskset", "-c", load.wrk_cpu, *argv]
    env = {**os.environ, "BENCH_ROWS": str(load.rows), **extra_env}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()[-2000:]}")
    for line in out.decode().splitlines():
        if line.startswith("BENCH_JSON "):
            numbers: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
            return numbers
    raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{out.decode()[-2000:]}")


SETTLE_BUSY = 0.1
"""Below this share of one core, the server and database are idle again."""
SETTLE_MAX = 90.0


def settle(pids: Callable[[], Sequence[int]]) -> float:
    """Wait until the server and database have worked off the last run's backlog (a slow
    database can still be answering requests wrk gave up on); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_MAX:
        before = procs.cpu_ticks(pids())
        time.sleep(0.5)
        if (procs.cpu_ticks(pids()) - before) / procs.TICK < SETTLE_BUSY * 0.5:
            break
    return time.monotonic() - started


def measure(
    load: Load,
    scenario: str,
    port: int,
    server_pid: int,
    db_pids: Callable[[], Sequence[int]],
    extra_env: dict[str, str],
    probe: Callable[[], dict[str, float]] | None = None,
) -> dict[str, float]:
    """Warm up, then one measured run: throughput, latency, errors, CPU per request.

    ``probe`` returns cumulative counters (CPU µs of a helper process, bytes received...):
    the result has each one's growth during the measured run per request."""
    waited = settle(lambda: [*procs.tree(server_pid), *db_pids()])
    if load.warmup:
        _wrk(load, load.warmup, scenario, port, extra_env)
    server = procs.tree(server_pid)
    database = list(db_pids())
    before = (
        procs.cpu_ticks(server),
        procs.cpu_ticks(database),
        procs.machine_busy_ticks(),
        os.times(),
    )
    probed = probe() if probe else {}
    result = _wrk(load, load.duration, scenario, port, extra_env)
    server = procs.tree(server_pid)
    database = sorted(set(database) | set(db_pids()))
    after = (
        procs.cpu_ticks(server),
        procs.cpu_ticks(database),
        procs.machine_busy_ticks(),
        os.times(),
    )
    requests = max(int(result["requests"]), 1)
    extra = {k: (v - probed[k]) / requests for k, v in (probe() if probe else {}).items()}
    tick_us = 1e6 / procs.TICK
    wrk_s = (after[3].children_user + after[3].children_system) - (
        before[3].children_user + before[3].children_system
    )
    server_us = (after[0] - before[0]) * tick_us / requests
    db_us = (after[1] - before[1]) * tick_us / requests
    machine_us = (after[2] - before[2]) * tick_us / requests
    wrk_us = wrk_s * 1e6 / requests
    errors = sum(
        int(result[k])
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return {
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "requests": result["requests"],
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        "errors": errors,
        "non_2xx": result["status_errors"],
        "timeouts": result["timeouts"],
        "socket_errors": errors - result["status_errors"] - result["timeouts"],
        "server_cpu_us": server_us,
        "db_cpu_us": db_us,
        "wrk_cpu_us": wrk_us,
        "other_cpu_us": max(machine_us - server_us - db_us - wrk_us, 0.0),
        "settle_s": waited,
        # wrk counts a timeout only when the late response arrives: no response at all
        # within the run shows as 0 requests and 0 errors.
        "stalled": 1.0 if result["requests"] == 0 else 0.0,
        **extra,
    }
