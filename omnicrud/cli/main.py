"""``omnicrud serve | check | openapi | db ...``: the parser and the small commands."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import sys
import textwrap
from collections.abc import Sequence

from pydantic import AliasChoices
from pydantic_core import PydanticUndefined

from omnicrud.api.app import create_app, openapi_json
from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable

from .common import HelpFormatter, fail
from .copy import add_transfer_commands
from .db import add_db_commands
from .keys import add_keys_commands
from .serve import add_serve_command


def environment() -> str:
    """The environment variables, generated from the Settings fields (name, description,
    default), so that a new setting is listed as soon as it exists."""
    lines = ["environment (also read from a .env file):"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        variable = alias.choices[0] if isinstance(alias, AliasChoices) else None
        if not isinstance(variable, str):
            variable = f"OMNICRUD_{name.upper()}"
        text = (field.description or "").rstrip(".")
        if field.default not in (None, PydanticUndefined):
            text += f" (default {field.default})"
        wrapped = textwrap.wrap(text, 80 - 28) or [""]
        lines.append(f"  {variable:<26}{wrapped[0]}")
        lines.extend(" " * 28 + more for more in wrapped[1:])
    lines.append("The README's Configuration section explains each one.")
    return "\n".join(lines) + "\n"


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
        epilog=environment(),
        formatter_class=HelpFormatter,
    )
    top.add_argument(
        "--version",
        action="version",
        version=f"omnicrud {importlib.metadata.version('omnicrud')}",
        help="print the version and exit",
    )
    sub = top.add_subparsers(dest="command", required=True)
    add_serve_command(sub)
    p = sub.add_parser(
        "check",
        help="connect, print backend, server, schema and resources",
        formatter_class=HelpFormatter,
    )
    p.set_defaults(func=check)
    p = sub.add_parser("openapi", help="print the OpenAPI document", formatter_class=HelpFormatter)
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
