"""The primary's position after a commit, for ``Omnicrud-Consistency`` (CONTRACT §9),
without a round trip per write under load.

The token must name a position at or after the write's commit record. Any position read by
a statement that starts after the commit has returned is one, on whichever connection it
runs; a position read before or during the commit (``RETURNING``) is not. So a write whose
commit returned while another probe was already running waits for the *next* probe, which
starts after it and serves every write that queued meanwhile: one probe per batch, not per
write. With no probe running, the write reads the position itself on its own connection,
exactly as an idle service always did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Waiter = asyncio.Future[str | None]


class Positions:
    def __init__(self, probe: Callable[[], Awaitable[str | None]]) -> None:
        """``probe`` reads the primary's position on a pooled connection, within the
        timeouts of any database call."""
        self._probe = probe
        self._busy = False
        self._waiting: list[Waiter] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.probes = 0
        """Probes run on pooled connections (for tests)."""

    def claim(self) -> Waiter | None:
        """Call right after a commit returned. None: no probe is running, so the caller
        reads the position on its own connection now and then calls ``done``. Otherwise the
        future of the next probe, which starts after this commit (await it after
        releasing the connection; it never raises, None meaning unknown)."""
        if not self._busy:
            self._busy = True
            return None
        waiter: Waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        return waiter

    def done(self) -> None:
        """The probe that ``claim`` left to its caller is over, read or not."""
        if self._closed or not self._waiting:
            for waiter in self._waiting:
                if not waiter.done():
                    waiter.set_result(None)
            self._waiting = []
            self._busy = False
            return
        batch, self._waiting = self._waiting, []
        self._task = asyncio.get_running_loop().create_task(self._serve(batch))

    async def _serve(self, batch: list[Waiter]) -> None:
        position: str | None = None
        try:
            self.probes += 1
            position = await self._probe()
        except Exception:
            position = None  # not knowing it is no reason to fail committed writes
        finally:
            for waiter in batch:
                if not waiter.done():
                    waiter.set_result(position)
            self._task = None
            self.done()

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["Positions"]
