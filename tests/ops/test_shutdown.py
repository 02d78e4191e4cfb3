"""CONTRACT §10 SIGTERM: /readyz turns 503 at once, the 32 requests in flight (writes) all
finish 2xx, new connections are refused, the process exits 0.

The requests are held deterministically, and ``omnicrud_http_requests_in_flight`` says when
all 32 are waiting: inside the database, where another connection holds the table's write
lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``LOCK TABLE``, MySQL ``LOCK TABLES ...
WRITE``; MongoDB has no such lock), and on every backend before it, with the bodies held
back half sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
import httpx
import pymysql  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.registry import split_scheme
from tests.provision import _without_driver

from .support import Server, access_lines, serving
from .test_metrics import scrape

pytestmark = pytest.mark.server
IN_FLIGHT = 32


@contextlib.contextmanager
def table_lock(database_url: str) -> Iterator[Callable[[], None]]:
    """Hold the write lock on ``items``; yields the function that releases it."""
    scheme = split_scheme(database_url)[0]
    if scheme == "sqlite":
        holder = sqlite3.connect(database_url.partition(":///")[2], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        def commit() -> None:
            holder.execute("COMMIT")

        try:
            yield commit
        finally:
            holder.close()
    elif scheme in ("postgresql", "postgres"):
        loop = asyncio.new_event_loop()
        conn = loop.run_until_complete(asyncpg.connect(_without_driver(database_url)))
        loop.run_until_complete(conn.execute("BEGIN; LOCK TABLE items IN EXCLUSIVE MODE"))
        try:
            yield lambda: loop.run_until_complete(conn.execute("COMMIT")) and None
        finally:
            loop.run_until_complete(conn.close())
            loop.close()
    elif scheme in ("mysql", "mariadb"):
        parts = urlsplit(_without_driver(database_url))
        holder = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
            autocommit=True,
        )
        holder.cursor().execute("LOCK TABLES items WRITE")
        try:
            yield lambda: holder.cursor().execute("UNLOCK TABLES") and None
        finally:
            holder.close()
    else:
        pytest.skip(f"{scheme} has no table lock: the half-sent bodies test covers it")
        yield lambda: None


def wait_in_flight(server: Server, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = scrape(server.url).get("omnicrud_http_requests_in_flight", [])
        if samples and samples[0][1] >= count + 1:  # + the /metrics request itself
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} requests in flight:\n{server.output()}")


async def _post_all(url: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as client:
        calls = [
            client.post(f"{url}/items", json={"name": f"drain-{i}", "price": 1.0})
            for i in range(IN_FLIGHT)
        ]
        return await asyncio.gather(*calls)


def test_sigterm_drains_requests_in_flight(database_url: str, tmp_path: Path) -> None:
    env = {"OMNICRUD_QUERY_TIMEOUT": "60", "OMNICRUD_SHUTDOWN_TIMEOUT": "30"}
    with serving(database_url, tmp_path, env=env) as server, table_lock(database_url) as release:
        loop = asyncio.new_event_loop()
        posts = loop.create_task(_post_all(server.url))
        loop.run_until_complete(asyncio.sleep(0.2))

        async def until_in_flight() -> None:
            await asyncio.to_thread(wait_in_flight, server, IN_FLIGHT)

        loop.run_until_complete(until_in_flight())
        os.kill(server.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "Shutting down" not in server.output() and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.05))
        assert "/readyz answers 503" in server.output()
        with pytest.raises(httpx.ConnectError):  # new connections are refused
            httpx.get(f"{server.url}/readyz", timeout=2)
        release()
        responses = loop.run_until_complete(posts)
        loop.close()
        assert [r.status_code for r in responses] == [201] * IN_FLIGHT
        assert server.proc.wait(timeout=30) == 0
    drained = [a for a in access_lines(server.output()) if a["route"] == "/items"]
    assert len(drained) == IN_FLIGHT


async def _half_sent(url: str, release: asyncio.Event) -> list[bytes]:
    """32 POSTs whose body stops half way until ``release``: the status line of each."""
    host, _, port = url.removeprefix("http://").partition(":")

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection(host, int(port))
        body = f'{{"name": "half-{i}-{time.time_ns()}", "price": 1.0}}'.encode()
        head = (
            f"POST /items HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        writer.write(head + body[:10])
        await writer.drain()
        await release.wait()
        writer.write(body[10:])
        await writer.drain()
        status = await reader.readline()
        writer.close()
        return status

    return await asyncio.gather(*(one(i) for i in range(IN_FLIGHT)))


def test_sigterm_finishes_requests_still_sending_their_body(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, env={"OMNICRUD_SHUTDOWN_TIMEOUT": "30"}) as server:
        loop = asyncio.new_event_loop()
        release = asyncio.Event()
        posts = loop.create_task(_half_sent(server.url, release))
        loop.run_until_complete(asyncio.sleep(0.2))
        loop.run_until_complete(asyncio.to_thread(wait_in_flight, server, IN_FLIGHT))
        os.kill(server.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "Shutting down" not in server.output() and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.05))
        with pytest.raises(httpx.ConnectError):  # new connections are refused
            httpx.get(f"{server.url}/readyz", timeout=2)
        release.set()
        statuses = loop.run_until_complete(posts)
        loop.close()
        assert statuses == [b"HTTP/1.1 201 Created\r\n"] * IN_FLIGHT
        assert server.proc.wait(timeout=30) == 0


def test_readyz_is_503_while_draining(database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        assert client.get("/readyz").status_code == 200
        client.app.state.drain.draining = True  # type: ignore[attr-defined]
        response = client.get("/readyz", headers={"X-Request-ID": "probe-1"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == "probe-1"
        assert response.headers["retry-after"] == "5"
        assert client.get("/livez").status_code == 200
