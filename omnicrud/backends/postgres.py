"""Entry point of the PostgreSQL backend (``postgresql://``, ``postgres://``, ``+asyncpg``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnicrud.core.registry import Backend, missing_driver
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Storage

if TYPE_CHECKING:
    from omnicrud.config import Settings


def _open(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        raise missing_driver("PostgreSQL", "asyncpg", "postgres") from None
    from .sql.postgres import PostgresStorage

    return PostgresStorage(url, settings, resources)


backend = Backend("postgresql", frozenset({"asyncpg"}), "postgres", _open)
