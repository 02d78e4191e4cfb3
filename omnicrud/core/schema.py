"""The SchemaManager protocol: what ``omnicrud db`` and start-up ask of a backend's schema.

Each backend implements it next to its storage (Alembic scripts on SQL, an index and
validator sync on MongoDB); a third-party backend brings its own. Operations a backend has
no notion of (MongoDB has no scripts to downgrade) raise ``MigrationError`` saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .resources import Resource

UPGRADE_HINT = "omnicrud db upgrade"
REVISION_HINT = 'omnicrud db revision --autogenerate -m "describe the change"'


@dataclass(frozen=True)
class SchemaTarget:
    """What a schema manager brings the database to."""

    url: str
    resources: tuple[Resource, ...]
    directory: Path
    """The deployment's migration scripts (they may not exist yet)."""
    declared: frozenset[str]
    """Resources the deployment declares (``OMNICRUD_RESOURCES``); others, added in code,
    are created as declared rather than by scripts."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str
    """Where the database is, e.g. ``0001 (head)`` or ``schema version 3``."""
    behind: str | None
    """None when up to date; else why, naming the command to run."""


class SchemaManager(Protocol):
    async def upgrade(self, revision: str = "head") -> list[str]:
        """Apply what is pending (under a lock: racing processes wait, then find nothing to
        do); return what was applied. At head, also check the result matches the resources."""

    async def downgrade(self, revision: str) -> list[str]: ...

    async def status(self) -> SchemaStatus: ...

    async def revision(self, message: str, autogenerate: bool) -> list[str]:
        """Write a new migration script; return the paths written."""

    async def stamp(self, revision: str) -> None:
        """Record ``revision`` as applied without running it."""

    async def history(self) -> list[str]: ...


def required_message(names: Sequence[str]) -> str:
    listed = ", ".join(names)
    return (
        f"{listed}: a required field without a default cannot be added to a table that "
        "already exists, its rows would have no value. Give the field a default "
        '(e.g. `sku: str = ""`) or make it nullable (`sku: str | None = None`), then run '
        "the command again"
    )
