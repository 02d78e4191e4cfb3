"""Fault tests start private database servers and real omnicrud processes: they run only in
the ``faults`` tox env (``OMNICRUD_FAULT_TESTS=1``), never in the per-backend envs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.servers import SERVERS, DbServer
from tests.processes import Server, cli_env, launch

if not os.environ.get("OMNICRUD_FAULT_TESTS"):
    collect_ignore_glob = ["test_*.py"]

TIMEOUTS = {
    "OMNICRUD_QUERY_TIMEOUT": "1",
    "OMNICRUD_POOL_TIMEOUT": "1",
    "OMNICRUD_CONNECT_TIMEOUT": "1",
}
"""Short waits, so that a fault shows within a second or two."""


@pytest.fixture(params=sorted(SERVERS))
def db(request: pytest.FixtureRequest) -> Iterator[DbServer]:
    """A private, started database server of each kind."""
    server = SERVERS[request.param]()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """Start ``omnicrud serve`` on a URL with the short timeouts (not waited for)."""
    started: list[Server] = []

    def start(url: str) -> Server:
        workdir = tmp_path / f"omnicrud-{len(started)}"
        workdir.mkdir()
        server = launch(url, workdir, env=cli_env(url, TIMEOUTS))
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
