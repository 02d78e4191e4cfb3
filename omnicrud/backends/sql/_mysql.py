"""MySQL 8 and MariaDB on aiomysql: compiled SQL run on the pool's own connections.

Connections run in autocommit with strict SQL mode and UTC session time zone. MariaDB (10.5+)
returns inserted rows with ``INSERT ... RETURNING``; MySQL reads them back by id. Neither has
``UPDATE ... RETURNING``, so an update and its re-read share one short transaction, sent as
one multi-statement batch.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiomysql
import pymysql  # type: ignore[import-untyped]
from sqlalchemy.dialects.mysql import aiomysql as mysql_dialect

from omnicrud.config import Settings
from omnicrud.core import consistency
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable
from omnicrud.core.registry import mask_url
from omnicrud.core.resources import Resource

from . import _galera
from ._base import Failure, Record, SqlStorage, connect_reason
from ._replicas import ReplicaSet, split_urls
from ._statements import Plan, Statements

_SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO"
)
_SORT_BYTES = 4096
"""ORDER BY compares this many leading bytes of a string (server default 1024): every
VARCHAR fits; larger values need more sort memory than servers give by default."""
_UNAVAILABLE_CODES = frozenset(
    {
        1040,  # too many connections
        1047,  # Galera: WSREP has not yet prepared node for application use
        1053,  # server shutdown in progress
        1180,  # Galera: error during COMMIT (a node cut off from the cluster)
        1290,  # --read-only (a replica)
        1205,  # lock wait timeout
        1213,  # deadlock
        1969,  # MariaDB max_statement_time exceeded
        3024,  # MySQL max_execution_time exceeded
    }
)
_CONSTRAINT = re.compile(r"CONSTRAINT `([^`]+)`")


def _connect_reason(exc: BaseException) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    if code == 1045:
        return "authentication failed"
    if code == 1049:
        return "the database does not exist"
    return connect_reason(exc)


def _dialect(mariadb: bool) -> mysql_dialect.MySQLDialect_aiomysql:
    dialect = mysql_dialect.dialect()
    dialect.is_mariadb = mariadb  # picks the collation the schema's types render
    return dialect


def connect_args(url: str) -> dict[str, Any]:
    """aiomysql keyword arguments from a ``mysql://user:password@host:port/db`` URL."""
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"the MySQL URL names no database: {mask_url(url)}")
    args: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": database,
    }
    socket = parse_qs(parts.query).get("unix_socket")
    if socket:
        args["unix_socket"] = socket[0]
    return args


