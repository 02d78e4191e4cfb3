"""``omnicrud serve | check | openapi | db ...``: the parser and the small commands."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import sys
from collections.abc import Sequence

from omnicrud.api.app import create_app, openapi_json
from omnicrud.bootstrap import Deployment
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable

from .common import fail
from .copy import add_transfer_commands
from .db import add_db_commands
from .keys import add_keys_commands
from .serve import add_serve_command

ENVIRONMENT = """\
environment:
  DATABASE_URL              which database (default sqlite:///./omnicrud.db)
  OMNICRUD_RESOURCES        package.module:attribute holding your list of Resource
  OMNICRUD_MIGRATIONS       directory of migration scripts (default: next to the resources)
  OMNICRUD_AUTO_MIGRATE     apply pending migrations at start-up (default true)
  OMNICRUD_POOL_SIZE, OMNICRUD_POOL_TIMEOUT, OMNICRUD_CONNECT_TIMEOUT, OMNICRUD_QUERY_TIMEOUT
  OMNICRUD_CURSOR_SECRET, OMNICRUD_REQUIRE_IF_MATCH, OMNICRUD_MAX_BODY_BYTES, OMNICRUD_MAX_BULK
  OMNICRUD_DEFAULT_LIMIT, OMNICRUD_MAX_LIMIT
  OMNICRUD_JWT_SECRET, OMNICRUD_JWKS_URL, OMNICRUD_OIDC_ISSUER, OMNICRUD_API_KEYS (auth on)
  OMNICRUD_JWT_AUDIENCE, OMNICRUD_JWT_LEEWAY, OMNICRUD_ANONYMOUS_SCOPES, OMNICRUD_PUBLIC_DOCS
  OMNICRUD_READ_URLS        comma-separated replica URLs for GET/HEAD (PostgreSQL, MySQL/MariaDB)
  OMNICRUD_MAX_REPLICA_LAG  seconds a replica may be behind before reads skip it (default 5)
The README's Configuration section explains each one.
"""


async def _describe(deployment: Deployment) -> str:
    storage = deployment.storage()
    await storage.connect()
    try:
        version = await storage.server_version()
        state = await deployment.schema(storage).status()
    finally:
        await storage.close()
    return f"server:   {version}\nschema:   {state.current}" + (
        f" ({state.behind})" if state.behind else ""
    )


def check(args: argparse.Namespace) -> int:
    try:
        deployment = Deployment.load()
        timeout = deployment.settings.connect_timeout * 2 + 1
        described = asyncio.run(asyncio.wait_for(_describe(deployment), timeout))
    except ConfigError as exc:
        return fail(str(exc))
    except (Unavailable, TimeoutError):
        return fail(f"the database cannot be reached: {deployment.masked_url}", 1)
    except OmnicrudError as exc:
        return fail(str(exc), 1)
    print(f"backend:  {deployment.backend.name}")
    print(f"database: {deployment.masked_url}")
    print(described)
    for res in deployment.resources:
        fields = ", ".join(f.name + ("*" if f.secret else "") for f in res.fields)
        print(f"resource: /{res.name} ({fields})")
    return 0


def openapi(args: argparse.Namespace) -> int:
    try:
        app = create_app()
    except ConfigError as exc:
        return fail(str(exc))
    sys.stdout.write(openapi_json(app).decode() + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="omnicrud",
        description="REST CRUD API on the database named by DATABASE_URL.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=importlib.metadata.version("omnicrud"))
    sub = top.add_subparsers(dest="command", required=True)
    add_serve_command(sub)
    p = sub.add_parser("check", help="connect, print backend, server, schema and resources")
    p.set_defaults(func=check)
    p = sub.add_parser("openapi", help="print the OpenAPI document")
    p.set_defaults(func=openapi)
    add_db_commands(sub)
    add_keys_commands(sub)
    add_transfer_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
