"""Entry point of the SQLite backend (``sqlite://``, ``sqlite+aiosqlite://``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnicrud.core.registry import Backend
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Storage

if TYPE_CHECKING:
    from omnicrud.config import Settings


def _open(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    from .sql.sqlite import SqliteStorage  # stdlib sqlite3: nothing to install

    return SqliteStorage(url, settings, resources)


backend = Backend("sqlite", frozenset({"aiosqlite"}), "sqlite", _open)
