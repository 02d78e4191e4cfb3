"""SQLite on the stdlib ``sqlite3`` module.

A read of at most one row by primary key (SQLite's own query plan says so) runs inline on the
event loop thread, on its own connection: it takes a few microseconds, less than handing it to
a thread would cost. Every other read (lists, counts, children, expansions) runs on a few
reader connections in threads (``_sqlite_readers``), so a long one stalls no other request.
Writes wait for ``fsync`` (WAL, ``synchronous=FULL``), so they run on a writer connection in
one dedicated thread, which also serializes them within the process; ``busy_timeout`` covers
other processes. ``:memory:`` databases use one connection for everything, inline.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import unquote

from sqlalchemy.dialects.sqlite import pysqlite

from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError, Unavailable
from omnicrud.core.registry import mask_url
from omnicrud.core.resources import Resource

from ._base import Failure, Record, SqlStorage
from ._sqlite_readers import Reader, Readers
from ._statements import Plan, Statements

T = TypeVar("T")

READERS = max(2, os.cpu_count() or 1)
"""Reader connections (and threads), at most ``pool_size``: a read's first step is CPU-bound,
so threads beyond the cores only contend (measured on 2 cores: 2 beat 4)."""
_POINT = re.compile(r"SEARCH \S+ USING INTEGER PRIMARY KEY \(rowid=\?\)")
_PLANS_LIMIT = 2000

_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_INTERRUPT",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
)


class _Late(Exception):
    """A queued write whose time to start has passed."""


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def database_path(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``;
    ``sqlite://`` and ``sqlite:///:memory:`` -> ``:memory:``."""
    rest = url.partition("://")[2].partition("?")[0]
    if rest in ("", "/"):
        return ":memory:"
    if not rest.startswith("/"):
        raise ConfigError(f"a SQLite URL looks like sqlite:///path.db, got {mask_url(url)}")
    path = unquote(rest[1:])
    return path or ":memory:"


