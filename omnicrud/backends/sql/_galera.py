"""MariaDB specifics for clusters: Galera readiness, certification-conflict retries, GTID
positions for read-your-writes, and MariaDB replicas for ``_replicas.ReplicaSet``.

On Galera a conflicting write on another node is found at commit (certification) and
answered with 1213 (deadlock): the transaction was rolled back, so running it again is safe.
A GTID position is ``domain-server-seq`` (several, comma-separated); a server has applied a
position when, for each of its domains, it has reached that sequence number.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiomysql

from omnicrud.core.errors import Unavailable

from ._replicas import Probe
from ._statements import Plan

T = TypeVar("T")

CERTIFICATION_ATTEMPTS = 4
DEADLOCK = 1213
_STATE = (
    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE_COMMENT')"
)
POSITIONS = "SELECT @@gtid_binlog_pos, @@gtid_slave_pos"


async def is_galera(conn: aiomysql.Connection) -> bool:
    async with conn.cursor() as cur:
        await cur.execute("SHOW VARIABLES LIKE 'wsrep_on'")
        row = await cur.fetchone()
    return row is not None and str(row[1]).upper() == "ON"


async def check_synced(conn: aiomysql.Connection) -> None:
    """Unavailable unless this Galera node is ready and Synced (a node cut off from the
    primary component still answers ``SELECT VERSION()``, but refuses every query)."""
    async with conn.cursor() as cur:
        await cur.execute(_STATE)
        state = {str(k).upper(): str(v) for k, v in await cur.fetchall()}
    if state.get("WSREP_READY") != "ON" or state.get("WSREP_LOCAL_STATE_COMMENT") != "Synced":
        comment = state.get("WSREP_LOCAL_STATE_COMMENT", "unknown")
        raise Unavailable(f"the Galera node is not synced ({comment})")


def _code(exc: BaseException) -> int:
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0


async def certified(op: Callable[[], Awaitable[T]]) -> T:
    """``op()`` again after a certification conflict (or an InnoDB deadlock), a few times
    with a short random pause; the last conflict propagates (503)."""
    for attempt in range(CERTIFICATION_ATTEMPTS - 1):
        try:
            return await op()
        except Exception as exc:
            if _code(exc) != DEADLOCK:
                raise
        await asyncio.sleep(random.uniform(0.002, 0.02) * (attempt + 1))
    return await op()


async def last_gtid(conn: aiomysql.Connection) -> str | None:
    """The GTID of this session's last commit (MariaDB with binary logging), else None."""
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT @@last_gtid")
            row = await cur.fetchone()
    except Exception:
        return None
    return str(row[0]) if row and row[0] else None


def parse(position: str | None) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in (position or "").split(","):
        bits = part.strip().split("-")
        if len(bits) == 3 and all(b.isdigit() for b in bits):
            domain, seq = int(bits[0]), int(bits[2])
            out[domain] = max(seq, out.get(domain, -1))
    return out


def render(position: dict[int, int]) -> str:
    return ",".join(f"{d}-0-{s}" for d, s in sorted(position.items()))


class MariadbReplicas:
    """Replicas by asynchronous replication (``SHOW SLAVE STATUS``) or other Galera nodes."""

    def __init__(
        self,
        pool_args: Callable[[str], dict[str, Any]],
        primary: Callable[[], aiomysql.Pool | None],
    ) -> None:
        self._pool_args = pool_args
        self._primary = primary

    async def open(self, url: str) -> aiomysql.Pool:
        pool: aiomysql.Pool = await aiomysql.create_pool(**self._pool_args(url))
        return pool

    async def close(self, pool: aiomysql.Pool) -> None:
        pool.terminate()

    async def _positions(self, conn: aiomysql.Connection) -> str:
        async with conn.cursor() as cur:
            await cur.execute(POSITIONS)
            binlog, slave = await cur.fetchone()
        merged = parse(binlog)
        for domain, seq in parse(slave).items():
            merged[domain] = max(seq, merged.get(domain, -1))
        return render(merged)

    async def probe(self, pool: aiomysql.Pool) -> Probe:
        async with pool.acquire() as conn:
            if await is_galera(conn):
                await check_synced(conn)
                return Probe(await self._positions(conn), True, 0.0)
            async with conn.cursor(aiomysql.DictCursor) as cur:
                await cur.execute("SHOW SLAVE STATUS")
                status = await cur.fetchone()
            applied = await self._positions(conn)
        if not status or status.get("Slave_SQL_Running") != "Yes":
            raise RuntimeError("replication is not running")
        behind = status.get("Seconds_Behind_Master")
        caught_up = behind == 0
        return Probe(applied, caught_up, math.inf if behind is None else float(behind))

    async def primary_position(self) -> str | None:
        pool = self._primary()
        if pool is None:
            return None
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT @@gtid_binlog_pos")
            (position,) = await cur.fetchone()
        return render(parse(position))

    def reached(self, applied: str | None, position: str) -> bool:
        have = parse(applied)
        return all(have.get(d, -1) >= s for d, s in parse(position).items())

    def later(self, a: str | None, b: str) -> str:
        merged = parse(a)
        for domain, seq in parse(b).items():
            merged[domain] = max(seq, merged.get(domain, -1))
        return render(merged)

    async def fetch(self, pool: aiomysql.Pool, plan: Plan, args: Sequence[Any]) -> list[Any]:
        async with pool.acquire() as conn:
            cur = await conn.cursor()
            await cur.execute(plan.sql, plan.params(args))
            rows: list[Any] = await cur.fetchall()
            return rows
