"""The SQL backends: SQLite (stdlib ``sqlite3``), PostgreSQL (asyncpg), MySQL/MariaDB
(aiomysql). Shared statement building (SQLAlchemy Core, compiled once), one private module
per dialect, and the Alembic migrations. Importing this package imports no database driver:
the entry points below import theirs when a storage is made."""

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

__all__ = ["mysql", "postgresql", "sqlite"]


def _open_sqlite(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    from ._bulk_sqlite import SqliteBulk  # noqa: PLC0415 - stdlib sqlite3, but keep imports light

    return SqliteBulk(url, settings, resources)


def _open_postgres(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    try:
        import asyncpg  # noqa: F401, PLC0415 - the driver, imported lazily
    except ImportError:
        raise missing_driver("PostgreSQL", "asyncpg", "postgres") from None
    from ._bulk_postgres import PostgresBulk  # noqa: PLC0415 - imports asyncpg

    return PostgresBulk(url, settings, resources)


def _open_mysql(url: str, settings: Settings, resources: Sequence[Resource]) -> Storage:
    try:
        import aiomysql  # noqa: F401, PLC0415 - the driver, imported lazily
    except ImportError:
        raise missing_driver("MySQL", "aiomysql", "mysql") from None
    from ._bulk_mysql import MysqlBulk  # noqa: PLC0415 - imports aiomysql

    return MysqlBulk(url, settings, resources)


def _open_schema(storage: Storage, target: SchemaTarget) -> SchemaManager:
    from ._manager import SqlSchema  # noqa: PLC0415 - Alembic is heavy to import

    return SqlSchema(storage, target)


def _open_auth(storage: Storage) -> AuthStore:
    from ._auth_store import SqlAuthStore  # noqa: PLC0415 - SQLAlchemy dialects, like _open_schema

    return SqlAuthStore(storage)


sqlite = Backend(
    "sqlite", frozenset({"aiosqlite"}), "sqlite", _open_sqlite, _open_schema, auth_store=_open_auth
)
postgresql = Backend(
    "postgresql",
    frozenset({"asyncpg"}),
    "postgres",
    _open_postgres,
    _open_schema,
    auth_store=_open_auth,
)
mysql = Backend(
    "mysql", frozenset({"aiomysql"}), "mysql", _open_mysql, _open_schema, auth_store=_open_auth
)
