"""MySQL/MariaDB bulk load: ``executemany`` of one INSERT, which PyMySQL rewrites into
multi-row INSERTs (up to ~1 MB each), in one transaction per batch; ``AUTO_INCREMENT``
raised past the highest copied id."""

from __future__ import annotations

from collections.abc import Sequence

import pymysql  # type: ignore[import-untyped]

from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row

from ._bulk import BulkSql
from ._mysql import MysqlStorage, _rollback


class MysqlBulk(BulkSql, MysqlStorage):
    async def load_rows(self, res: Resource, rows: Sequence[Row]) -> None:
        sql = self.insert_sql(res)
        args = self.insert_args(res, rows)
        async with self._conn() as conn, conn.cursor() as cur:
            await conn.begin()
            try:
                await cur.executemany(sql, args)
                await conn.commit()
            except BaseException:
                await _rollback(conn)
                raise

    async def probe(self, res: Resource, row: Row) -> BaseException | None:
        sql = self.insert_sql(res)
        (args,) = self.insert_args(res, [row])
        async with self._conn() as conn, conn.cursor() as cur:
            await conn.begin()
            try:
                await cur.execute(sql, args)
            except (pymysql.MySQLError, ValueError, TypeError) as exc:
                return exc
            finally:
                await _rollback(conn)
        return None

    async def reserve_past(self, res: Resource, id: int) -> None:
        async with self._conn() as conn, conn.cursor() as cur:
            await cur.execute(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                (res.name,),
            )
            found = await cur.fetchone()
            current = int(found[0]) if found and found[0] is not None else 1
            if current <= id:  # only ever forward: a lower value would reuse deleted ids
                await cur.execute(f"ALTER TABLE `{res.name}` AUTO_INCREMENT = {int(id) + 1}")
