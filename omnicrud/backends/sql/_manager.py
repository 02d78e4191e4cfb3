"""The SchemaManager of the SQL backends (SQLite, PostgreSQL, MySQL/MariaDB): Alembic
commands (``_migrations``, ``_revision``) run on their own connection, under the schema
lock (``_locking``) when they change something."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic import command
from sqlalchemy.engine import Connection

from omnicrud.core.errors import MigrationError
from omnicrud.core.schema import REVISION_HINT, UPGRADE_HINT, SchemaStatus, SchemaTarget
from omnicrud.core.storage import Storage

from . import _locking
from ._base import SqlStorage
from ._migrations import (
    Target,
    config,
    current_revisions,
    downgrade_sync,
    drift,
    drift_message,
    has_scripts,
    head_revisions,
    make_target,
    scripts,
    stamp_sync,
    upgrade_sync,
)
from ._revision import revision_sync

log = logging.getLogger("omnicrud.migrations")


@dataclass(frozen=True)
class Status:
    current: tuple[str, ...]
    heads: tuple[str, ...]
    missing_tables: tuple[str, ...]
    problems: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    """Revisions the database is marked as at that no script describes."""

    def behind(self) -> str | None:
        """None when up to date; else why, naming the command to run."""
        if self.unknown:
            return (
                f"the database is marked as at {', '.join(self.unknown)}, which no migration "
                "script describes: restore that script, or if the tables are what the newest "
                "script makes, run omnicrud db stamp head"
            )
        if set(self.current) != set(self.heads):
            at = ", ".join(self.current) or "no revision"
            head = ", ".join(self.heads)
            return f"the database schema is at {at}, the migrations at {head}: run {UPGRADE_HINT}"
        if self.missing_tables:
            return f"the database has no table {', '.join(self.missing_tables)}: run {UPGRADE_HINT}"
        if self.problems:
            return drift_message(self.problems)
        return None


def _status_sync(conn: Connection, target: Target) -> Status:
    missing, problems = drift(conn, target)
    current = current_revisions(conn)
    known = {s.revision for s in scripts(target).walk_revisions()} if has_scripts(target) else set()
    unknown = tuple(r for r in current if known and r not in known)
    heads = head_revisions(target)
    return Status(current, heads, tuple(missing), tuple(problems), unknown)


class SqlSchema:
    """The SchemaManager of the SQL backends."""

    def __init__(self, storage: Storage, target: SchemaTarget) -> None:
        if not isinstance(storage, SqlStorage):
            raise TypeError("the SQL schema manager needs a SQL storage")
        self._storage = storage
        self._url = target.url
        self.target = make_target(target.resources, target.directory, target.url, target.declared)

    async def _run(self, work: Callable[[Connection], Any], lock: bool = True) -> Any:
        connection = self._storage.schema_connection()
        return await _locking.run(self._url, work, lock=lock, sqlite_connection=connection)

    async def upgrade(self, revision: str = "head") -> list[str]:
        done: tuple[list[str], list[str]]
        done = await self._run(lambda c: upgrade_sync(c, self.target, revision))
        applied, problems = done
        if problems:
            for line in applied:
                log.info("applied %s", line)
            raise MigrationError(drift_message(problems))
        return applied

    async def downgrade(self, revision: str) -> list[str]:
        done: list[str] = await self._run(lambda c: downgrade_sync(c, self.target, revision))
        return done

    async def revision(self, message: str, autogenerate: bool) -> list[str]:
        work = lambda c: revision_sync(c, self.target, message, autogenerate)  # noqa: E731
        paths: list[str] = await self._run(work, lock=False)
        return paths

    async def stamp(self, revision: str) -> None:
        await self._run(lambda c: stamp_sync(c, self.target, revision))

    async def status(self) -> SchemaStatus:
        state: Status = await self._run(lambda c: _status_sync(c, self.target), lock=False)
        if not state.heads and not state.current:
            at = (
                f"no migration scripts in {self.target.directory}: tables are created as "
                f"declared ({REVISION_HINT} writes the first script)"
            )
        else:
            at = ", ".join(state.current) or "no revision"
            if state.behind() is None:
                at += " (head)"
        return SchemaStatus(at, state.behind())

    async def history(self) -> list[str]:
        out = io.StringIO()
        if has_scripts(self.target):
            command.history(config(self.target, out=out))
        return out.getvalue().splitlines()
