"""A client span per Storage call on MongoDB (``core.hooks.db_statement``), as the SQL
backends have: the same operation names (SELECT, INSERT, UPDATE, DELETE) so a trace reads the
same whatever the database; never a value. A no-op call when tracing is off."""

from __future__ import annotations

from typing import Any

from omnicrud.core import hooks
from omnicrud.core.resources import Resource

from ._storage import MongoStorage

SYSTEM = "mongodb"


class TracedMongo(MongoStorage):
    async def get(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "SELECT", res.name):
            return await super().get(res, *args, **kwargs)

    async def list(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "SELECT", res.name):
            return await super().list(res, *args, **kwargs)

    async def count(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "SELECT", res.name):
            return await super().count(res, *args, **kwargs)

    async def create(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "INSERT", res.name):
            return await super().create(res, *args, **kwargs)

    async def update(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "UPDATE", res.name):
            return await super().update(res, *args, **kwargs)

    async def delete(self, res: Resource, *args: Any, **kwargs: Any) -> Any:
        with hooks.db_statement(SYSTEM, "DELETE", res.name):
            return await super().delete(res, *args, **kwargs)
