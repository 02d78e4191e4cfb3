"""The ``items`` table as the peers map it: omnicrud's own table, column for column.

Shared by the FastCRUD and fastapi-crudrouter apps (SQLAlchemy 2 in both venvs). Python-side
defaults fill the columns the peers do not know about (timestamps, ``_version``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Double, Integer, MetaData, String, Table
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


def now() -> dt.datetime:
    value = dt.datetime.now(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def wire(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class WireTime(TypeDecorator[str]):
    """omnicrud's SQLite timestamps: TEXT holding ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return wire(value) if isinstance(value, dt.datetime) else value


def time_type(backend: str) -> Any:
    if backend == "sqlite":
        return WireTime()
    if backend == "mysql":
        return mysql.DATETIME(fsp=3)
    return DateTime(timezone=True)


def items_table(backend: str, metadata: MetaData | None = None) -> Table:
    times = time_type(backend)
    return Table(
        "items",
        metadata or MetaData(),
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("name", String(100), nullable=False),
        Column("description", String(1000)),
        Column("price", Double, nullable=False),
        Column("created_at", times, nullable=False, default=now),
        Column("updated_at", times, nullable=False, default=now, onupdate=now),
        Column("_version", BigInteger, key="version", nullable=False, default=1),
    )


def sqlalchemy_url(backend: str, url: str, driver: str) -> str:
    """``postgresql://...`` -> ``postgresql+asyncpg://...`` (and alike)."""
    rest = url.partition("://")[2]
    scheme = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}[backend]
    return f"{scheme}+{driver}://{rest}"
