"""``omnicrud copy --from URL --to URL``, ``omnicrud export``, ``omnicrud import``: moving
rows between databases (CONTRACT §11). Both sides use the same OMNICRUD_RESOURCES and other
settings; only the database URL differs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import IO, Any

from omnicrud import transfer
from omnicrud.bootstrap import Deployment, load_settings
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable

from .common import HelpFormatter, fail, say

INTERRUPTED = 130


def _deployment(url: str | None) -> Deployment:
    settings = load_settings()
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    return Deployment.load(settings)


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _finish(checks: list[transfer.Check], left: str, right: str) -> int:
    for line in transfer.table(checks, left, right):
        say(line)
    return 0 if all(c.ok for c in checks) else 1


def _guarded(work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a transfer; every failure is one line on stderr."""
    try:
        return asyncio.run(work())
    except KeyboardInterrupt:
        fail("interrupted; every finished batch is kept: run it again with --resume", 0)
        return INTERRUPTED
    except ConfigError as exc:
        return fail(str(exc))
    except transfer.RejectedRow as exc:
        return fail(f"the target cannot hold {exc}; nothing of its batch was written", 1)
    except Unavailable as exc:
        return fail(str(exc), 1)
    except OmnicrudError as exc:
        return fail(str(exc) or type(exc).__name__, 1)


def _copy(args: argparse.Namespace) -> int:
    try:
        source, target = _deployment(args.source), _deployment(args.target)
    except ConfigError as exc:
        return fail(str(exc))

    async def work() -> int:
        progress = None if args.verify_only else transfer.reporter("copy")
        copied, checks = await transfer.copy(
            source,
            target,
            resources=_names(args.resources),
            batch=args.batch,
            resume=args.resume,
            verify_only=args.verify_only,
            progress=progress,
        )
        for c in copied:
            rate = c.rows / c.seconds if c.seconds else 0.0
            say(f"copied {c.resource}: {c.rows:,} rows in {c.seconds:.1f}s ({rate:,.0f} rows/s)")
        return _finish(checks, "source", "target")

    return _guarded(work)


def _export(args: argparse.Namespace) -> int:
    try:
        deployment = _deployment(args.database)
    except ConfigError as exc:
        return fail(str(exc))

    async def work() -> int:
        with ExitStack() as stack:
            out: IO[bytes] = (
                stack.enter_context(open(args.output, "wb"))  # noqa: ASYNC230 - a file, sequentially
                if args.output and args.output != "-"
                else sys.stdout.buffer
            )
            written = await transfer.export(
                deployment,
                out,
                resources=_names(args.resources),
                batch=args.batch,
                progress=transfer.reporter("export"),
            )
        for w in written:
            print(f"exported {w.resource}: {w.rows:,} rows", file=sys.stderr)
        return 0

    return _guarded(work)


def _import(args: argparse.Namespace) -> int:
    try:
        deployment = _deployment(args.database)
    except ConfigError as exc:
        return fail(str(exc))

    async def work() -> int:
        with ExitStack() as stack:
            source: IO[bytes] = (
                stack.enter_context(open(args.file, "rb"))  # noqa: ASYNC230 - read in order
                if args.file and args.file != "-"
                else sys.stdin.buffer
            )
            checks = await transfer.import_(
                deployment,
                source,
                resources=_names(args.resources),
                batch=args.batch,
                resume=args.resume,
                progress=transfer.reporter("import"),
            )
        return _finish(checks, "file", "database")

    return _guarded(work)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resources", metavar="A,B", help="only these resources (default: all)")
    p.add_argument(
        "--batch",
        type=int,
        default=transfer.DEFAULT_BATCH,
        metavar="N",
        help=f"rows per read and per all-or-nothing write (default {transfer.DEFAULT_BATCH})",
    )


def add_transfer_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``omnicrud copy | export | import``, added to the top-level parser's subcommands."""
    p = subparsers.add_parser(
        "copy",
        formatter_class=HelpFormatter,
        help="copy every row to another database (ids, versions, hashes kept), then verify",
    )
    p.add_argument("--from", dest="source", required=True, metavar="URL", help="source database")
    p.add_argument("--to", dest="target", required=True, metavar="URL", help="target database")
    _common(p)
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted copy into a non-empty target"
    )
    p.add_argument(
        "--verify-only",
        action="store_true",
        help="copy nothing: compare counts and checksums of both sides",
    )
    p.set_defaults(func=_copy)
    p = subparsers.add_parser(
        "export",
        formatter_class=HelpFormatter,
        help="write every row as NDJSON (stdout or -o FILE)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default stdout)")
    p.add_argument("--database", metavar="URL", help="database to read (default DATABASE_URL)")
    _common(p)
    p.set_defaults(func=_export)
    p = subparsers.add_parser(
        "import",
        formatter_class=HelpFormatter,
        help="load an NDJSON export (FILE or stdin), then verify",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="file to read (default stdin)")
    p.add_argument("--database", metavar="URL", help="database to load (default DATABASE_URL)")
    _common(p)
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted import (skip rows present)"
    )
    p.set_defaults(func=_import)
