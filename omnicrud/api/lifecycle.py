"""The database's life in the service: opened at start-up, and when it cannot be reached
then, retried in the background while the service answers 503 (CONTRACT §6)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from omnicrud.bootstrap import Deployment, open_database
from omnicrud.core.errors import ConfigError, MigrationError, OmnicrudError, Unavailable
from omnicrud.core.query import Expr, ListQuery
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row, Storage

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

    async def get(self, res: Resource, id: int) -> Row | None:
        raise self._down()

    async def list(self, res: Resource, query: ListQuery) -> list[Row]:
        raise self._down()

    async def count(self, res: Resource, where: Expr | None) -> int:
        raise self._down()

    async def update(
        self, res: Resource, id: int, values: Row, expected_version: int | None
    ) -> Row:
        raise self._down()

    async def delete(self, res: Resource, id: int, expected_version: int | None) -> None:
        raise self._down()


class Database:
    """Holds the app's storage; ``state.storage`` is what the routes use."""

    def __init__(self, deployment: Deployment, state: Any) -> None:
        self.deployment = deployment
        self.state = state
        self.storage: Storage | None = None
        self._retry: asyncio.Task[None] | None = None
        state.storage = Offline("the database is not reachable yet")

    async def _open(self) -> None:
        storage, applied = await open_database(self.deployment)
        if applied:
            log.info("schema upgraded: %s", ", ".join(applied))
        self.storage = storage
        self.state.storage = storage

    async def start(self) -> None:
        """Open now; if the database cannot be reached, keep trying in the background."""
        try:
            await self._open()
        except Unavailable as exc:
            log.warning(
                "database %s unavailable at start-up (%s); answering 503 until it is",
                self.deployment.masked_url,
                exc,
            )
            self.state.storage = Offline(str(exc))
            self._retry = asyncio.create_task(self._keep_trying())

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self._open()
            except Unavailable as exc:
                self.state.storage = Offline(str(exc))
                continue
            except (ConfigError, MigrationError, OmnicrudError) as exc:
                log.error("database %s cannot be served: %s", self.deployment.masked_url, exc)
                self.state.storage = Offline(f"the database cannot be served: {exc}")
                return
            log.info("database %s reachable: serving", self.deployment.masked_url)
            return

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        if self.storage is not None:
            await self.storage.close()
