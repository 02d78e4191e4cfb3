"""PostgreSQL on asyncpg: compiled SQL run on the pool's own connections.

asyncpg prepares each statement once per connection and caches it, so a read is one
Bind/Execute round trip; there is no BEGIN/ROLLBACK around single statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import asyncpg as pg_dialect

from omnicrud.config import Settings
from omnicrud.core import consistency
from omnicrud.core.errors import OmnicrudError, Unavailable
from omnicrud.core.registry import mask_url
from omnicrud.core.resources import Resource

from ._base import Failure, Record, SqlStorage, connect_reason
from ._pg_call import Call
from ._pg_replicas import POSITION, PgReplicas
from ._positions import Positions, Waiter
from ._replicas import ReplicaSet, split_urls
from ._statements import Plan, Statements

_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    # A connection terminated mid-protocol ("cannot switch to state ..."): the pool
    # replaces it.
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
)
_UNAVAILABLE = (
    TimeoutError,  # pool acquire or command_timeout
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.TooManyConnectionsError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.ReadOnlySQLTransactionError,  # a standby, or a primary being demoted
)


def _connect_reason(exc: BaseException) -> str:
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return "authentication failed"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "the database does not exist"
    return connect_reason(exc)


def _dialect() -> pg_dialect.PGDialect_asyncpg:
    return pg_dialect.dialect()  # type: ignore[no-untyped-call]


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (``RESET ALL; UNLISTEN *; ...``),
    one round trip per request: nothing here changes session state."""


def asyncpg_dsn(url: str) -> str:
    """The URL asyncpg understands: scheme ``postgresql``, no ``+asyncpg`` suffix."""
    return "postgresql://" + url.partition("://")[2]


