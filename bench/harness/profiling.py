"""py-spy on a server while wrk drives one scenario: the top functions and packages."""

from __future__ import annotations

import re
import subprocess
import threading
from collections import Counter
from typing import Any

from . import procs, wrk
from .configs import Config
from .env import VENV
from .report import RESULTS

_LINE = re.compile(r":\d+\)$")


def _function(frame: str) -> str:
    """``handle (starlette/routing.py:123)`` -> ``handle (starlette/routing.py)``."""
    frame = _LINE.sub(")", frame.strip())
    return re.sub(r"\(/.*?/site-packages/", "(", frame).replace("(/work/main/", "(")


def _package(function: str) -> str:
    """``handle (starlette/routing.py)`` -> ``starlette``; stdlib modules -> ``python``."""
    where = function.rpartition("(")[2].rstrip(")")
    if "/" not in where:
        return "python"
    top = where.split("/")[0]
    return "python" if top in ("asyncio", "concurrent", "json", "<frozen os>") else top


def summarize(raw: str, top: int = 25) -> dict[str, Any]:
    """Shares of the event-loop thread's samples. Other threads (FastAPI's thread pool for
    sync dependencies, driver threads: stacks rooted in ``Thread._bootstrap``) are counted
    apart: ``other_threads_pct``. Sampling without pausing the process (``--nonblocking``)
    yields some stacks cut short at the root; their leaf is still right. A leaf
    ``Runner.run`` is time inside uvloop's C code (I/O, callbacks, waiting)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    samples = others = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        if frames[0].startswith("Thread._bootstrap "):
            others += count
            continue
        samples += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for name in set(frames):
            total[name] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / max(samples, 1), 1)] for name, n in counter.most_common(top)]

    return {
        "samples": samples,
        "other_threads_pct": round(100 * others / max(samples + others, 1), 1),
        "self_pct": share(own),
        "self_by_package_pct": share(packages),
        "total_pct": share(total),
    }


def record(
    server: procs.Server, backend: str, config: Config, scenario: str, load: wrk.Load
) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    raw_path = RESULTS / f"profile-{backend}-{config.name}-{scenario}.txt"
    seconds = max(load.duration, 5)
    spy = [
        str(VENV / "bin" / "py-spy"),
        "record",
        "--pid",
        str(server.pid),
        "--duration",
        str(seconds),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(raw_path),
        "--nonblocking",
    ]
    result: dict[str, Any] = {}

    def drive() -> None:
        result.update(wrk.measure(load, scenario, server.port, server.pid, list, config.lua_env))

    driver = threading.Thread(target=drive)
    driver.start()
    subprocess.run(spy, check=True, capture_output=True)
    driver.join()
    summary = summarize(raw_path.read_text())
    summary["run"] = result
    summary["raw"] = str(raw_path.relative_to(RESULTS.parent.parent))
    return summary
