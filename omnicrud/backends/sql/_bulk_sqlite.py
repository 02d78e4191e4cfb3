"""SQLite bulk load: ``executemany`` in one ``BEGIN IMMEDIATE`` transaction per batch on the
writer thread; ``sqlite_sequence`` raised past the highest copied id."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row

from ._bulk import BulkSql
from ._sqlite import SqliteStorage


class SqliteBulk(BulkSql, SqliteStorage):
    async def load_rows(self, res: Resource, rows: Sequence[Row]) -> None:
        conn = self._writing()
        sql = self.insert_sql(res)
        args = self.insert_args(res, rows)

        def work() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, args)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._in_writer(work)

    async def probe(self, res: Resource, row: Row) -> BaseException | None:
        conn = self._writing()
        sql = self.insert_sql(res)
        (args,) = self.insert_args(res, [row])

        def work() -> BaseException | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(sql, args)
            except (sqlite3.Error, OverflowError, ValueError, TypeError) as exc:
                return exc
            finally:
                conn.execute("ROLLBACK")
            return None

        return await self._in_writer(work)

    async def reserve_past(self, res: Resource, id: int) -> None:
        conn = self._writing()

        def work() -> None:
            # AUTOINCREMENT already keeps the largest id ever inserted; this covers a table
            # whose row was never inserted here (and is a no-op otherwise).
            conn.execute("BEGIN IMMEDIATE")
            try:
                changed = conn.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?",
                    (id, res.name, id),
                ).rowcount
                present = conn.execute(
                    "SELECT 1 FROM sqlite_sequence WHERE name = ?", (res.name,)
                ).fetchone()
                if not changed and present is None:
                    conn.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (res.name, id)
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._in_writer(work)
