"""``omnicrud db upgrade [REV] | downgrade REV | revision --autogenerate -m MSG | stamp REV |
current | history``: the same settings as ``serve`` (DATABASE_URL, OMNICRUD_RESOURCES,
OMNICRUD_MIGRATIONS), through the backend's SchemaManager whatever the backend."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from omnicrud.bootstrap import Deployment
from omnicrud.core.errors import ConfigError, MigrationError, OmnicrudError
from omnicrud.core.schema import SchemaManager

from .common import LOG_LEVELS, HelpFormatter, fail, say, setup_logging

Command = Callable[[argparse.Namespace, SchemaManager], Coroutine[Any, Any, int]]


async def _upgrade(args: argparse.Namespace, schema: SchemaManager) -> int:
    for line in await schema.upgrade(args.revision):
        say(f"applied {line}")
    state = await schema.status()
    say(state.current if state.behind is None else f"{state.current}: {state.behind}")
    return 0


async def _downgrade(args: argparse.Namespace, schema: SchemaManager) -> int:
    for line in await schema.downgrade(args.revision):
        say(line)
    say(f"database at {(await schema.status()).current}")
    return 0


async def _revision(args: argparse.Namespace, schema: SchemaManager) -> int:
    for path in await schema.revision(args.message, args.autogenerate):
        say(f"wrote {path}")
    return 0


async def _stamp(args: argparse.Namespace, schema: SchemaManager) -> int:
    await schema.stamp(args.revision)
    say(f"database marked as at {(await schema.status()).current}")
    return 0


async def _current(args: argparse.Namespace, schema: SchemaManager) -> int:
    state = await schema.status()
    if state.behind is None:
        say(state.current)
        return 0
    say(f"{state.current}: {state.behind}")
    return 1


async def _history(args: argparse.Namespace, schema: SchemaManager) -> int:
    lines = await schema.history()
    for line in lines:
        say(line)
    if not lines:
        say("no migrations yet")
    return 0


async def _with_schema(deployment: Deployment, args: argparse.Namespace, command: Command) -> int:
    storage = deployment.storage()
    await storage.connect()
    try:
        return await command(args, deployment.schema(storage))
    finally:
        await storage.close()


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        setup_logging(args.log_level)
        try:
            deployment = Deployment.load()
            return asyncio.run(_with_schema(deployment, args, command))
        except (ConfigError, MigrationError) as exc:
            return fail(str(exc))
        except OmnicrudError as exc:
            return fail(str(exc), 1)

    return run


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
    p.add_argument(
        "--log-level",
        default="info",
        choices=LOG_LEVELS,
        help="debug shows the details (tracebacks) behind an error line",
    )
    return p


def add_db_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``omnicrud db ...``, added to the top-level parser's subcommands."""
    db = subparsers.add_parser(
        "db", help="schema migrations (upgrade, revision, ...)", formatter_class=HelpFormatter
    )
    sub = db.add_subparsers(dest="db_command", required=True)
    p = _command(sub, "upgrade", "apply pending migrations (up to REV)")
    p.add_argument(
        "revision", nargs="?", default="head", metavar="REV", help="a revision id, or head"
    )
    p.set_defaults(func=_runner(_upgrade))
    p = _command(sub, "downgrade", "revert migrations down to REV (SQL only)")
    p.add_argument("revision", metavar="REV", help="a revision id, -1 for one step, or base")
    p.set_defaults(func=_runner(_downgrade))
    p = _command(
        sub,
        "revision",
        "write a new migration script (SQL only); on a database whose tables were created "
        "without scripts, first a baseline script describing them as they are",
    )
    p.add_argument("-m", "--message", required=True, help="what the change is")
    p.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it with the differences between the resources and the database",
    )
    p.set_defaults(func=_runner(_revision))
    p = _command(sub, "stamp", "mark the database as at REV without running anything (SQL only)")
    p.add_argument("revision", metavar="REV", help="a revision id, or head")
    p.set_defaults(func=_runner(_stamp))
    p = _command(
        sub, "current", "the database's schema revision; exit 1 when it is behind or drifted"
    )
    p.set_defaults(func=_runner(_current))
    p = _command(sub, "history", "the migration scripts, newest first")
    p.set_defaults(func=_runner(_history))
