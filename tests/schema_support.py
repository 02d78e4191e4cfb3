"""Schema upgrades for tests that build a storage by hand (as ``omnicrud db upgrade`` does)."""

from __future__ import annotations

from collections.abc import Sequence

from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.resources import Resource
from omnicrud.core.schema import SchemaManager
from omnicrud.core.storage import Storage


def schema_of(storage: Storage, settings: Settings, resources: Sequence[Resource]) -> SchemaManager:
    return Deployment.load(settings, resources).schema(storage)


async def ensure_schema(
    storage: Storage, settings: Settings, resources: Sequence[Resource]
) -> list[str]:
    return await schema_of(storage, settings, resources).upgrade()
