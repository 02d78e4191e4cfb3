"""Start a throwaway SecantusDB (MongoDB-wire-compatible) server for tests.

`url, stop = start_secantus()` returns a `mongodb://127.0.0.1:PORT/?retryWrites=false` URL and a
callable that kills the server's process group and removes its storage. When env `MONGO_URL` is
set, that server is used instead and `stop` does nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import pymongo
import pymongo.errors

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(url: str, timeout: float) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
    finally:
        client.close()


def start_secantus() -> tuple[str, Callable[[], None]]:
    external = os.environ.get("MONGO_URL")
    if external:
        return external, lambda: None

    port = free_port()
    storage = tempfile.mkdtemp(prefix="secantus-")
    log = open(os.path.join(storage, "server.log"), "wb")  # noqa: SIM115 - closed in stop()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            os.path.join(storage, "data"),
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )

    def stop() -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        shutil.rmtree(storage, ignore_errors=True)

    def fail(reason: str) -> RuntimeError:
        log.flush()
        with open(os.path.join(storage, "server.log"), "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        stop()
        return RuntimeError(f"SecantusDB {reason}; log tail:\n{tail}")

    url = f"mongodb://127.0.0.1:{port}/?retryWrites=false"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise fail(f"exited with code {proc.returncode} at start-up")
        try:
            _ping(url, 0.5)
            return url, stop
        except pymongo.errors.PyMongoError:
            if time.monotonic() > deadline:
                raise fail(f"did not answer ping within {START_TIMEOUT}s") from None
            time.sleep(0.1)
