"""SQLite reads off the event loop: a few reader connections, a thread for each.

WAL lets readers on other connections run beside the writer; each statement is its own read
transaction (autocommit, the cursor drained or closed), so it sees every write committed
before it started, this process's writes included (they commit before they return).

Only a statement's first step runs in a thread, with the GIL released: for a sorted, ranked
or counted read that is where SQLite does the work (it fills its sorter). The rows are then
built on the loop thread, which holds the GIL anyway: ``sqlite3`` releases the GIL around
every step, and a thread taking it back once per row waits behind the busy loop each time
(the convoy effect). Known limit: a plan that streams in index order (a filter that is not
indexed, sorted by id) finds its first row in the thread and scans on for the others in the
loop's steps, as every read did before; ``query_timeout`` still bounds it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
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
    one (then Unavailable). Waiting reads get readers first come, first served: a freed
    reader goes straight to the oldest waiter, so a newcomer never overtakes it (with
    ``asyncio.Queue`` a woken waiter can lose the reader and queue again: a long tail)."""

    def __init__(self, readers: Sequence[Reader], pool_timeout: float) -> None:
        self._all = list(readers)
        self._idle = list(self._all)
        self._waiters: deque[asyncio.Future[Reader]] = deque()
        self._pool_timeout = pool_timeout
        self._threads = ThreadPoolExecutor(len(self._all), thread_name_prefix="omnicrud-sqlite-r")

    async def _acquire(self) -> Reader:
        if self._idle:  # never while reads wait: a freed reader goes to a waiter first
            return self._idle.pop()
        waiter: asyncio.Future[Reader] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._pool_timeout):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just as this read gave up
            waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise Unavailable(
                    "the SQLite database is busy: no reader was free in time"
                ) from None
            raise

    def _release(self, reader: Reader) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(reader)
                return
        self._idle.append(reader)

    async def run(self, sql: str, params: Sequence[Any]) -> list[Any]:
        reader = await self._acquire()
        try:
            job = self._threads.submit(reader.start, sql, params)
        except RuntimeError:  # closed while this read waited for a reader
            self._release(reader)
            raise Unavailable("the SQLite database is not open") from None
        try:
            cursor = await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            # The thread may still be stepping: the reader comes back once it is done.
            loop = asyncio.get_running_loop()
            job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._settle, reader, job))
            raise
        except BaseException:
            self._release(reader)
            raise
        try:
            return reader.finish(cursor)
        finally:
            self._release(reader)

    def _settle(self, reader: Reader, job: Future[sqlite3.Cursor]) -> None:
        if not job.cancelled() and job.exception() is None:
            job.result().close()
        reader.deadline = 0.0
        self._release(reader)

    async def close(self) -> None:
        """Lets running first steps finish, then closes the connections."""
        await asyncio.get_running_loop().run_in_executor(None, self._threads.shutdown)
        for reader in self._all:
            reader.conn.close()
