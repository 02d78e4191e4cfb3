"""Real ``omnicrud`` processes: the CLI run as a subprocess, and ``omnicrud serve`` servers on
the session's fresh database (started, waited for via /readyz, stopped at the end)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.secantus import free_port

START_TIMEOUT = 60.0
OMNICRUD = str(Path(sys.executable).with_name("omnicrud"))
# Small pools: requests must queue for connections, and a database server shared with other
# sessions (max_connections 100 on PostgreSQL by default) is not exhausted by our two servers.
POOL_SIZE = 8


def cli_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without any omnicrud setting, plus ``DATABASE_URL``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OMNICRUD_") and k not in ("DATABASE_URL", "MONGO_URL")
    }
    env["DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


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


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def launch(database_url: str, workdir: Path, *extra: str) -> Server:
    """Start ``omnicrud serve`` on a free port in its own process group (not waited for)."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [OMNICRUD, "serve", "--port", str(port), "--no-access-log", *extra],
            env=cli_env(database_url, {"OMNICRUD_POOL_SIZE": str(POOL_SIZE)}),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", proc, log)


def wait_ready(server: Server, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"omnicrud serve exited ({server.proc.returncode}):\n{server.output()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"omnicrud serve not ready after {timeout}s:\n{server.output()}")


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two service processes on the one fresh database (bundled example resources)."""
    workdir = tmp_path_factory.mktemp("serve")
    started = [launch(database_url, workdir) for _ in range(2)]
    try:
        for server in started:
            wait_ready(server)
        yield started
    finally:
        for server in started:
            server.stop()
