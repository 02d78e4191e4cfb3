"""The schema lock on MariaDB Galera, where ``GET_LOCK`` locks only the node it runs on
and ``SELECT ... FOR UPDATE`` does not serialize nodes: a row in ``_omnicrud_lock``.

Taking it is an INSERT that commits: on a conflict with a holder on any node it fails (a
duplicate key when the holder's row is already here, 1213 at commit when both insert at
once: certification lets exactly one win). The loser waits and tries again. A row older
than ``STALE_SECONDS`` is a holder that died: it is deleted and the lock taken over.
Reads after taking the lock wait for the cluster (``wsrep_sync_wait``), so the winner's
migration is seen as done.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omnicrud.core.errors import Unavailable

T = TypeVar("T")

log = logging.getLogger("omnicrud.backends.sql")
ATTEMPTS = 5
TABLE = "_omnicrud_lock"
STALE_SECONDS = 300
"""A migration holding the lock longer is presumed dead (its process was killed)."""
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR(64) NOT NULL PRIMARY KEY, "
    "owner VARCHAR(64) NOT NULL, taken_at DATETIME(6) NOT NULL)"
)
_TAKE = f"INSERT INTO {TABLE} (name, owner, taken_at) VALUES ('schema', %s, UTC_TIMESTAMP(6))"
_EXPIRE = (
    f"DELETE FROM {TABLE} WHERE name = 'schema' "
    f"AND taken_at < UTC_TIMESTAMP(6) - INTERVAL {STALE_SECONDS} SECOND"
)
_RELEASE = f"DELETE FROM {TABLE} WHERE name = 'schema' AND owner = %s"


def is_galera(conn: Connection) -> bool:
    row = conn.exec_driver_sql("SHOW VARIABLES LIKE 'wsrep_on'").first()
    conn.commit()
    return row is not None and str(row[1]).upper() == "ON"


def _again(conn: Connection, sql: str, params: tuple[str, ...] = ()) -> None:
    """``sql`` committed, retried when it loses certification to another node's statement
    on the same row (the release racing a waiter's insert)."""
    for attempt in range(ATTEMPTS):
        try:
            conn.exec_driver_sql(sql, params)
            conn.commit()
            return
        except sa.exc.DBAPIError:
            conn.rollback()
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def with_lock_row(conn: Connection, work: Callable[[Connection], T], wait: float) -> T:
    owner = secrets.token_hex(16)
    conn.exec_driver_sql("SET SESSION wsrep_sync_wait = 1")
    _again(conn, _CREATE)
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.exec_driver_sql(_TAKE, (owner,))
            conn.commit()
            break
        except sa.exc.DBAPIError:  # held elsewhere (1062), or lost the race (1213)
            conn.rollback()
        if time.monotonic() > deadline:
            raise Unavailable("timed out waiting for another process's migration")
        try:
            conn.exec_driver_sql(_EXPIRE)
            conn.commit()
        except sa.exc.DBAPIError:
            conn.rollback()
        time.sleep(0.2)
    try:
        result = work(conn)
        conn.commit()
        return result
    finally:
        conn.rollback()
        try:
            _again(conn, _RELEASE, (owner,))
        except sa.exc.DBAPIError:  # left to expire; the migration itself is done
            log.warning(
                "the schema lock row could not be released; it expires in %ss", STALE_SECONDS
            )
