"""``omnicrud db upgrade [REV] | downgrade REV | revision --autogenerate -m MSG | current |
history``: the same settings as ``serve`` (DATABASE_URL, OMNICRUD_RESOURCES,
OMNICRUD_MIGRATIONS)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from omnicrud.config import Settings
from omnicrud.core import registry
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable
from omnicrud.core.resources import Resource

from .common import REVISION_HINT, UPGRADE_HINT


def _say(text: str) -> None:
    print(text, flush=True)


def _fail(message: str, code: int = 2) -> int:
    print(f"omnicrud: error: {message}", file=sys.stderr)
    return code


def _prepare() -> tuple[Settings, list[Resource]]:
    from omnicrud.cli import _prepare as prepare

    settings, resources, _ = prepare()
    return settings, resources


def _sql_target(settings: Settings, resources: Sequence[Resource]) -> Any:
    from . import sql

    return sql.make_target(resources, settings.migrations_dir(), settings.database_url)


async def _with_mongo(
    settings: Settings, resources: Sequence[Resource], work: Callable[[Any], Awaitable[int]]
) -> int:
    from omnicrud.backends.mongo._storage import MongoStorage

    storage = registry.open_storage(settings, resources)
    assert isinstance(storage, MongoStorage)
    await storage.connect()
    try:
        return await work(storage)
    finally:
        await storage.close()


def _mongo_only_upgrade(command: str) -> int:
    return _fail(
        f"MongoDB has no migration scripts, so `db {command}` does not apply: "
        f"`{UPGRADE_HINT}` brings the collections in line with the resource declarations"
    )


async def _upgrade(args: argparse.Namespace, settings: Settings, res: list[Resource]) -> int:
    from . import sql

    if not sql.is_sql(settings.database_url):
        if args.revision != "head":
            return _fail("MongoDB upgrades always go to the declarations (no REV)")

        async def mongo(storage: Any) -> int:
            from . import mongo

            await storage.ensure_schema()
            version = await mongo.current(storage._database())
            _say(f"schema version {version.number if version else '?'} (up to date)")
            return 0

        return await _with_mongo(settings, res, mongo)
    target = _sql_target(settings, res)
    applied = await sql.upgrade(settings.database_url, target, args.revision)
    for line in applied:
        _say(f"applied {line}")
    _say(await _describe_sql(settings, target))
    return 0


async def _describe_sql(settings: Settings, target: Any) -> str:
    from . import sql

    state = await sql.status(settings.database_url, target)
    if not state.heads and not state.current:
        return (
            f"no migration scripts in {target.directory}: tables are created as declared "
            f"({REVISION_HINT} writes the first script)"
        )
    at = ", ".join(state.current) or "no revision"
    behind = state.behind()
    if behind is None:
        return f"{at} (head)"
    return f"{at}: {behind}"


async def _downgrade(args: argparse.Namespace, settings: Settings, res: list[Resource]) -> int:
    from . import sql

    if not sql.is_sql(settings.database_url):
        return _mongo_only_upgrade("downgrade")
    target = _sql_target(settings, res)
    await sql.downgrade(settings.database_url, target, args.revision)
    state = await sql.status(settings.database_url, target)
    _say(f"database at {', '.join(state.current) or 'no revision'}")
    return 0


async def _revision(args: argparse.Namespace, settings: Settings, res: list[Resource]) -> int:
    from . import sql

    if not sql.is_sql(settings.database_url):
        return _mongo_only_upgrade("revision")
    target = _sql_target(settings, res)
    for path in await sql.revision(settings.database_url, target, args.message, args.autogenerate):
        _say(f"wrote {path}")
    return 0


async def _current(args: argparse.Namespace, settings: Settings, res: list[Resource]) -> int:
    from . import sql

    if not sql.is_sql(settings.database_url):

        async def mongo(storage: Any) -> int:
            from . import mongo

            db = storage._database()
            version = await mongo.current(db)
            behind = await mongo.behind(db, res)
            if version is None:
                _say(f"no schema version: {behind}")
            else:
                state = "up to date" if behind is None else behind
                _say(
                    f"schema version {version.number} (fingerprint {version.fingerprint}, "
                    f"applied {version.applied_at}): {state}"
                )
            return 0

        return await _with_mongo(settings, res, mongo)
    _say(await _describe_sql(settings, _sql_target(settings, res)))
    return 0


async def _history(args: argparse.Namespace, settings: Settings, res: list[Resource]) -> int:
    from . import sql

    if not sql.is_sql(settings.database_url):

        async def mongo(storage: Any) -> int:
            from . import mongo

            for version in await mongo.history(storage._database()):
                _say(
                    f"version {version.number}: fingerprint {version.fingerprint}, "
                    f"applied {version.applied_at}"
                )
            return 0

        return await _with_mongo(settings, res, mongo)
    sys.stdout.write(sql.history(_sql_target(settings, res)))
    return 0


Command = Callable[[argparse.Namespace, Settings, list[Resource]], Coroutine[Any, Any, int]]


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            settings, resources = _prepare()
            return asyncio.run(command(args, settings, resources))
        except ConfigError as exc:
            return _fail(str(exc))
        except Unavailable as exc:
            return _fail(str(exc), 1)
        except OmnicrudError as exc:
            return _fail(str(exc), 1)

    return run


def add_db_commands(subparsers: Any) -> None:
    """``omnicrud db ...``, added to the top-level parser's subcommands."""
    db = subparsers.add_parser("db", help="schema migrations (upgrade, revision, ...)")
    sub = db.add_subparsers(dest="db_command", required=True)
    p = sub.add_parser("upgrade", help="apply pending migrations (to REV, default head)")
    p.add_argument("revision", nargs="?", default="head", metavar="REV")
    p.set_defaults(func=_runner(_upgrade))
    p = sub.add_parser("downgrade", help="revert migrations down to REV (SQL only)")
    p.add_argument("revision", metavar="REV", help="a revision id, or -1 for one step")
    p.set_defaults(func=_runner(_downgrade))
    p = sub.add_parser("revision", help="write a new migration script (SQL only)")
    p.add_argument("-m", "--message", required=True)
    p.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it with the differences between the resources and the database",
    )
    p.set_defaults(func=_runner(_revision))
    p = sub.add_parser("current", help="the database's schema revision, and whether it is behind")
    p.set_defaults(func=_runner(_current))
    p = sub.add_parser("history", help="the migration scripts, newest first")
    p.set_defaults(func=_runner(_history))
