"""SQLite reads off the event loop: a few reader connections, a thread for each.

WAL lets readers on other connections run beside the writer; each statement is its own read
transaction (autocommit, the cursor drained or closed), so it sees every write committed
before it started, this process's writes included (they commit before they return).

Only a statement's first step runs in a thread: that is where SQLite scans, sorts and ranks,
with the GIL released. The rows are then built on the loop thread, which holds the GIL
anyway: ``sqlite3`` releases the GIL around every step, and a thread taking it back once
per row waits behind the busy loop each time (the convoy effect).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from omnicrud.core.errors import Unavailable


class Reader:
    """One connection whose statements stop after ``timeout`` seconds (SQLITE_INTERRUPT)."""

    def __init__(self, conn: sqlite3.Connection, timeout: float) -> None:
        self.conn = conn
        self.timeout = timeout
        self.deadline = 0.0
        conn.set_progress_handler(self._interrupt, 10_000)

    def _interrupt(self) -> int:
        return 1 if self.deadline and time.monotonic() > self.deadline else 0

    def start(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """Runs the statement's first step; ``finish`` reads the rows."""
        self.deadline = time.monotonic() + self.timeout
        try:
            return self.conn.execute(sql, params)
        except BaseException:
            self.deadline = 0.0
            raise

    def finish(self, cursor: sqlite3.Cursor) -> list[Any]:
        try:
            return cursor.fetchall()
        finally:
            self.deadline = 0.0
            cursor.close()  # ends the read transaction even when fetchall failed

    def run(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self.finish(self.start(sql, params))


class Readers:
    """Readers, each used by one read at a time; a read waits at most ``pool_timeout`` for
    one (then Unavailable)."""

    def __init__(self, readers: Sequence[Reader], pool_timeout: float) -> None:
        self._all = list(readers)
        self._idle: asyncio.Queue[Reader] = asyncio.Queue()
        for reader in self._all:
            self._idle.put_nowait(reader)
        self._pool_timeout = pool_timeout
        self._threads = ThreadPoolExecutor(len(self._all), thread_name_prefix="omnicrud-sqlite-r")

    async def _acquire(self) -> Reader:
        if not self._idle.empty():
            return self._idle.get_nowait()
        try:
            return await asyncio.wait_for(self._idle.get(), self._pool_timeout)
        except TimeoutError:
            raise Unavailable("the SQLite database is busy: no reader was free in time") from None

    async def run(self, sql: str, params: Sequence[Any]) -> list[Any]:
        reader = await self._acquire()
        try:
            job = self._threads.submit(reader.start, sql, params)
        except RuntimeError:  # closed while this read waited for a reader
            raise Unavailable("the SQLite database is not open") from None
        try:
            cursor = await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            # The thread may still be stepping: the reader comes back once it is done.
            loop = asyncio.get_running_loop()
            job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._settle, reader, job))
            raise
        except BaseException:
            self._idle.put_nowait(reader)
            raise
        try:
            return reader.finish(cursor)
        finally:
            self._idle.put_nowait(reader)

    def _settle(self, reader: Reader, job: Future[sqlite3.Cursor]) -> None:
        if not job.cancelled() and job.exception() is None:
            job.result().close()
        reader.deadline = 0.0
        self._idle.put_nowait(reader)

    async def close(self) -> None:
        """Lets running first steps finish, then closes the connections."""
        await asyncio.get_running_loop().run_in_executor(None, self._threads.shutdown)
        for reader in self._all:
            reader.conn.close()
