"""Schemathesis 4 against a real ``omnicrud serve`` on the session's backend.

All checks, every phase including the stateful one, a fixed seed and a bounded example count,
so a run is reproducible and fits CI. A failure prints schemathesis's report, whose
``curl`` lines reproduce each finding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import Server, launch, wait_ready
from tests.provision import configured_url, provision

ST = str(Path(sys.executable).with_name("st"))
HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis.toml"
"""412 is an expected answer to a schema-valid write (a tag that names another version)."""
HOOKS = HERE / "st_hooks.py"
"""Positive cases send no generated ``cursor`` (only the server can make a valid one)."""
SEED = os.environ.get("OMNICRUD_SCHEMATHESIS_SEED", "1")
EXAMPLES = os.environ.get("OMNICRUD_SCHEMATHESIS_EXAMPLES", "25")
BUDGET = float(os.environ.get("OMNICRUD_SCHEMATHESIS_BUDGET", "90"))
"""Seconds one backend's run may take (measured ~40 s on SQLite on an idle 2-CPU machine)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    with provision(configured_url(), workdir) as url:
        served = launch(url, workdir)
        try:
            wait_ready(served)
            yield served
        finally:
            served.stop()


def test_schemathesis_finds_nothing(server: Server, tmp_path: Path) -> None:
    began = time.monotonic()
    try:
        result = run_st(server, tmp_path)
    except subprocess.TimeoutExpired as exc:
        partial = _text(exc.stdout)[-20000:] + _text(exc.stderr)[-5000:]
        pytest.fail(f"schemathesis still running after {exc.timeout:.0f}s:\n{partial}")
    took = time.monotonic() - began
    report = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, report
    phases = "\n".join(line for line in result.stdout.splitlines() if " (in " in line)
    print(f"schemathesis took {took:.0f}s:\n{phases}")  # shown with pytest -rA / -s
    assert took < BUDGET, f"schemathesis took {took:.0f}s (budget {BUDGET:.0f}s):\n{phases}"


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run_st(server: Server, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ST,
            f"--config-file={CONFIG}",
            "run",
            f"{server.url}/openapi.json",
            "--checks=all",
            "--phases=examples,coverage,fuzzing,stateful",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=2",
            "--generation-database=none",
            "--no-color",
            "--request-timeout=20",
            f"--report-dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # schemathesis writes .schemathesis/ into its working directory
        timeout=BUDGET * 3,
        check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
    )
