"""A fresh, uniquely named database for one test session, chosen by the URL's scheme.

``provision(url, tmp)`` is a context manager yielding the URL of a new, empty database on the
server ``url`` names (same scheme and credentials), dropped again on exit, so several test
sessions (tox envs) can share one server. A server that cannot be reached raises at once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from omnicrud.core.registry import mask_url, split_scheme

CONNECT_TIMEOUT = 5.0

Provisioner = Callable[[str, Path], AbstractContextManager[str]]


class ServerUnreachable(RuntimeError):
    """The database server named by DATABASE_URL did not answer: the session must fail."""


def unique_name() -> str:
    return f"omnicrud_t_{secrets.token_hex(6)}"


def with_database(url: str, name: str) -> str:
    """``url`` with its path (the database name) replaced; query and credentials kept."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _without_driver(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme.partition("+")[0] + sep + rest


def _unreachable(url: str, exc: BaseException) -> ServerUnreachable:
    return ServerUnreachable(
        f"cannot reach the test database server {mask_url(url)}: {type(exc).__name__}: {exc}"
    )


@contextmanager
def sqlite(url: str, tmp: Path) -> Iterator[str]:
    scheme = url.partition("://")[0]
    yield f"{scheme}:///{tmp.resolve() / 'omnicrud.db'}"


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_without_driver(url), timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise _unreachable(url, exc) from exc
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def postgres(url: str, tmp: Path) -> Iterator[str]:
    name = unique_name()
    asyncio.run(_pg_execute(url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(url, name)
    finally:
        asyncio.run(_pg_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _mysql_execute(url: str, statement: str) -> None:
    import aiomysql

    parts = urlsplit(url)
    try:
        conn = await aiomysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
        )
    except Exception as exc:  # aiomysql wraps connection failures in several types
        raise _unreachable(url, exc) from exc
    try:
        async with conn.cursor() as cur:
            await cur.execute(statement)
    finally:
        conn.close()


@contextmanager
def mysql(url: str, tmp: Path) -> Iterator[str]:
    name = unique_name()
    asyncio.run(_mysql_execute(url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield with_database(url, name)
    finally:
        asyncio.run(_mysql_execute(url, f"DROP DATABASE IF EXISTS `{name}`"))


def _mongo_client(url: str) -> Any:
    import pymongo

    return pymongo.MongoClient(
        url,
        serverSelectionTimeoutMS=int(CONNECT_TIMEOUT * 1000),
        connectTimeoutMS=int(CONNECT_TIMEOUT * 1000),
    )


@contextmanager
def mongo(url: str, tmp: Path) -> Iterator[str]:
    """MONGO_URL names the server when set; otherwise a throwaway SecantusDB is started."""
    import pymongo.errors

    from tests.secantus import start_secantus

    server, stop = start_secantus()  # honours MONGO_URL
    try:
        name = unique_name()
        client = _mongo_client(server)
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            raise _unreachable(server, exc) from exc
        try:
            yield with_database(server, name)
        finally:
            client.drop_database(name)
            client.close()
    finally:
        stop()


PROVISIONERS: dict[str, Provisioner] = {
    "sqlite": sqlite,
    "postgresql": postgres,
    "postgres": postgres,
    "mysql": mysql,
    "mariadb": mysql,
    "mongodb": mongo,
}


def configured_url() -> str:
    """The server under test: env DATABASE_URL, or SQLite when unset."""
    return os.environ.get("DATABASE_URL") or "sqlite:///omnicrud.db"


def provision(url: str, tmp: Path) -> AbstractContextManager[str]:
    scheme = split_scheme(url)[0]
    if scheme not in PROVISIONERS:
        raise ServerUnreachable(
            f"no test provisioner for scheme {scheme!r} in {mask_url(url)}; "
            f"known: {', '.join(sorted(PROVISIONERS))}"
        )
    return PROVISIONERS[scheme](url, tmp)
