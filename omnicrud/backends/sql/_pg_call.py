"""One PostgreSQL call: a pooled connection, waited for and used under one timer."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import asyncpg


class Call:
    """``async with Call(pool, seconds) as conn``: the wait for ``conn`` and its statements
    share one ``asyncio.timeout`` (``acquire(timeout=...)`` would add ``wait_for``, and a
    pool ``command_timeout`` a second timer per statement).

    A connection whose statement was interrupted (the timer, or a cancelled request) is
    terminated, not released: asyncpg's release would first wait for the server to confirm
    the cancellation, without any bound once the timer has fired, so a hung server would
    hang the request."""

    __slots__ = ("conn", "pool", "timer")

    def __init__(self, pool: asyncpg.Pool, seconds: float) -> None:
        self.pool = pool
        self.timer = asyncio.timeout(seconds)
        self.conn: Any = None

    async def __aenter__(self) -> Any:
        await self.timer.__aenter__()
        try:
            self.conn = await self.pool.acquire()
        except BaseException as exc:
            await self.timer.__aexit__(type(exc), exc, exc.__traceback__)  # TimeoutError
            raise
        return self.conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self.conn = self.conn, None
        if kind is not None and issubclass(kind, asyncio.CancelledError):
            conn.terminate()  # released at once; the pool opens a new one when needed
        try:
            await self.pool.release(conn)
        except BaseException as err:
            await self.timer.__aexit__(type(err), err, err.__traceback__)
            raise
        await self.timer.__aexit__(kind, exc, tb)  # our timer's cancellation -> TimeoutError


__all__ = ["Call"]
