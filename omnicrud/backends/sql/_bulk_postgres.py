"""PostgreSQL bulk load: binary ``COPY`` through asyncpg's ``copy_records_to_table`` (one
statement per batch, so a batch commits whole or not at all); the id sequence moved with
``setval``."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row

from ._bulk import BulkSql, raw_columns
from ._postgres import PostgresStorage


class _Rollback(Exception):
    """Leaves a probe's transaction without committing."""


class PostgresBulk(BulkSql, PostgresStorage):
    async def load_rows(self, res: Resource, rows: Sequence[Row]) -> None:
        columns = raw_columns(res)
        records = [tuple(row[c] for c in columns) for row in rows]
        async with self._call() as conn:
            await conn.copy_records_to_table(res.name, records=records, columns=list(columns))

    async def probe(self, res: Resource, row: Row) -> BaseException | None:
        columns = raw_columns(res)
        async with self._call() as conn:
            try:
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        res.name, records=[tuple(row[c] for c in columns)], columns=list(columns)
                    )
                    raise _Rollback()
            except _Rollback:
                return None
            except (asyncpg.PostgresError, ValueError, TypeError, OverflowError) as exc:
                return exc

    async def reserve_past(self, res: Resource, id: int) -> None:
        async with self._call() as conn:
            sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", res.name)
            if sequence is None:
                return
            # setval only ever moves forward here: ids are never reused.
            await conn.execute(
                "SELECT setval($1::regclass, $2) WHERE $2 > "
                "(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                f"FROM {sequence})",
                sequence,
                id,
            )
