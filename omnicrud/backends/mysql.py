"""Entry point of the MySQL/MariaDB backend (``mysql://``, ``mariadb://``, ``+aiomysql``)."""

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
        import aiomysql  # noqa: F401
    except ImportError:
        raise missing_driver("MySQL", "aiomysql", "mysql") from None
    from .sql.mysql import MysqlStorage

    return MysqlStorage(url, settings, resources)


backend = Backend("mysql", frozenset({"aiomysql"}), "mysql", _open)
