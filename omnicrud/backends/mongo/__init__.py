"""MongoDB backend (PyMongo's native ``AsyncMongoClient``); schemes ``mongodb``, ``mongodb+srv``.

This module stays light: the driver is imported only when a storage is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnicrud.core.registry import Backend, missing_driver
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Storage

if TYPE_CHECKING:
    from omnicrud.config import Settings

__all__ = ["backend"]


def _open(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    try:
        from pymongo import AsyncMongoClient  # noqa: F401
    except ImportError:
        raise missing_driver("mongodb", "pymongo", "mongo") from None
    from ._storage import MongoStorage

    return MongoStorage(url, settings, resources)


backend = Backend(
    name="mongodb",
    drivers=frozenset({"srv"}),
    extra="mongo",
    factory=_open,
    modules=("pymongo",),
)
