"""Reference on raw asyncpg (prepared statements cached per pooled connection)."""

from __future__ import annotations

import os
from typing import Any

import asyncpg
from ref_common import COLUMNS, POST_COLUMNS, USER_COLUMNS, Row, build, like_prefix, wire_time

POOL = int(os.environ.get("BENCH_POOL", "64"))
"""Connections per process (the --workers 2 configs halve it: the same 64 in all)."""
SELECT = ", ".join(COLUMNS)
GET = f"SELECT {SELECT}, _version FROM items WHERE id = $1"
LIST = f"SELECT {SELECT} FROM items WHERE name LIKE $1 ORDER BY price DESC, id LIMIT $2"
INSERT = (
    "INSERT INTO items (name, description, price, created_at, updated_at, _version) "
    f"VALUES ($1, $2, $3, $4, $5, 1) RETURNING {SELECT}, _version"
)


POSTS = f"SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE id > $1 ORDER BY id LIMIT $2"
USERS = f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE id = ANY($1::bigint[])"


async def _keep_session(conn: Any) -> None:
    """Skip asyncpg's reset query on release (one round trip per request): the reference
    never changes session state."""


def _row(record: Any) -> Row:
    row = dict(record)
    row["created_at"] = wire_time(row["created_at"])
    row["updated_at"] = wire_time(row["updated_at"])
    return row


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None
        self.updates: dict[tuple[str, ...], str] = {}

    async def connect(self) -> None:
        self.pool = await asyncpg.create_pool(
            self.url, min_size=4, max_size=POOL, reset=_keep_session
        )

    async def close(self) -> None:
        await self.pool.close()

    async def get(self, item_id: int) -> Row | None:
        record = await self.pool.fetchrow(GET, item_id)
        return None if record is None else _row(record)

    async def list(self, prefix: str, limit: int) -> list[Row]:
        return [_row(r) for r in await self.pool.fetch(LIST, like_prefix(prefix), limit)]

    async def create(self, values: Row) -> Row:
        args = [values[k] for k in ("name", "description", "price", "created_at", "updated_at")]
        return _row(await self.pool.fetchrow(INSERT, *args))

    async def update(self, item_id: int, values: Row) -> Row | None:
        keys = tuple(values)
        sql = self.updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(keys, 1))
            sql = (
                f"UPDATE items SET {sets}, _version = _version + 1 WHERE id = ${len(keys) + 1} "
                f"RETURNING {SELECT}, _version"
            )
            self.updates[keys] = sql
        record = await self.pool.fetchrow(sql, *values.values(), item_id)
        return None if record is None else _row(record)

    async def posts(self, after: int, limit: int) -> list[Row]:
        return [_row(r) for r in await self.pool.fetch(POSTS, after, limit)]

    async def users(self, ids: list[int]) -> list[Row]:
        return [_row(r) for r in await self.pool.fetch(USERS, ids)]


app = build(PostgresStore(os.environ["BENCH_URL"]))
