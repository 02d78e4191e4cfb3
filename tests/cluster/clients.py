"""Small synchronous client helpers for the cluster tests: asyncpg run to completion for
PostgreSQL, PyMySQL (the pure-Python driver aiomysql wraps) for MariaDB."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pymysql  # type: ignore[import-untyped]

from tests.cluster.galera import GaleraNode


def pg_fetchval(url: str, sql: str, *args: Any) -> Any:
    """The first column of the first row of ``sql`` run on ``url`` (one short connection)."""

    async def go() -> Any:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return await conn.fetchval(sql, *args, timeout=10)
        finally:
            await conn.close()

    return asyncio.run(go())


def pg_execute(url: str, sql: str, *args: Any) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql, *args, timeout=10)
        finally:
            await conn.close()

    asyncio.run(go())


def my_connect(node: GaleraNode, *, autocommit: bool = True) -> Any:
    """A PyMySQL connection to ``node`` as root on database ``test``."""
    return pymysql.connect(
        host="127.0.0.1",
        port=node.port,
        user="root",
        database="test",
        autocommit=autocommit,
        connect_timeout=5,
        read_timeout=30,
        write_timeout=30,
    )


def my_all(conn: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, args or None)
        return list(cur.fetchall())


def my_one(conn: Any, sql: str, *args: Any) -> Any:
    rows = my_all(conn, sql, *args)
    return rows[0][0] if rows else None


def my_error_code(exc: BaseException) -> int | None:
    """The MySQL error number of a PyMySQL error (1213, 1047, ...)."""
    if isinstance(exc, pymysql.MySQLError) and exc.args:
        code = exc.args[0]
        return code if isinstance(code, int) else None
    return None


MySQLError: type[Exception] = pymysql.MySQLError
