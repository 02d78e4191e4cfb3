"""Session fixtures for the real-cluster tests (tox env ``cluster``).

``pg_cluster`` (PostgreSQL primary + 2 streaming replicas, replica 2 delayed 2 s) and
``galera_cluster`` (3 MariaDB Galera nodes) are started once per session, on free loopback
ports, and always torn down: only the processes these fixtures started are ever signalled
(the machine's own servers on 5432 / 3306 are never touched).

These tests are collected only when ``OMNICRUD_CLUSTER=1`` (the ``cluster`` tox env sets
it): a plain ``pytest`` in the other envs ignores this directory's test modules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.cluster.galera import GaleraCluster, start_galera_cluster
from tests.cluster.nodes import REPORT
from tests.cluster.postgres import PgCluster, start_pg_cluster

ENABLED = os.environ.get("OMNICRUD_CLUSTER") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]

SHARED_PORTS = {5432, 3306}
TIMINGS: list[str] = []


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_pg_cluster()
    assert not {node.port for node in cluster.nodes} & SHARED_PORTS
    TIMINGS.append(f"PostgreSQL primary + 2 replicas: started in {cluster.timings['start']:.1f}s")
    try:
        yield cluster
    finally:
        began = time.monotonic()
        cluster.close()
        TIMINGS.append(f"PostgreSQL cluster: torn down in {time.monotonic() - began:.1f}s")


@pytest.fixture(scope="session")
def galera_cluster() -> Iterator[GaleraCluster]:
    cluster = start_galera_cluster()
    assert not {node.port for node in cluster.nodes} & SHARED_PORTS
    TIMINGS.append(f"Galera 3 nodes: started in {cluster.timings['start']:.1f}s")
    try:
        yield cluster
    finally:
        began = time.monotonic()
        cluster.close()
        TIMINGS.append(f"Galera cluster: torn down in {time.monotonic() - began:.1f}s")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS or REPORT:
        terminalreporter.section("cluster timings and observations")
        for line in [*TIMINGS, *REPORT]:
            terminalreporter.write_line(line)
