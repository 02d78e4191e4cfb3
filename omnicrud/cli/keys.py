"""``omnicrud keys create --name N --scopes "items:read items:write" | list | revoke N``.

Keys live hashed in the table/collection omnicrud owns on every backend (created by the
schema manager, so the database is brought up to date first). ``create`` prints the key
once; a revocation reaches every serving process within 5 s (their key caches' age).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from omnicrud.auth import AuthStore, new_key, parse_scopes
from omnicrud.bootstrap import Deployment, open_database
from omnicrud.core.errors import ConfigError, Conflict, OmnicrudError, Unavailable

from .common import HelpFormatter, fail, say

Command = Callable[[argparse.Namespace, AuthStore], Coroutine[Any, Any, int]]


async def _create(args: argparse.Namespace, store: AuthStore) -> int:
    scopes = parse_scopes(args.scopes)
    if not scopes:
        return fail('--scopes names no scope (e.g. --scopes "items:read items:write")')
    key, record = new_key(args.name, scopes, subject=args.subject)
    try:
        await store.create_key(record)
    except Conflict:
        return fail(f"a key named {args.name!r} already exists", 1)
    say(key)
    print(
        f"omnicrud: key {args.name!r} (id {record.id}) created; it is shown only this once",
        file=sys.stderr,
    )
    return 0


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _list(args: argparse.Namespace, store: AuthStore) -> int:
    say(f"{'NAME':<24} {'ID':<16} {'CREATED':<20} {'REVOKED':<20} SCOPES")
    for record in await store.list_keys():
        say(
            f"{record.name:<24} {record.id:<16} {_when(record.created_at):<20} "
            f"{_when(record.revoked_at):<20} {' '.join(sorted(record.scopes))}"
        )
    return 0


async def _revoke(args: argparse.Namespace, store: AuthStore) -> int:
    if not await store.revoke_key(args.name, dt.datetime.now(dt.UTC)):
        return fail(f"no live key named {args.name!r}", 1)
    say(f"revoked {args.name!r}: refused by every process within 5 s")
    return 0


async def _run(deployment: Deployment, command: Command, args: argparse.Namespace) -> int:
    make_store = deployment.backend.auth_store
    if make_store is None:
        return fail(f"the {deployment.backend.name} backend does not store API keys")
    storage, _ = await open_database(deployment)
    try:
        return await command(args, make_store(storage))
    finally:
        await storage.close()


def _command(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            deployment = Deployment.load()
            return asyncio.run(_run(deployment, command, args))
        except ConfigError as exc:
            return fail(str(exc))
        except Unavailable:
            return fail("the database cannot be reached", 1)
        except OmnicrudError as exc:
            return fail(str(exc), 1)

    return run


def add_keys_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = subparsers.add_parser(
        "keys", formatter_class=HelpFormatter, help="API keys: create, list, revoke"
    )
    sub = top.add_subparsers(dest="keys_command", required=True)
    p = sub.add_parser(
        "create", formatter_class=HelpFormatter, help="make a key and print it (once)"
    )
    p.add_argument("--name", required=True, help="a unique name (revoke uses it)")
    p.add_argument("--scopes", required=True, help='e.g. "items:read items:write"')
    p.add_argument("--subject", default=None, help="the sub its requests act as (default key:<id>)")
    p.set_defaults(func=_command(_create))
    p = sub.add_parser(
        "list", formatter_class=HelpFormatter, help="every key (never the key itself)"
    )
    p.set_defaults(func=_command(_list))
    p = sub.add_parser(
        "revoke", formatter_class=HelpFormatter, help="revoke the live key with this name"
    )
    p.add_argument("name", help="the name the key was created with")
    p.set_defaults(func=_command(_revoke))
