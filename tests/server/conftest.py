"""Real ``omnicrud`` processes: the CLI run as a subprocess, and ``omnicrud serve`` servers on
the session's fresh database (started, waited for via /readyz, stopped at the end)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import OMNICRUD, START_TIMEOUT, Server, cli_env, launch, wait_ready

__all__ = ["OMNICRUD", "START_TIMEOUT", "Server", "cli_env", "launch", "wait_ready"]

# Small pools: requests must queue for connections, and a database server shared with other
# sessions (max_connections 100 on PostgreSQL by default) is not exhausted by our two servers.
POOL_SIZE = 8


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.strip()]


def run_cli(args: list[str], database_url: str, cwd: Path, timeout: float = 60.0) -> Run:
    """``omnicrud ARGS`` run to completion (in ``cwd``, so no stray .env file is read)."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [OMNICRUD, *args],
        env=cli_env(database_url),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(
            f"omnicrud {' '.join(args)} still running after {timeout}s:\n"
            f"{out.decode(errors='replace')}{err.decode(errors='replace')}"
        ) from None
    return Run(
        proc.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        time.monotonic() - began,
    )


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two service processes on the one fresh database (bundled example resources)."""
    workdir = tmp_path_factory.mktemp("serve")
    pool = {"OMNICRUD_POOL_SIZE": str(POOL_SIZE)}
    started = [launch(database_url, workdir, env=cli_env(database_url, pool)) for _ in range(2)]
    try:
        for server in started:
            wait_ready(server)
        yield started
    finally:
        for server in started:
            server.stop()
