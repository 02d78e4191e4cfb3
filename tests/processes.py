"""Real ``omnicrud`` processes for tests: the environment they get, ``serve`` started on a
free port in its own process group, waited for via /readyz, and stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.secantus import free_port

START_TIMEOUT = 60.0
OMNICRUD = str(Path(sys.executable).with_name("omnicrud"))


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


def launch(
    database_url: str, workdir: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Server:
    """Start ``omnicrud serve`` on a free port in its own process group (not waited for);
    ``env`` defaults to ``cli_env(database_url)``."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [OMNICRUD, "serve", "--port", str(port), "--no-access-log", *extra],
            env=dict(env) if env is not None else cli_env(database_url),
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
