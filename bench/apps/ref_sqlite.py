"""Reference on the stdlib sqlite3 module, the way a careful hand-written service uses it.

Reads run inline on the event loop (a page-cache hit costs microseconds, less than a hop
to a thread). Writes wait for their fsync (WAL, ``synchronous=FULL``), so they run on a
second connection in one dedicated thread, which also serializes them. Timestamps are
stored in their wire form.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ref_common import COLUMNS, POST_COLUMNS, USER_COLUMNS, Row, build, wire_time

SELECT = ", ".join(COLUMNS)
GET = f"SELECT {SELECT}, _version FROM items WHERE id = ?"
# SQLite's LIKE folds ASCII case; GLOB is its case-sensitive match.
LIST = f"SELECT {SELECT} FROM items WHERE name GLOB ? ORDER BY price DESC, id LIMIT ?"
INSERT = (
    "INSERT INTO items (name, description, price, created_at, updated_at, _version) "
    f"VALUES (?, ?, ?, ?, ?, 1) RETURNING {SELECT}, _version"
)
SINGLE = (*COLUMNS, "_version")
POSTS = f"SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE id > ? ORDER BY id LIMIT ?"
USERS = f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE id IN "


def glob_prefix(prefix: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in prefix) + "*"


def _path(url: str) -> str:
    return url.partition("://")[2][1:]  # sqlite:////abs/path -> /abs/path


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _rows(conn: sqlite3.Connection, sql: str, args: Any, keys: tuple[str, ...]) -> list[Row]:
    return [dict(zip(keys, v, strict=True)) for v in conn.execute(sql, args)]


class SqliteStore:
    def __init__(self, url: str) -> None:
        self.path = _path(url)
        self.reader: sqlite3.Connection | None = None
        self.writer: sqlite3.Connection | None = None
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="ref-sqlite-writer")
        self.updates: dict[tuple[str, ...], str] = {}

    async def connect(self) -> None:
        self.reader = _connect(self.path)
        self.writer = _connect(self.path)

    async def close(self) -> None:
        self.thread.shutdown()
        for conn in (self.reader, self.writer):
            if conn is not None:
                conn.close()

    async def _write(self, sql: str, args: Any) -> list[Row]:
        assert self.writer is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, _rows, self.writer, sql, args, SINGLE)

    async def get(self, item_id: int) -> Row | None:
        assert self.reader is not None
        rows = _rows(self.reader, GET, (item_id,), SINGLE)
        return rows[0] if rows else None

    async def list(self, prefix: str, limit: int) -> list[Row]:
        assert self.reader is not None
        return _rows(self.reader, LIST, (glob_prefix(prefix), limit), COLUMNS)

    async def create(self, values: Row) -> Row:
        args = [values["name"], values["description"], values["price"]]
        args += [wire_time(values["created_at"]), wire_time(values["updated_at"])]
        return (await self._write(INSERT, args))[0]

    async def update(self, item_id: int, values: Row) -> Row | None:
        keys = tuple(values)
        sql = self.updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = ?" for k in keys)
            sql = (
                f"UPDATE items SET {sets}, _version = _version + 1 WHERE id = ? "
                f"RETURNING {SELECT}, _version"
            )
            self.updates[keys] = sql
        args = [wire_time(v) if k == "updated_at" else v for k, v in values.items()]
        rows = await self._write(sql, [*args, item_id])
        return rows[0] if rows else None

    async def posts(self, after: int, limit: int) -> list[Row]:
        assert self.reader is not None
        return _rows(self.reader, POSTS, (after, limit), POST_COLUMNS)

    async def users(self, ids: list[int]) -> list[Row]:
        assert self.reader is not None
        sql = USERS + "(" + ", ".join("?" * len(ids)) + ")"
        rows = _rows(self.reader, sql, ids, USER_COLUMNS)
        for row in rows:
            row["is_active"] = bool(row["is_active"])
        return rows


app = build(SqliteStore(os.environ["BENCH_URL"]))
