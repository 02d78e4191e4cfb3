"""The database's life in the service: opened at start-up, and when it cannot be reached
then, retried in the background while the service answers 503 (CONTRACT §6)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from omnicrud.bootstrap import Deployment, open_database
from omnicrud.core.errors import Unavailable
from omnicrud.core.keys import DeploymentKeys
from omnicrud.core.query import Expr, ListQuery
from omnicrud.core.resources import Resource
from omnicrud.core.storage import OwnerFilter, Row, Storage

log = logging.getLogger("omnicrud")
RETRY_SECONDS = 0.5


class Offline:
    """The Storage while the database cannot be reached: every call is 503."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _down(self) -> Unavailable:
        return Unavailable(self.reason)

    async def connect(self) -> None:
        raise self._down()

    async def close(self) -> None:
        return None

    async def server_version(self) -> str:
        raise self._down()

    async def create(self, res: Resource, rows: Sequence[Row]) -> list[Row]:
        raise self._down()

    async def get(self, res: Resource, id: int, owner: OwnerFilter | None = None) -> Row | None:
        raise self._down()

    async def list(self, res: Resource, query: ListQuery) -> list[Row]:
        raise self._down()

    async def count(self, res: Resource, where: Expr | None) -> int:
        raise self._down()

    async def update(
        self,
        res: Resource,
        id: int,
        values: Row,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> Row:
        raise self._down()

    async def delete(
        self,
        res: Resource,
        id: int,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> None:
        raise self._down()


class Database:
    """Holds the app's storage; ``state.storage`` is what the routes use.

    Start-up waits for the database for a bounded time (``connect_timeout`` twice, plus a
    second); after that the service answers 503 while opening goes on in the background,
    retried every half second while the database cannot be reached. A configuration or
    schema problem found within that time stops start-up; found later, it is logged once
    and the service keeps answering 503.
    """

    def __init__(
        self, deployment: Deployment, state: Any, keys: DeploymentKeys | None = None
    ) -> None:
        self.deployment = deployment
        self.state = state
        self.keys = keys or DeploymentKeys(deployment.settings.cursor_secret)
        self.storage: Storage | None = None
        self._task: asyncio.Task[None] | None = None
        state.storage = Offline("the database is not reachable yet")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        budget = self.deployment.settings.connect_timeout * 2 + 1
        done, _ = await asyncio.wait({self._task}, timeout=budget)
        if self._task in done:
            self._task.result()  # a configuration error stops start-up here
            return
        log.warning(
            "database %s not ready after %.0f s; answering 503 until it is",
            self.deployment.masked_url,
            budget,
        )
        self._task.add_done_callback(self._report)

    def _report(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("database %s cannot be served: %s", self.deployment.masked_url, exc)
            self.state.storage = Offline(f"the database cannot be served: {exc}")

    async def _run(self) -> None:
        down: str | None = None
        while True:
            try:
                storage, applied = await open_database(self.deployment)
                try:
                    await self.keys.load(storage)
                except BaseException:
                    await storage.close()
                    raise
            except Unavailable as exc:
                if str(exc) != down:  # one line per change of state, not per attempt
                    log.warning("database %s unavailable: %s", self.deployment.masked_url, exc)
                down = str(exc)
                self.state.storage = Offline(down)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if applied:
                log.info("schema upgraded: %s", ", ".join(applied))
            if down is not None:
                log.info("database %s reachable: serving", self.deployment.masked_url)
            self.storage = storage
            make_auth_store = self.deployment.backend.auth_store
            if make_auth_store is not None:  # before the storage: no route sees one alone
                self.state.auth_store = make_auth_store(storage)
            self.state.storage = storage
            return

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.storage is not None:
            await self.storage.close()
