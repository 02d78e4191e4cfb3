"""Read replicas for the SQL backends (CONTRACT §9): one small pool per replica, a
background health task, and the choice of a replica for each read.

Staleness is bounded, not guessed: every tick samples the primary's position, and a replica
that has applied the position the primary had at time ``t`` misses nothing committed before
``t`` — its lag is at most ``now - t``. That bound stays right while the primary is idle
(where ``now() - pg_last_xact_replay_timestamp()`` keeps growing). With the primary down
there are no new commits: a replica that applied everything it received is current.

A read goes to a replica only inside a GET/HEAD request (``core.consistency``), only to a
replica that is up, within ``OMNICRUD_MAX_REPLICA_LAG``, and that has applied the position
the client sent back (or this process last wrote), waiting at most ``RYW_WAIT`` for it.
Otherwise, and whenever the replica fails, the primary serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from omnicrud.core import consistency, hooks
from omnicrud.core.registry import mask_url

from ._statements import Plan

log = logging.getLogger("omnicrud.backends.sql")

INTERVAL = 0.25
"""Seconds between health checks: a replica that fails is skipped within 1 s."""
PROBE_TIMEOUT = 0.5
RYW_WAIT = 0.1
"""Longest wait for a replica to apply a client's position before the primary serves."""
READ_TIMEOUT = 2.0
"""A read on a replica that takes longer is abandoned and served by the primary."""

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Probe:
    applied: str | None
    """The position the replica has applied (None: unknown)."""
    caught_up: bool
    """It applied everything it received from its source."""
    reported_lag: float
    """The server's own lag estimate in seconds (replay timestamp, Seconds_Behind_Master)."""


class ReplicaDriver(Protocol[P]):
    """What a dialect supplies; ``P`` is its pool type."""

    async def open(self, url: str) -> P: ...

    async def close(self, pool: P) -> None: ...

    async def probe(self, pool: P) -> Probe:
        """Raises when the replica cannot serve reads."""

    async def primary_position(self) -> str | None:
        """The primary's current position; None when it cannot be reached."""

    def reached(self, applied: str | None, position: str) -> bool: ...

    def later(self, a: str | None, b: str) -> str:
        """The later (merged) of two positions."""

    async def fetch(self, pool: P, plan: Plan, args: Sequence[Any]) -> list[Any]: ...


@dataclass(eq=False)
class Replica(Generic[P]):
    url: str
    pool: P | None = None
    up: bool = False
    lag: float = math.inf
    applied: str | None = None
    state: str = "starting"


