"""MongoDB backend (PyMongo's native ``AsyncMongoClient``); schemes ``mongodb``, ``mongodb+srv``.

This module stays light: the driver is imported only when a storage is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnicrud.core.registry import Backend, missing_driver
from omnicrud.core.resources import Resource
from omnicrud.core.schema import SchemaManager, SchemaTarget
from omnicrud.core.storage import Storage

if TYPE_CHECKING:
    from omnicrud.auth import AuthStore
    from omnicrud.config import Settings

__all__ = ["backend"]


def _open_storage(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    try:
        import pymongo  # noqa: F401, PLC0415 - the driver, imported lazily
    except ImportError:
        raise missing_driver("mongodb", "pymongo", "mongo") from None
    from ._bulk import MongoBulk  # noqa: PLC0415 - imports pymongo

    return MongoBulk(url, settings, resources)


def _open_schema(storage: Storage, target: SchemaTarget) -> SchemaManager:
    from ._schema import MongoSchema  # noqa: PLC0415 - imports pymongo

    return MongoSchema(storage, target)


def _open_auth(storage: Storage) -> AuthStore:
    from ._auth_store import MongoAuthStore  # noqa: PLC0415 - imports pymongo

    return MongoAuthStore(storage)


backend = Backend(
    name="mongodb",
    drivers=frozenset({"srv"}),
    extra="mongo",
    storage=_open_storage,
    schema=_open_schema,
    modules=("pymongo",),
    auth_store=_open_auth,
)
