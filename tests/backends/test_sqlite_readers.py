"""SQLite reads off the event loop (``_sqlite_readers``): a long read leaves the loop free and
point lookups inline, reads see this process's writes at once, a read that runs too long or
cannot start in time is Unavailable, ``stop`` ends the reader threads, ``:memory:`` stays on
one connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from omnicrud.backends.sql._base import SqlStorage
from omnicrud.backends.sql._statements import Plan
from omnicrud.core.errors import Unavailable
from omnicrud.core.query import Cond, ListQuery
from omnicrud.example import resources as example_resources
from tests.backends.sql_support import RESOURCES, open_storage
from tests.backends.test_sql_storage import stamped
from tests.schema_support import ensure_schema

items = example_resources[0]
SLOW = Plan(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c",
    (),
)
"""Runs until ``query_timeout`` interrupts it."""


def _reader_threads() -> set[threading.Thread]:
    """Reader threads alive now (other tests' storages may hold some)."""
    return {t for t in threading.enumerate() if t.name.startswith("omnicrud-sqlite-r")}


def using(url: str, work: Callable[[SqlStorage], Awaitable[None]], **settings: Any) -> SqlStorage:
    storage = open_storage(url, **settings)

    async def run() -> None:
        await storage.connect()
        try:
            await ensure_schema(storage, storage.settings, RESOURCES)
            await work(storage)
        finally:
            await storage.close()

    asyncio.run(run())
    return storage


def item(name: str) -> dict[str, Any]:
    return stamped({"name": name, "description": None, "price": 1.0})


def by_name(name: str) -> ListQuery:
    return ListQuery(Cond("name", "eq", name), (), items.readable, 10)


async def prices(storage: SqlStorage, name: str) -> list[tuple[int, float]]:
    return [(r["id"], r["price"]) for r in await storage.list(items, by_name(name))]


def test_long_read_leaves_the_loop_and_point_lookups_free(tmp_path: Path) -> None:
    async def work(storage: SqlStorage) -> None:
        (row,) = await storage.create(items, [item("p")])
        slow = asyncio.create_task(storage._read(SLOW, []))
        await asyncio.sleep(0.1)  # the slow read holds the only reader connection
        for _ in range(20):
            assert await storage.get(items, row["id"]) == row
            await asyncio.sleep(0.01)
        assert not slow.done()
        with pytest.raises(Unavailable):
            await slow  # interrupted by query_timeout: 503, never the driver's text

    using(f"sqlite:///{tmp_path}/x.db", work, pool_size=1, query_timeout=1.0)


def test_reads_see_this_process_writes_at_once(tmp_path: Path) -> None:
    async def work(storage: SqlStorage) -> None:
        for i in range(30):
            name = f"w{i}"
            (row,) = await storage.create(items, [item(name)])
            assert await prices(storage, name) == [(row["id"], 1.0)]
            assert await storage.count(items, Cond("name", "eq", name)) == 1
            await storage.update(items, row["id"], {"price": 2.0}, None)
            assert await prices(storage, name) == [(row["id"], 2.0)]
            await storage.delete(items, row["id"], None)
            assert await prices(storage, name) == []

    using(f"sqlite:///{tmp_path}/x.db", work)


def test_read_that_cannot_start_in_time_is_unavailable(tmp_path: Path) -> None:
    async def work(storage: SqlStorage) -> None:
        slow = asyncio.create_task(storage._read(SLOW, []))
        await asyncio.sleep(0.05)
        with pytest.raises(Unavailable, match="no reader was free in time"):
            await storage.list(items, by_name("x"))
        with pytest.raises(Unavailable):
            await slow
        assert await storage.list(items, by_name("x")) == []

    using(f"sqlite:///{tmp_path}/x.db", work, pool_size=1, pool_timeout=0.2, query_timeout=1.0)


def test_close_ends_the_reader_threads(tmp_path: Path) -> None:
    before = _reader_threads()

    async def work(storage: SqlStorage) -> None:
        await asyncio.gather(*(storage.list(items, by_name(str(i))) for i in range(8)))
        assert _reader_threads() - before

    storage = using(f"sqlite:///{tmp_path}/x.db", work)
    assert not _reader_threads() - before
    with pytest.raises(Unavailable):
        asyncio.run(storage.list(items, by_name("x")))


def test_memory_database_reads_on_its_one_connection() -> None:
    before = _reader_threads()

    async def work(storage: SqlStorage) -> None:
        (row,) = await storage.create(items, [item("m")])
        assert await prices(storage, "m") == [(row["id"], 1.0)]
        assert await storage.count(items, None) == 1
        assert not _reader_threads() - before

    using("sqlite:///:memory:", work)