@dataclass
class ReplicaSet(Generic[P]):
    driver: ReplicaDriver[P]
    urls: Sequence[str]
    max_lag: float
    replicas: list[Replica[P]] = field(default_factory=list)
    last_written: str | None = None
    """The latest position this process wrote: its own reads never go back in time."""
    routed: dict[str, int] = field(default_factory=dict)
    _samples: deque[tuple[float, str]] = field(default_factory=deque)
    _primary_up: bool = True
    _task: asyncio.Task[None] | None = None
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self) -> None:
        self.replicas = [Replica(url) for url in self.urls]
        await self._check_all()
        self._task = asyncio.create_task(self._loop(), name="omnicrud-replicas")

    async def stop(self) -> None:
        if self.routed:
            shown = {mask_url(k) if "://" in k else k: n for k, n in self.routed.items()}
            log.info("reads served: %s", shown)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for replica in self.replicas:
            pool, replica.pool = replica.pool, None
            if pool is not None:
                with contextlib.suppress(Exception):
                    await self.driver.close(pool)

    # ---- health

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            try:
                await self._check_all()
            except Exception:  # never let the health task die
                log.exception("replica health check failed")

    async def _check_all(self) -> None:
        now = time.monotonic()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                position = await self.driver.primary_position()
        except Exception:
            position = None
        self._primary_up = position is not None
        if position is not None:
            self._samples.append((now, position))
        horizon = now - max(self.max_lag * 2, 1.0)
        while len(self._samples) > 1 and self._samples[1][0] < horizon:
            self._samples.popleft()
        await asyncio.gather(*(self._check(r) for r in self.replicas))

    async def _check(self, replica: Replica[P]) -> None:
        try:
            async with asyncio.timeout(
                PROBE_TIMEOUT * 2 if replica.pool is None else PROBE_TIMEOUT
            ):
                if replica.pool is None:
                    replica.pool = await self.driver.open(replica.url)
                probe = await self.driver.probe(replica.pool)
        except Exception as exc:
            self._mark_down(replica, exc)
            return
        if probe.applied is not None:
            replica.applied = (
                probe.applied
                if replica.applied is None
                else self.driver.later(replica.applied, probe.applied)
            )
        replica.lag = self._lag(replica, probe)
        replica.up = True
        state = "up" if replica.lag <= self.max_lag else "behind"
        if state != replica.state:
            log.info("replica %s: %s (lag %.2fs)", mask_url(replica.url), state, replica.lag)
            replica.state = state

    def _lag(self, replica: Replica[P], probe: Probe) -> float:
        if not self._primary_up and probe.caught_up:
            return 0.0  # nothing new can be committed while the primary is down
        now = time.monotonic()
        for taken, position in reversed(self._samples):
            if self.driver.reached(replica.applied, position):
                return now - taken
        return probe.reported_lag

    def _mark_down(self, replica: Replica[P], exc: BaseException) -> None:
        replica.up = False
        replica.lag = math.inf
        if replica.state != "down":
            log.warning("replica %s down: %s", mask_url(replica.url), type(exc).__name__)
            replica.state = "down"
        pool, replica.pool = replica.pool, None
        if pool is not None:  # reopened by the next check: a restarted server needs it
            task = asyncio.ensure_future(self.driver.close(pool))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # ---- routing

    def wrote(self, position: str | None) -> None:
        """After a committed write: the position goes into the response's token and
        becomes this process's floor for its own later reads."""
        if position is None:
            return
        consistency.wrote(position)
        self.last_written = self.driver.later(self.last_written, position)

    async def _choose(self, floor: str | None) -> Replica[P] | None:
        healthy = [
            r for r in self.replicas if r.up and r.pool is not None and r.lag <= self.max_lag
        ]
        if not healthy:
            return None
        if floor is None:
            return healthy[next(self._turn) % len(healthy)]
        ready = [r for r in healthy if self.driver.reached(r.applied, floor)]
        if ready:
            return ready[next(self._turn) % len(ready)]
        # Not there yet by the last probe: ask the freshest replica directly, briefly.
        best = min(healthy, key=lambda r: r.lag)
        deadline = time.monotonic() + RYW_WAIT
        while True:
            pool = best.pool
            if pool is None:
                return None
            try:
                async with asyncio.timeout(RYW_WAIT):
                    probe = await self.driver.probe(pool)
            except Exception:
                return None
            if probe.applied is not None:
                best.applied = self.driver.later(best.applied, probe.applied)
            if self.driver.reached(best.applied, floor):
                return best
            if time.monotonic() + 0.01 > deadline:
                return None
            await asyncio.sleep(0.01)

    async def fetch(self, plan: Plan, args: Sequence[Any]) -> list[Any] | None:
        """The rows from a replica; None when the primary must serve this read."""
        session = consistency.current()
        if session is None or not session.read_only:
            return None
        floor = self.last_written
        if session.floor is not None:
            floor = session.floor if floor is None else self.driver.later(floor, session.floor)
        replica = await self._choose(floor)
        if replica is None or replica.pool is None:
            self._count("primary")
            return None
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                rows = await self.driver.fetch(replica.pool, plan, args)
        except Exception as exc:  # served by the primary instead, never an error
            self._mark_down(replica, exc)
            self._count("primary")
            return None
        self._count(replica.url)
        return rows

    def _count(self, target: str) -> None:
        self.routed[target] = self.routed.get(target, 0) + 1
        hooks.replica_read(mask_url(target) if "://" in target else target)

    def lags(self) -> dict[str, float]:
        """Each replica's lag by masked URL (``inf`` while down): ``/metrics``."""
        return {mask_url(r.url): (r.lag if r.up else math.inf) for r in self.replicas}


def split_urls(value: str | None) -> list[str]:
    return [u.strip() for u in (value or "").split(",") if u.strip()]
