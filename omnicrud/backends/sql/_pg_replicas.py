"""PostgreSQL streaming replicas for ``_replicas.ReplicaSet``: positions are WAL LSNs
(``X/Y`` text, compared as 64-bit integers)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from omnicrud.config import Settings

from ._replicas import Probe
from ._statements import Plan

_PROBE = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "pg_last_wal_receive_lsn()::text, "
    "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
)
POSITION = "SELECT pg_current_wal_lsn()::text"
"""The primary's position; right after a commit, on its connection: that commit's end."""


def lsn(text: str | None) -> int:
    if not text:
        return -1
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        return -1


class PgReplicas:
    def __init__(
        self,
        settings: Settings,
        primary: Callable[[], asyncpg.Pool | None],
        server_settings: dict[str, str],
    ) -> None:
        self.settings = settings
        self._primary = primary
        self._server_settings = server_settings

    async def open(self, url: str) -> asyncpg.Pool:
        s = self.settings
        pool: asyncpg.Pool = await asyncpg.create_pool(
            "postgresql://" + url.partition("://")[2],
            min_size=1,
            max_size=s.pool_size,
            timeout=s.connect_timeout,
            command_timeout=s.query_timeout,
            statement_cache_size=1024,
            server_settings=self._server_settings,
        )
        return pool

    async def close(self, pool: asyncpg.Pool) -> None:
        pool.terminate()

    async def probe(self, pool: asyncpg.Pool) -> Probe:
        async with pool.acquire() as conn:
            recovering, replayed, received, seconds = await conn.fetchrow(_PROBE)
        if not recovering:  # promoted: a primary of its own now, not ours to read from
            raise RuntimeError("not a standby")
        caught_up = received is None or lsn(replayed) >= lsn(received)
        lag = math.inf if seconds is None else max(0.0, float(seconds))
        return Probe(replayed, caught_up, lag)

    async def primary_position(self) -> str | None:
        pool = self._primary()
        if pool is None:
            return None
        async with pool.acquire() as conn:
            position: str = await conn.fetchval(POSITION)
        return position

    def reached(self, applied: str | None, position: str) -> bool:
        return applied is not None and lsn(applied) >= lsn(position)

    def later(self, a: str | None, b: str) -> str:
        return b if a is None or lsn(b) >= lsn(a) else a

    async def fetch(self, pool: asyncpg.Pool, plan: Plan, args: Sequence[Any]) -> list[Any]:
        async with pool.acquire() as conn:
            rows: list[Any] = await conn.fetch(plan.sql, *plan.params(args))
            return rows
