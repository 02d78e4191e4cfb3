"""Reference on raw aiomysql (autocommit, one pooled connection per request)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql
from ref_common import COLUMNS, POST_COLUMNS, USER_COLUMNS, Row, build, like_prefix, wire_time

SELECT = ", ".join(COLUMNS)
GET = f"SELECT {SELECT}, _version FROM items WHERE id = %s"
LIST = f"SELECT {SELECT} FROM items WHERE name LIKE %s ORDER BY price DESC, id LIMIT %s"
INSERT = (
    "INSERT INTO items (name, description, price, created_at, updated_at, _version) "
    f"VALUES (%s, %s, %s, %s, %s, 1) RETURNING {SELECT}, _version"
)
SINGLE = (*COLUMNS, "_version")
POSTS = f"SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE id > %s ORDER BY id LIMIT %s"
USERS = f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE id IN "


def _row(values: tuple[Any, ...], keys: tuple[str, ...] = SINGLE) -> Row:
    row = dict(zip(keys, values, strict=True))
    row["created_at"] = wire_time(row["created_at"])
    row["updated_at"] = wire_time(row["updated_at"])
    return row


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if hasattr(value, "tzinfo") else value


class MysqlStore:
    def __init__(self, url: str) -> None:
        self.url = urlsplit(url)
        self.pool: Any = None
        self.updates: dict[tuple[str, ...], str] = {}

    async def connect(self) -> None:
        u = self.url
        self.pool = await aiomysql.create_pool(
            host=u.hostname or "127.0.0.1",
            port=u.port or 3306,
            user=unquote(u.username or "root"),
            password=unquote(u.password or ""),
            db=u.path.lstrip("/"),
            minsize=4,
            maxsize=int(os.environ.get("BENCH_POOL", "64")),
            autocommit=True,
            charset="utf8mb4",
            init_command="SET time_zone = '+00:00'",
        )

    async def close(self) -> None:
        self.pool.close()
        await self.pool.wait_closed()

    async def _one(self, sql: str, args: Any) -> tuple[Any, ...] | None:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(sql, args)
            result: tuple[Any, ...] | None = await cur.fetchone()
            return result

    async def get(self, item_id: int) -> Row | None:
        values = await self._one(GET, (item_id,))
        return None if values is None else _row(values)

    async def list(self, prefix: str, limit: int) -> list[Row]:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(LIST, (like_prefix(prefix), limit))
            return [_row(v, COLUMNS) for v in await cur.fetchall()]

    async def create(self, values: Row) -> Row:
        args = [_naive(values[k]) for k in ("name", "description", "price")]
        args += [_naive(values["created_at"]), _naive(values["updated_at"])]
        row = await self._one(INSERT, args)
        assert row is not None
        return _row(row)

    async def update(self, item_id: int, values: Row) -> Row | None:
        keys = tuple(values)
        sql = self.updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = %s" for k in keys)
            sql = f"UPDATE items SET {sets}, _version = _version + 1 WHERE id = %s"
            self.updates[keys] = sql
        # MariaDB has no UPDATE ... RETURNING: update, then read back on the same connection.
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(sql, [*(_naive(v) for v in values.values()), item_id])
            if cur.rowcount == 0:
                return None
            await cur.execute(GET, (item_id,))
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def posts(self, after: int, limit: int) -> list[Row]:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(POSTS, (after, limit))
            return [_row(v, POST_COLUMNS) for v in await cur.fetchall()]

    async def users(self, ids: list[int]) -> list[Row]:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(USERS + "(" + ", ".join(["%s"] * len(ids)) + ")", ids)
            rows = [_row(v, USER_COLUMNS) for v in await cur.fetchall()]
        for row in rows:
            row["is_active"] = bool(row["is_active"])
        return rows


app = build(MysqlStore(os.environ["BENCH_URL"]))