class MysqlStorage(SqlStorage):
    backend_name = "MySQL"

    def __init__(self, url: str, settings: Settings, resources: Sequence[Resource]) -> None:
        super().__init__(resources, Statements(resources, "mariadb", _dialect(True)))
        self._resources = list(resources)
        self.args = connect_args(url)
        self.url = mask_url(url)
        self.database_url = url
        self.settings = settings
        self.pool: aiomysql.Pool | None = None
        self.replicas: ReplicaSet[aiomysql.Pool] | None = None
        self.galera = False
        self._gtids = False
        self.version = ""
        # One timer for waiting on the pool and for the statements: server-side limits
        # (max_statement_time) stop slow statements, this guards against a mute server.
        self._budget = settings.pool_timeout + settings.query_timeout + 1
        self._update_sql: dict[str, str] = {}
        """UPDATE plan's SQL -> BEGIN; UPDATE; SELECT; COMMIT (MariaDB has no RETURNING)."""

    def _init_command(self, mariadb: bool) -> str:
        seconds = self.settings.query_timeout
        timeout = (
            f"max_statement_time = {seconds:g}"
            if mariadb
            else f"max_execution_time = {int(seconds * 1000)}"
        )
        return (
            f"SET SESSION sql_mode = '{_SQL_MODE}', time_zone = '+00:00', "
            f"max_sort_length = {_SORT_BYTES}, innodb_lock_wait_timeout = {math.ceil(seconds)}, "
            f"{timeout}"
        )

    async def connect(self) -> None:
        s = self.settings
        common = dict(
            self.args, charset="utf8mb4", autocommit=True, connect_timeout=s.connect_timeout
        )
        try:
            # connect_timeout covers the TCP connect only, not a server that never answers.
            async with asyncio.timeout(s.connect_timeout):
                probe = await aiomysql.connect(**common)
            try:
                async with probe.cursor() as cur:
                    await cur.execute("SELECT VERSION(), @@wait_timeout, @@log_bin")
                    version, wait_timeout, log_bin = await cur.fetchone()
                self.galera = await _galera.is_galera(probe)
                self._gtids = bool(int(log_bin or 0)) and "mariadb" in version.lower()
            finally:
                probe.close()
            mariadb = "mariadb" in version.lower()
            self.version = f"{'MariaDB' if mariadb else 'MySQL'} {version.split('-')[0]}"
            self.backend_name = "MariaDB" if mariadb else "MySQL"
            if not mariadb:
                self.sql = Statements(self._resources, "mysql", _dialect(False), returning=False)
            async with asyncio.timeout(s.connect_timeout * 2):
                self.pool = await aiomysql.create_pool(
                    minsize=min(2, s.pool_size),
                    maxsize=s.pool_size,
                    pool_recycle=max(1, min(3600, int(wait_timeout) // 2)),
                    init_command=self._init_command(mariadb),
                    **common,
                )
        except Exception as exc:
            raise Unavailable(f"MySQL at {self.url}: {_connect_reason(exc)}") from exc
        urls = split_urls(s.read_urls)
        if urls:
            driver = _galera.MariadbReplicas(self._replica_args(mariadb), lambda: self.pool)
            self.replicas = ReplicaSet(driver, urls, s.max_replica_lag)
            await self.replicas.start()

    def _replica_args(self, mariadb: bool) -> Any:
        s = self.settings

        def args(url: str) -> dict[str, Any]:
            return dict(
                connect_args(url),
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=s.connect_timeout,
                minsize=1,
                maxsize=s.pool_size,
                pool_recycle=3600,
                init_command=self._init_command(mariadb),
            )

        return args

    async def ready(self) -> None:
        """/readyz: the primary answers and, on Galera, this node is synced."""
        if not self.galera:
            await self.server_version()
            return
        try:
            async with self._conn() as conn:
                await _galera.check_synced(conn)
        except OmnicrudError:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from exc

    async def _position(self, conn: aiomysql.Connection) -> None:
        """This commit's GTID for the Omnicrud-Consistency token (inside a request)."""
        if not self._gtids or consistency.current() is None:  # MySQL 8, no binlog: no token
            return
        position = await _galera.last_gtid(conn)
        if self.replicas is not None:
            self.replicas.wrote(position)
        else:
            consistency.wrote(position)

    async def close(self) -> None:
        replicas, self.replicas = self.replicas, None
        if replicas is not None:
            await replicas.stop()
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.close()
            try:
                await asyncio.wait_for(pool.wait_closed(), self.settings.pool_timeout)
            except (TimeoutError, OSError, pymysql.MySQLError):
                pool.terminate()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[aiomysql.Connection]:
        """A pooled connection; one that failed mid-statement is closed, not reused."""
        if self.pool is None:
            raise Unavailable("the MySQL pool is not open")
        pool = self.pool
        async with asyncio.timeout(self._budget):
            conn = await pool.acquire()
            try:
                yield conn
            except BaseException as exc:
                if not _server_error(exc):
                    conn.close()  # the connection's state is unknown: the pool drops it
                raise
            finally:
                pool.release(conn)

    async def server_version(self) -> str:
        try:
            async with self._conn() as conn, conn.cursor() as cur:
                await cur.execute("SELECT VERSION()")
                (version,) = await cur.fetchone()
        except OmnicrudError:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from exc
        mariadb = "mariadb" in version.lower()
        return f"{'MariaDB' if mariadb else 'MySQL'} {version.split('-')[0]}"

    def pool_stats(self) -> dict[str, int]:
        """``omnicrud_db_pool_connections{state}`` (omnicrud.core.hooks.PoolStats)."""
        pool = self.pool
        if pool is None:
            return {"idle": 0, "in_use": 0, "max": self.settings.pool_size}
        idle = pool.freesize
        return {"idle": idle, "in_use": pool.size - idle, "max": pool.maxsize}

    # ---- driver primitives

    def classify(self, exc: BaseException) -> Failure | None:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else ""
        if isinstance(exc, pymysql.err.IntegrityError):
            if code == 1062:  # ... for key 'uq_t_f' (MySQL 8: 't.uq_t_f')
                return Failure("unique", message.rstrip("'").rpartition("'")[2].split(".")[-1])
            if code in (1451, 1452):
                found = _CONSTRAINT.search(message)
                return Failure("fk", found.group(1) if found else None)
            return Failure("other")
        if code in _UNAVAILABLE_CODES or isinstance(exc, TimeoutError):
            return Failure("unavailable")
        if isinstance(exc, pymysql.err.OperationalError) and code >= 2000:
            return Failure("lost")  # client errors: cannot connect, gone away, lost
        if isinstance(exc, pymysql.err.InterfaceError | ConnectionError | OSError):
            return Failure("lost")
        if isinstance(exc, pymysql.MySQLError):
            return Failure("other")
        return None

    async def fetch(self, plan: Plan, args: Sequence[Any]) -> list[Record]:
        # The hot path: _conn() inlined (a generator-based context manager costs ~10 µs).
        pool = self.pool
        if pool is None:
            raise Unavailable("the MySQL pool is not open")
        async with asyncio.timeout(self._budget):
            conn = await pool.acquire()
            try:
                cur = await conn.cursor()  # a plain Cursor: nothing to close on the server
                await cur.execute(plan.sql, plan.params(args))
                rows: list[Record] = await cur.fetchall()
                return rows
            except BaseException as exc:
                if not _server_error(exc):
                    conn.close()
                raise
            finally:
                pool.release(conn)

    async def insert_rows(self, res: Resource, rows: list[list[Any]]) -> list[Record]:
        return await _galera.certified(lambda: self._insert_rows(res, rows))

    async def _insert_rows(self, res: Resource, rows: list[list[Any]]) -> list[Record]:
        plan = self.sql.insert(res)
        get = self.sql.get(res)
        returning = self.sql.returning
        async with self._conn() as conn, conn.cursor() as cur:
            if returning and len(rows) == 1:
                await cur.execute(plan.sql, plan.params(rows[0]))
                one: list[Record] = await cur.fetchall()
                await self._position(conn)
                return one
            await conn.begin()
            try:
                out: list[Record] = []
                for row in rows:
                    await cur.execute(plan.sql, plan.params(row))
                    if not returning:
                        await cur.execute(get.sql, get.params([cur.lastrowid]))
                    out.append((await cur.fetchall())[0])
                await conn.commit()
            except BaseException:
                await _rollback(conn)
                raise
            await self._position(conn)
            return out

    async def update_row(
        self, res: Resource, plan: Plan, args: list[Any], id: int
    ) -> Record | None:
        return await _galera.certified(lambda: self._update_row(res, plan, args, id))

    async def _update_row(
        self, res: Resource, plan: Plan, args: list[Any], id: int
    ) -> Record | None:
        get = self.sql.get(res)
        sql = self._update_sql.get(plan.sql)
        if sql is None:
            # One round trip: aiomysql always sends CLIENT_MULTI_STATEMENTS, and the
            # arguments are escaped into the text client-side as for any statement.
            sql = self._update_sql[plan.sql] = f"BEGIN; {plan.sql}; {get.sql}; COMMIT"
        async with self._conn() as conn, conn.cursor() as cur:
            try:
                await cur.execute(sql, [*plan.params(args), *get.params([id])])
                await cur.nextset()
                matched = cur.rowcount
                await cur.nextset()
                row: Record | None = await cur.fetchone()
                await cur.nextset()  # COMMIT's result: the transaction is over
            except BaseException:
                await _rollback(conn)  # a failed statement ends the batch inside BEGIN
                raise
            if matched == 0:  # the SELECT saw a row the UPDATE did not match: not ours
                return None
            await self._position(conn)
            return row

    async def execute(self, plan: Plan, args: Sequence[Any]) -> int:
        return await _galera.certified(lambda: self._execute(plan, args))

    async def _execute(self, plan: Plan, args: Sequence[Any]) -> int:
        async with self._conn() as conn, conn.cursor() as cur:
            await cur.execute(plan.sql, plan.params(args))
            count: int = cur.rowcount
            if count > 0:
                await self._position(conn)
            return count


def _server_error(exc: BaseException) -> bool:
    """An error the server reported about a statement: the connection is still fine."""
    if not isinstance(exc, pymysql.MySQLError) or not exc.args:
        return False
    code = exc.args[0]
    return isinstance(code, int) and 0 < code < 2000


async def _rollback(conn: aiomysql.Connection) -> None:
    try:
        await conn.rollback()
    except Exception:
        conn.close()  # the pool drops it; the original error is what matters