class PostgresStorage(SqlStorage):
    backend_name = "PostgreSQL"

    def __init__(self, url: str, settings: Settings, resources: Sequence[Resource]) -> None:
        super().__init__(resources, Statements(resources, "postgresql", _dialect()))
        self.dsn = asyncpg_dsn(url)
        self.url = mask_url(url)
        self.database_url = url
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.replicas: ReplicaSet[asyncpg.Pool] | None = None
        self.positions = Positions(self._pooled_position)

    async def connect(self) -> None:
        s = self.settings
        try:
            self.pool = await asyncpg.create_pool(
                self.dsn,
                min_size=min(2, s.pool_size),
                max_size=s.pool_size,
                timeout=s.connect_timeout,
                # No command_timeout: Call is the one client-side timer of a call;
                # statement_timeout stops slow statements on the server.
                statement_cache_size=1024,
                reset=_keep_session,
                server_settings={
                    "statement_timeout": str(int(s.query_timeout * 1000)),
                    "application_name": "omnicrud",
                },
            )
            async with Call(self.pool, self._budget()) as conn:
                icu = await conn.fetchval(
                    "SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'"
                )
        except Exception as exc:
            if self.pool is not None:
                self.pool.terminate()
                self.pool = None
            reason = _connect_reason(exc)
            raise Unavailable(f"PostgreSQL at {self.url}: {reason}") from exc
        if not icu:  # a server built without ICU: icontains folds ASCII only
            self.sql = Statements(self.resources, "postgresql", _dialect(), icu=False)
        urls = split_urls(s.read_urls)
        if urls:
            driver = PgReplicas(s, lambda: self.pool, {"application_name": "omnicrud"})
            self.replicas = ReplicaSet(driver, urls, s.max_replica_lag)
            await self.replicas.start()

    async def close(self) -> None:
        await self.positions.close()
        replicas, self.replicas = self.replicas, None
        if replicas is not None:
            await replicas.stop()
        pool, self.pool = self.pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self.settings.pool_timeout)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                pool.terminate()

    def _budget(self) -> float:
        return self.settings.pool_timeout + self.settings.query_timeout

    def _call(self) -> Call:
        """A pooled connection for one database call, under one timer (``_pg_call``)."""
        return Call(self._pool(), self._budget())

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise Unavailable("the PostgreSQL pool is not open")
        return self.pool

    async def server_version(self) -> str:
        try:
            async with self._call() as conn:
                version = await conn.fetchval("SHOW server_version")
        except OmnicrudError:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from exc
        return f"PostgreSQL {str(version).split()[0]}"

    def pool_stats(self) -> dict[str, int]:
        """``omnicrud_db_pool_connections{state}`` (omnicrud.core.hooks.PoolStats)."""
        pool = self.pool
        if pool is None:
            return {"idle": 0, "in_use": 0, "max": self.settings.pool_size}
        idle = pool.get_idle_size()
        return {"idle": idle, "in_use": pool.get_size() - idle, "max": pool.get_max_size()}

    # ---- driver primitives

    def classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, asyncpg.UniqueViolationError):
            return Failure("unique", exc.constraint_name)
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            return Failure("fk", exc.constraint_name)
        if isinstance(exc, _UNAVAILABLE):  # before _LOST: TimeoutError is an OSError
            return Failure("unavailable")
        if isinstance(exc, ValueError):  # asyncpg's client-side DataError (bad argument)
            return Failure("other")
        if isinstance(exc, _LOST):
            return Failure("lost")
        if isinstance(exc, asyncpg.InterfaceError):  # e.g. the pool is closing
            return Failure("unavailable")
        if isinstance(exc, asyncpg.PostgresError):
            return Failure("other")
        return None

    async def fetch(self, plan: Plan, args: Sequence[Any]) -> list[Record]:
        async with self._call() as conn:
            rows: list[Record] = await conn.fetch(plan.sql, *plan.params(args))
            return rows

    async def insert_rows(self, res: Resource, rows: list[list[Any]]) -> list[Record]:
        plan = self.sql.insert(res)
        async with self._call() as conn:
            if len(rows) == 1:
                out: list[Record] = [await conn.fetchrow(plan.sql, *plan.params(rows[0]))]
            else:
                # fetchmany pipelines the rows and ends with one Sync: all commit or none.
                out = await conn.fetchmany(plan.sql, [plan.params(r) for r in rows])
            waiter = await self._position(conn)
        if waiter is not None:
            self._wrote(await waiter)
        return out

    async def update_row(
        self, res: Resource, plan: Plan, args: list[Any], id: int
    ) -> Record | None:
        async with self._call() as conn:
            row: Record | None = await conn.fetchrow(plan.sql, *plan.params(args))
            waiter = None if row is None else await self._position(conn)
        if waiter is not None:
            self._wrote(await waiter)
        return row

    async def execute(self, plan: Plan, args: Sequence[Any]) -> int:
        async with self._call() as conn:
            status: str = await conn.execute(plan.sql, *plan.params(args))
            count = int(status.rpartition(" ")[2])
            waiter = await self._position(conn) if count else None
        if waiter is not None:
            self._wrote(await waiter)
        return count

    async def _position(self, conn: asyncpg.Connection) -> Waiter | None:
        """Right after a commit, inside a request (the Omnicrud-Consistency token): the
        position read now on ``conn``, or, while another read is running, the waiter for
        the next one (``_positions``), to await after releasing ``conn``."""
        if consistency.current() is None:
            return None
        waiter = self.positions.claim()
        if waiter is not None:
            return waiter
        try:
            position: str | None = await conn.fetchval(POSITION)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            position = None  # not knowing it is no reason to fail a committed write
        finally:
            self.positions.done()
        self._wrote(position)
        return None

    async def _pooled_position(self) -> str | None:
        async with self._call() as conn:
            position: str | None = await conn.fetchval(POSITION)
        return position

    def _wrote(self, position: str | None) -> None:
        if self.replicas is not None:
            self.replicas.wrote(position)
        else:
            consistency.wrote(position)
