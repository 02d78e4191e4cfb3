"""``_omnicrud_settings``: deployment-wide values kept in the database (the generated
cursor secret), created on first use by whichever process comes first. Concurrent first
uses race on the primary key: the loser's insert is ignored (or, on Galera, fails
certification and is retried) and everyone reads the winner's value."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from omnicrud.core.errors import OmnicrudError, Unavailable
from omnicrud.core.keys import SETTINGS_TABLE

from ._statements import Plan

if TYPE_CHECKING:
    from ._base import SqlStorage

ATTEMPTS = 5
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {SETTINGS_TABLE} "
    "(name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(255) NOT NULL)"
)
_INSERT = {
    "postgresql": f"INSERT INTO {SETTINGS_TABLE} (name, value) VALUES ($1, $2) "
    "ON CONFLICT (name) DO NOTHING",
    "mysql": f"INSERT IGNORE INTO {SETTINGS_TABLE} (name, value) VALUES (%s, %s)",
    "sqlite": f"INSERT OR IGNORE INTO {SETTINGS_TABLE} (name, value) VALUES (?, ?)",
}
_SELECT = {
    "postgresql": f"SELECT value FROM {SETTINGS_TABLE} WHERE name = $1",
    "mysql": f"SELECT value FROM {SETTINGS_TABLE} WHERE name = %s",
    "sqlite": f"SELECT value FROM {SETTINGS_TABLE} WHERE name = ?",
}


async def setting(storage: SqlStorage, name: str, candidate: str) -> str:
    dialect = storage.sql.dialect_name
    key = "mysql" if dialect == "mariadb" else dialect
    create, insert = Plan(_CREATE, ()), Plan(_INSERT[key], (0, 1))
    select = Plan(_SELECT[key], (0,))
    for attempt in range(ATTEMPTS):
        try:  # usually there: no CREATE ... IF NOT EXISTS (MySQL warns about it)
            found = await storage.fetch(select, [name])
        except OmnicrudError:
            raise
        except Exception:  # no table yet
            found = []
        if found:
            return str(found[0][0])
        try:
            if key == "postgresql":  # asyncpg's execute() status has no row count
                await storage.fetch(create, [])
                await storage.fetch(insert, [name, candidate])
            else:
                await storage.execute(create, [])
                await storage.execute(insert, [name, candidate])
            found = await storage.fetch(select, [name])
            if found:
                return str(found[0][0])
        except OmnicrudError:
            raise
        except Exception as exc:  # a racing CREATE or a certification conflict: again
            failure = storage.classify(exc)
            if failure is None or attempt == ATTEMPTS - 1:
                raise Unavailable("cannot keep the deployment secret in the database") from exc
        await asyncio.sleep(0.05 * (attempt + 1))
    raise Unavailable("cannot keep the deployment secret in the database")