class SqliteStorage(SqlStorage):
    backend_name = "SQLite"

    def __init__(self, url: str, settings: Settings, resources: Sequence[Resource]) -> None:
        dialect = pysqlite.dialect()
        super().__init__(resources, Statements(resources, "sqlite", dialect))
        self.url = mask_url(url)
        self.database_url = url
        self.settings = settings
        self.path = database_path(url)
        self.memory = self.path == ":memory:"
        self.busy_ms = int(settings.query_timeout * 1000)
        self.query_timeout = settings.query_timeout
        self.pool_timeout = settings.pool_timeout
        self._reader: Reader | None = None
        self._readers: Readers | None = None
        self._writer: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._inline: dict[str, bool] = {}

    # ---- connections

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
            check_same_thread=False,
            cached_statements=512,
        )
        conn.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        # icontains folds case beyond ASCII, as PostgreSQL, MariaDB and MongoDB do.
        conn.create_function("lower", 1, _lower, deterministic=True)
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        conn = self._open()
        if not self.memory:
            conn.execute("PRAGMA journal_mode = WAL")
        return conn

    async def connect(self) -> None:
        try:
            if self.memory:
                self._writer = self._open()
                self._reader = Reader(self._writer, self.query_timeout)
            else:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="omnicrud-sqlite")
                self._writer = await self._in_writer(self._open_writer)
                self._reader = Reader(self._open(), self.query_timeout)
                size = min(READERS, self.settings.pool_size)
                pool = [Reader(self._open(), self.query_timeout) for _ in range(size)]
                self._readers = Readers(pool, self.pool_timeout)
        except sqlite3.Error as exc:
            await self.close()
            raise Unavailable(f"cannot open the SQLite database {self.url}") from exc

    async def close(self) -> None:
        reader, readers, writer, thread = self._reader, self._readers, self._writer, self._thread
        self._reader = self._readers = None
        self._writer = None
        self._thread = None
        if readers is not None:
            await readers.close()
        if reader is not None and reader.conn is not writer:
            reader.conn.close()
        if writer is not None:
            if thread is not None:
                await asyncio.get_running_loop().run_in_executor(thread, writer.close)
            else:
                writer.close()
        if thread is not None:
            thread.shutdown(wait=True)

    async def _in_writer(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the writer thread. A write that cannot start within
        ``pool_timeout`` (the thread is busy behind another process's write lock) is
        Unavailable and never runs later; once started, ``busy_timeout`` bounds it."""
        if self._thread is None:
            return work()
        start_by = time.monotonic() + self.pool_timeout

        def run() -> T:
            if time.monotonic() > start_by:
                raise _Late()
            return work()

        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, run)
        except _Late:
            raise Unavailable(
                "the SQLite database is busy: the write did not start in time"
            ) from None

    def _reading(self) -> Reader:
        if self._reader is None:
            raise Unavailable("the SQLite database is not open")
        return self._reader

    def _writing(self) -> sqlite3.Connection:
        if self._writer is None:
            raise Unavailable("the SQLite database is not open")
        return self._writer

    # ---- Storage

    async def server_version(self) -> str:
        try:
            ((version,),) = self._reading().run("SELECT sqlite_version()", ())
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        return f"SQLite {version}"

    def schema_connection(self) -> sqlite3.Connection | None:
        return self._writing() if self.memory else None

    # ---- driver primitives

    def classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, sqlite3.IntegrityError):
            name = getattr(exc, "sqlite_errorname", "")
            if name == "SQLITE_CONSTRAINT_UNIQUE":
                return Failure("unique", str(exc).rpartition(": ")[2])
            if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
                return Failure("fk")
            return Failure("other")
        if isinstance(exc, sqlite3.Error):
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(_UNAVAILABLE) or isinstance(exc, sqlite3.ProgrammingError):
                return Failure("unavailable")  # ProgrammingError: closed connection
            return Failure("other")
        if isinstance(exc, OverflowError):
            return Failure("other")
        return None

    def _point(self, reader: Reader, sql: str, params: Sequence[Any]) -> bool:
        """Reads at most one row by primary key: one rowid search, no ``IN`` list (whose
        plan reads the same). Decided once per statement; a failing plan is not a point."""
        found = self._inline.get(sql)
        if found is None:
            try:
                steps = reader.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            except Exception:  # the read itself reports it, off the loop
                return False
            found = len(steps) == 1 and bool(_POINT.fullmatch(steps[0][3])) and " IN (" not in sql
            if len(self._inline) >= _PLANS_LIMIT:
                self._inline.clear()
            self._inline[sql] = found
        return found

    async def fetch(self, plan: Plan, args: Sequence[Any]) -> list[Record]:
        reader = self._reading()
        params = plan.params(args)
        if self._readers is None or self._point(reader, plan.sql, params):
            return reader.run(plan.sql, params)
        return await self._readers.run(plan.sql, params)

    async def insert_rows(self, res: Resource, rows: list[list[Any]]) -> list[Record]:
        conn = self._writing()
        plan = self.sql.insert(res)
        params = [plan.params(r) for r in rows]

        def work() -> list[Record]:
            if len(params) == 1:
                return conn.execute(plan.sql, params[0]).fetchall()
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = [conn.execute(plan.sql, p).fetchall()[0] for p in params]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return out

        return await self._in_writer(work)

    async def update_row(
        self, res: Resource, plan: Plan, args: list[Any], id: int
    ) -> Record | None:
        conn = self._writing()
        params = plan.params(args)
        # fetchall, not fetchone: the statement must finish for autocommit to commit.
        rows: list[Record] = await self._in_writer(
            lambda: conn.execute(plan.sql, params).fetchall()
        )
        return rows[0] if rows else None

    async def execute(self, plan: Plan, args: Sequence[Any]) -> int:
        conn = self._writing()
        params = plan.params(args)
        count: int = await self._in_writer(lambda: conn.execute(plan.sql, params).rowcount)
        return count
