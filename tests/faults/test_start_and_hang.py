"""omnicrud started before its database answers, against a database that never answers,
and SQLite's writer behind another process's write lock (§6)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.faults.servers import Blackhole, DbServer
from tests.processes import Server, wait_ready

UP_WITHIN = 20.0
"""Seconds for a started process to answer /livez (interpreter and app import included)."""


def _wait_livez(server: Server) -> None:
    deadline = time.monotonic() + UP_WITHIN
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, f"omnicrud exited:\n{server.output()}"
        try:
            if httpx.get(f"{server.url}/livez", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"/livez never answered:\n{server.output()}")


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert "retry-after" in response.headers
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def stopped_db(db: DbServer) -> DbServer:
    """A private server initialised but not running (the ``db`` fixture started it once)."""
    db.kill9()
    return db


def test_started_before_the_database(stopped_db: DbServer, serve: Callable[[str], Server]) -> None:
    server = serve(stopped_db.url)
    _wait_livez(server)
    _unavailable(httpx.get(f"{server.url}/readyz", timeout=5))
    _unavailable(httpx.get(f"{server.url}/items", timeout=10))
    stopped_db.start()
    answering = time.monotonic()
    wait_ready(server, timeout=10)
    response = httpx.post(f"{server.url}/items", json={"name": "late", "price": 1}, timeout=10)
    assert response.status_code == 201, response.text
    assert time.monotonic() - answering < 10
    assert server.proc.poll() is None


@pytest.mark.parametrize("scheme", ["postgresql", "mysql", "mongodb"])
def test_readyz_against_a_blackhole_answers_within_2s(
    scheme: str, serve: Callable[[str], Server]
) -> None:
    hole = Blackhole()
    try:
        user, query = ("", "?directConnection=true") if scheme == "mongodb" else ("root@", "")
        server = serve(f"{scheme}://{user}127.0.0.1:{hole.port}/omnicrud{query}")
        _wait_livez(server)
        began = time.monotonic()
        response = httpx.get(f"{server.url}/readyz", timeout=30)
        assert time.monotonic() - began < 2.0
        _unavailable(response)
    finally:
        hole.close()


def test_sqlite_write_behind_a_foreign_lock_is_503_and_never_runs(
    tmp_path: Path, serve: Callable[[str], Server]
) -> None:
    path = tmp_path / "locked.db"
    server = serve(f"sqlite:///{path}")
    wait_ready(server)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    results: dict[str, tuple[int, float]] = {}

    def write(name: str) -> None:
        began = time.monotonic()
        response = httpx.post(f"{server.url}/items", json={"name": name, "price": 1}, timeout=60)
        results[name] = (response.status_code, time.monotonic() - began)

    names = [f"blocked-{i}" for i in range(6)]
    threads = [threading.Thread(target=write, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
        time.sleep(0.03)
    for thread in threads:
        thread.join(timeout=60)
    held_until = time.monotonic()
    holder.execute("ROLLBACK")
    holder.close()
    time.sleep(2.0)  # a queued write that ran late would have landed by now
    for name in names:
        status, took = results[name]
        assert status == 503, (name, status, results)
        assert took < 4.0, (name, took, results)
        rows = httpx.get(f"{server.url}/items", params={"name": name}, timeout=10).json()
        assert rows["items"] == [], (name, "ran after its 503", held_until)
    assert server.proc.poll() is None
