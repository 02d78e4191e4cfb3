"""Fixtures' machinery for the SQL storage tests: one fresh database per SQL backend.

Only the backend that env ``DATABASE_URL`` names is tested (``CONFIGURED``), on its own
fresh database; its server comes from ``POSTGRES_URL`` / ``MYSQL_URL`` (defaults: the local
test servers); SQLite uses a temporary file. A server that cannot be reached fails the tests.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from omnicrud.backends import sql
from omnicrud.backends.sql._base import SqlStorage
from omnicrud.config import Settings
from omnicrud.core.registry import split_scheme
from omnicrud.core.resources import Resource
from omnicrud.example import resources as example_resources
from tests.provision import ServerUnreachable, configured_url, provision
from tests.resources_testing import probes
from tests.schema_support import ensure_schema

T = TypeVar("T")

RESOURCES: list[Resource] = [*example_resources, probes]
MODULES = {"sqlite": sql.sqlite, "postgresql": sql.postgresql, "mysql": sql.mysql}
ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}
_scheme = split_scheme(configured_url())[0]
CONFIGURED = ALIASES.get(_scheme, _scheme)
"""The backend under test: ``sqlite``, ``postgresql``, ``mysql`` or ``mongodb``."""
KINDS = tuple(kind for kind in MODULES if kind == CONFIGURED)


def server_url(kind: str, tmp: Path) -> str:
    if kind == "postgresql":
        return os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if kind == "mysql":
        return os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    return f"sqlite:///{tmp / 'unused.db'}"


def open_storage(url: str, **settings: Any) -> SqlStorage:
    kind = url.partition(":")[0].partition("+")[0]
    backend = MODULES[
        "postgresql" if kind == "postgres" else "mysql" if kind == "mariadb" else kind
    ]
    storage = backend.storage(url, Settings(database_url=url, **settings), RESOURCES)
    assert isinstance(storage, SqlStorage)
    return storage


@dataclass
class Env:
    """A connected storage on a fresh database, and the event loop it lives on."""

    kind: str
    url: str
    storage: SqlStorage
    runner: asyncio.Runner

    def run(self, aw: Awaitable[T]) -> T:
        return self.runner.run(aw)  # type: ignore[arg-type]


def open_env(kind: str, tmp: Path, stack: ExitStack) -> Env | str:
    """A ready Env, or the reason the backend's server cannot be used."""
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        url = stack.enter_context(provision(server_url(kind, tmp), tmp))
    except ServerUnreachable as exc:
        return str(exc)
    runner = stack.enter_context(asyncio.Runner())
    storage = open_storage(url)
    runner.run(storage.connect())
    stack.callback(lambda: runner.run(storage.close()))
    runner.run(ensure_schema(storage, storage.settings, RESOURCES))
    return Env(kind, url, storage, runner)


def envs(tmp: Path) -> Iterator[dict[str, Env | str]]:
    with ExitStack() as stack:
        yield {kind: open_env(kind, tmp / kind, stack) for kind in KINDS}
