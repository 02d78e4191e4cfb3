"""Where migrations run: their own short-lived connection, under the schema lock.

Racing processes are serialized by the database itself: ``BEGIN IMMEDIATE`` (SQLite's file
lock), ``pg_advisory_lock``, ``GET_LOCK`` (a lock row on Galera: ``_lock_row``). Migrations
use SQLAlchemy's own engines: stdlib
``sqlite3`` for SQLite, asyncpg and aiomysql (``run_sync``) for PostgreSQL and MySQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

from omnicrud.core.errors import ConfigError, MigrationError, Unavailable
from omnicrud.core.registry import mask_url, split_scheme

from ._lock_row import is_galera, with_lock_row
from ._sqlite import database_path

T = TypeVar("T")

LOCK_SECONDS = 600
_PG_LOCK = 0x6F6D6E6963727564  # "omnicrud"
_MYSQL_LOCK = "CONCAT('omnicrud_schema.', DATABASE())"
_SERVER_LOCKS = {  # (take it: 1 once held, release it)
    "postgresql": (
        f"SELECT 1 FROM pg_advisory_lock({_PG_LOCK})",
        f"SELECT pg_advisory_unlock({_PG_LOCK})",
    ),
    "mysql": (
        f"SELECT GET_LOCK({_MYSQL_LOCK}, {LOCK_SECONDS})",
        f"SELECT RELEASE_LOCK({_MYSQL_LOCK})",
    ),
}


def _async_url(url: str) -> str:
    backend, _ = split_scheme(url)
    rest = url.partition("://")[2]
    if backend in ("postgresql", "postgres"):
        return "postgresql+asyncpg://" + rest
    if backend in ("mysql", "mariadb"):
        return "mysql+aiomysql://" + rest
    raise ConfigError(f"no SQL migrations for {mask_url(url)}")


def _sqlite_engine(
    url: str, connection: sqlite3.Connection | None, timeout: float
) -> sa.engine.Engine:
    if connection is not None:  # :memory: — the storage's own connection is the database
        engine = sa.create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
    else:
        path = database_path(url)

        def connect() -> sqlite3.Connection:
            # Autocommit at the driver: transactions are our explicit BEGIN IMMEDIATE.
            return sqlite3.connect(path, timeout=timeout, isolation_level=None)

        engine = sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # The write lock for the whole migration: racing processes wait for it here.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_reflecting = threading.local()
_listener_lock = threading.Lock()


def _reflect_autoincrement(inspector: sa.Inspector, table: sa.Table, column: Any) -> None:
    """SQLite tables are rebuilt by batch migrations from their reflection, which does not
    report ``AUTOINCREMENT``: without it the rebuilt table could reuse ids."""
    bind = inspector.bind
    if column["name"] != "id" or getattr(_reflecting, "connection", None) is not bind:
        return
    assert isinstance(bind, Connection)
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
    ).scalar()
    if sql and "AUTOINCREMENT" in str(sql).upper():
        table.dialect_kwargs["sqlite_autoincrement"] = True


@contextmanager
def _keeping_autoincrement(conn: Connection) -> Iterator[None]:
    """The reflection fix above, for this migration's connection only and while it runs
    (SQLAlchemy's ``column_reflect`` can only be listened to on the Table class)."""
    with _listener_lock:
        sa.event.listen(sa.Table, "column_reflect", _reflect_autoincrement)
    _reflecting.connection = conn
    try:
        yield
    finally:
        _reflecting.connection = None
        with _listener_lock:
            sa.event.remove(sa.Table, "column_reflect", _reflect_autoincrement)


def _sqlite_sequences(conn: Connection) -> dict[str, int]:
    if not conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
    ).scalar():
        return {}
    rows = conn.exec_driver_sql("SELECT name, seq FROM sqlite_sequence").all()
    return {str(name): int(seq) for name, seq in rows}


def _keep_sqlite_sequences(conn: Connection, before: dict[str, int]) -> None:
    """A rebuilt table starts its sequence at its highest remaining id: restore the old
    high-water mark, so that ids stay never reused."""
    after = _sqlite_sequences(conn)
    for name, seq in before.items():
        if name in after and after[name] < seq:
            conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, name))


def _with_lock(conn: Connection, work: Callable[[Connection], T], lock: bool) -> T:
    name = conn.dialect.name
    if not lock:
        return work(conn)
    if name == "sqlite":
        with conn.begin(), _keeping_autoincrement(conn):
            before = _sqlite_sequences(conn)
            result = work(conn)
            _keep_sqlite_sequences(conn, before)
            return result
    if name != "postgresql" and is_galera(conn):  # GET_LOCK is per node there
        return with_lock_row(conn, work, LOCK_SECONDS)
    acquire, release = _SERVER_LOCKS["postgresql" if name == "postgresql" else "mysql"]
    got = conn.execute(sa.text(acquire)).scalar()
    conn.commit()
    if got != 1:
        raise Unavailable("timed out waiting for another process's migration")
    try:
        result = work(conn)
        conn.commit()
        return result
    finally:
        conn.rollback()
        conn.execute(sa.text(release))
        conn.commit()


def _failed(exc: sa.exc.DBAPIError) -> MigrationError:
    return MigrationError(f"the database failed during the migration: {exc.orig}")


def _unreachable(url: str, exc: BaseException) -> Unavailable:
    return Unavailable(f"cannot reach the database {mask_url(url)}: {type(exc).__name__}")


async def run(
    url: str,
    work: Callable[[Connection], T],
    *,
    lock: bool = True,
    sqlite_connection: sqlite3.Connection | None = None,
    wait: float = LOCK_SECONDS,
) -> T:
    """``work(connection)`` on a fresh connection to ``url``, under the schema lock."""
    if split_scheme(url)[0] == "sqlite":

        def on_sqlite() -> T:
            engine = _sqlite_engine(url, sqlite_connection, wait)
            try:
                try:
                    conn = engine.connect()
                except sa.exc.DBAPIError as exc:
                    raise _unreachable(url, exc) from exc
                with conn:
                    return _with_lock(conn, work, lock)
            except sa.exc.DBAPIError as exc:
                raise _failed(exc) from exc
            finally:
                if sqlite_connection is None:
                    engine.dispose()

        if sqlite_connection is not None:
            return on_sqlite()
        return await asyncio.to_thread(on_sqlite)

    engine = create_async_engine(_async_url(url), poolclass=NullPool)
    try:
        try:
            aconn = await engine.connect()
        except (sa.exc.DBAPIError, OSError, TimeoutError) as exc:
            raise _unreachable(url, exc) from exc
        try:
            return await aconn.run_sync(lambda conn: _with_lock(conn, work, lock))
        except sa.exc.DBAPIError as exc:
            raise _failed(exc) from exc
        finally:
            await aconn.close()
    finally:
        await engine.dispose()
