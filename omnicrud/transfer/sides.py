"""One end of a transfer: a deployment's storage, connected, seen through BulkStorage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from omnicrud.bootstrap import Deployment
from omnicrud.core.errors import ConfigError, OmnicrudError
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row, Storage
from omnicrud.core.transfer import BulkStorage

from .rows import Tally


class TargetNotEmpty(OmnicrudError):
    """The target already holds rows and ``--resume`` was not given."""


@dataclass
class Side:
    deployment: Deployment
    storage: Storage
    bulk: BulkStorage

    def resource(self, name: str) -> Resource:
        for res in self.deployment.resources:
            if res.name == name:
                return res
        raise ConfigError(f"{self.deployment.masked_url} has no resource {name!r}")

    async def count(self, res: Resource) -> int:
        return await self.storage.count(res, None)

    async def scan(
        self, res: Resource, batch: int, after: int = 0
    ) -> AsyncGenerator[list[Row], None]:
        """Every raw row with id > ``after`` in id order, ``batch`` at a time; the next page
        is read while the caller works on this one (two pages in memory at most)."""
        pending = asyncio.ensure_future(self.bulk.dump(res, after, batch))
        try:
            while True:
                rows = await pending
                if not rows:
                    return
                if len(rows) == batch:
                    pending = asyncio.ensure_future(self.bulk.dump(res, rows[-1]["id"], batch))
                else:
                    pending = asyncio.ensure_future(_nothing())
                yield rows
        finally:
            if not pending.done():
                pending.cancel()

    async def tally(self, res: Resource, batch: int) -> Tally:
        tally = Tally()
        async with aclosing(self.scan(res, batch)) as pages:
            async for rows in pages:
                tally.add(rows)
        return tally

    async def close(self) -> None:
        await self.storage.close()


async def _nothing() -> list[Row]:
    return []


async def open_side(deployment: Deployment, *, target: bool) -> Side:
    """Connect; a target's schema is upgraded first, a source's only checked (a copy never
    writes to its source)."""
    storage = deployment.storage()
    if not isinstance(storage, BulkStorage):
        raise ConfigError(
            f"the {deployment.backend.name} backend cannot bulk-copy rows (no BulkStorage)"
        )
    await storage.connect()
    try:
        schema = deployment.schema(storage)
        if target:
            await schema.upgrade()
        else:
            behind = (await schema.status()).behind
            if behind is not None:
                raise ConfigError(f"the source {deployment.masked_url} is not ready: {behind}")
    except BaseException:
        await storage.close()
        raise
    return Side(deployment, storage, storage)


async def refuse_non_empty(side: Side, resources: Sequence[Resource]) -> None:
    for res in resources:
        count = await side.count(res)
        if count:
            raise TargetNotEmpty(
                f"the target already holds {count} {res.name} rows; "
                "--resume continues an interrupted copy"
            )
