"""The Omnicrud-Consistency position of PostgreSQL writes: one probe per batch of writes
under concurrency, never one read before the write's commit record (found in the WAL with
pg_walinspect)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from omnicrud.backends.sql._pg_replicas import lsn
from omnicrud.backends.sql._postgres import PostgresStorage
from omnicrud.core import consistency
from omnicrud.core.values import now
from omnicrud.example import resources as example_resources
from tests.backends.sql_support import Env, open_env

items = example_resources[0]
WRITERS = 64


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with ExitStack() as stack:
        found = open_env("postgresql", tmp_path_factory.mktemp("pg"), stack)
        if isinstance(found, str):
            pytest.fail(found)
        yield found


def _row(i: int) -> dict[str, object]:
    stamp = now()
    return {"name": f"p{i}", "description": None, "price": 1.0, "created_at": stamp,
            "updated_at": stamp}  # fmt: skip


async def _current(storage: PostgresStorage) -> int:
    assert storage.pool is not None
    return lsn(await storage.pool.fetchval("SELECT pg_current_wal_lsn()::text"))


async def _write(storage: PostgresStorage, id: int, step: int) -> tuple[int, int, int]:
    """The position a write answered, the primary's position before it began, the row."""
    session = consistency.Session(read_only=False)
    token = consistency.begin(session)
    try:
        before = await _current(storage)
        values = {"price": float(step), "updated_at": now()}
        if step % 3 == 0:
            id = (await storage.create(items, [_row(id)]))[0]["id"]
        else:
            await storage.update(items, id, values, None)
    finally:
        consistency.end(token)
    assert session.written is not None
    return lsn(session.written), before, id


async def _commit_ends(storage: PostgresStorage, ids: list[int], since: int) -> dict[int, int]:
    """Row id -> end of the WAL commit record of the transaction that last wrote it."""
    assert storage.pool is not None
    async with storage.pool.acquire() as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        rows = await conn.fetch(
            "SELECT i.id, w.end_lsn::text FROM items i"
            " JOIN pg_get_wal_records_info($2::pg_lsn, pg_current_wal_lsn()) w"
            " ON w.xid = i.xmin::text::xid AND w.record_type = 'COMMIT'"
            " WHERE i.id = ANY($1::bigint[])",
            ids,
            since,
        )
    return {row[0]: lsn(row[1]) for row in rows}


def test_concurrent_writes_share_position_probes(pg: Env) -> None:
    storage = pg.storage
    assert isinstance(storage, PostgresStorage)
    created = pg.run(storage.create(items, [_row(i) for i in range(WRITERS)]))
    ids = [row["id"] for row in created]

    async def burst() -> list[tuple[int, int, int]]:
        return list(await asyncio.gather(*(_write(storage, id, n) for n, id in enumerate(ids))))

    probes = storage.positions.probes
    results = pg.run(burst())
    shared = storage.positions.probes - probes
    assert 0 < shared < WRITERS // 2, shared
    ends = pg.run(_commit_ends(storage, [id for *_, id in results], min(b for _, b, _ in results)))
    assert len(ends) == WRITERS
    for position, _, id in results:
        assert position >= ends[id], (id, position, ends[id])


def test_a_lone_write_reads_its_position_on_its_connection(pg: Env) -> None:
    storage = pg.storage
    assert isinstance(storage, PostgresStorage)
    (row,) = pg.run(storage.create(items, [_row(-1)]))
    probes = storage.positions.probes
    position, before, id = pg.run(_write(storage, row["id"], 1))
    assert position >= pg.run(_commit_ends(storage, [id], before))[id]
    assert storage.positions.probes == probes


def test_no_position_outside_a_request(pg: Env) -> None:
    storage = pg.storage
    assert isinstance(storage, PostgresStorage)
    probes = storage.positions.probes
    assert consistency.current() is None
    pg.run(storage.create(items, [_row(-2)]))
    assert storage.positions.probes == probes
