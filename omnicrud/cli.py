"""``omnicrud serve | check | openapi``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
import sys
from collections.abc import Sequence

from omnicrud import ops
from omnicrud.config import Settings
from omnicrud.core import registry
from omnicrud.core.errors import ConfigError, OmnicrudError, Unavailable
from omnicrud.core.resources import Resource
from omnicrud.migrations.cli import add_db_commands


def _fail(message: str, code: int = 2) -> int:
    print(f"omnicrud: error: {message}", file=sys.stderr)
    return code


def _prepare() -> tuple[Settings, list[Resource], registry.Backend]:
    """Settings, resources and backend, or ConfigError with a one-line reason."""
    from omnicrud.api.app import SERVICE_ROUTES, load_resources
    from omnicrud.core.resources import check_resources

    try:
        settings = Settings()
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}".replace("\n", " ")) from None
    resources = load_resources(settings.resources)
    check_resources(resources, SERVICE_ROUTES)
    backend = registry.load(settings.database_url)
    registry.check_driver(backend)
    return settings, resources, backend


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings, resources, _ = _prepare()
        _reach(settings, resources)  # one clear line now rather than a traceback from uvicorn
    except ConfigError as exc:
        return _fail(str(exc))
    except (Unavailable, TimeoutError):
        return _unreachable(settings)
    log_config = ops.configure_logging(settings, args.log_level, args.access_log)
    ops.prepare_serve(args.workers)
    signal.signal(signal.SIGTERM, _exit_zero)  # uvicorn re-raises SIGTERM once it has drained
    logging.getLogger("omnicrud").info(
        "omnicrud: %s -> http://%s:%s/docs",
        registry.mask_url(settings.database_url),
        args.host,
        args.port,
    )
    uvicorn.run(
        "omnicrud.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        access_log=False,  # omnicrud.ops writes the access line
        log_config=log_config,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        log_level=args.log_level,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
    )
    return 0


def _exit_zero(sig: int, frame: object) -> None:
    raise SystemExit(0)


async def _server_version(settings: Settings, resources: Sequence[Resource]) -> str:
    storage = registry.open_storage(settings, resources)
    await storage.connect()
    try:
        if not settings.auto_migrate and (behind := await storage.schema_status()):
            raise ConfigError(f"OMNICRUD_AUTO_MIGRATE is off and {behind}")
        return await storage.server_version()
    finally:
        await storage.close()


def _reach(settings: Settings, resources: Sequence[Resource]) -> str:
    """The server's version; Unavailable or TimeoutError when it cannot be reached,
    ConfigError when auto-migrate is off and the schema is behind."""
    timeout = settings.connect_timeout * 2 + 1
    return asyncio.run(asyncio.wait_for(_server_version(settings, resources), timeout))


def _unreachable(settings: Settings) -> int:
    return _fail(f"the database cannot be reached: {registry.mask_url(settings.database_url)}", 1)


def _check(settings: Settings, resources: Sequence[Resource], backend: str) -> None:
    version = _reach(settings, resources)
    print(f"backend:  {backend}")
    print(f"database: {registry.mask_url(settings.database_url)}")
    print(f"server:   {version}")
    for res in resources:
        fields = ", ".join(f.name + ("*" if f.secret else "") for f in res.fields)
        print(f"resource: /{res.name} ({fields})")


def check(args: argparse.Namespace) -> int:
    try:
        settings, resources, backend = _prepare()
        _check(settings, resources, backend.name)
    except ConfigError as exc:
        return _fail(str(exc))
    except (Unavailable, TimeoutError):
        return _unreachable(settings)
    except OmnicrudError as exc:
        return _fail(str(exc), 1)
    return 0


def openapi(args: argparse.Namespace) -> int:
    from omnicrud.api.app import create_app, openapi_json

    try:
        app = create_app()
    except ConfigError as exc:
        return _fail(str(exc))
    sys.stdout.write(openapi_json(app).decode() + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="omnicrud",
        description="REST CRUD API on the database named by DATABASE_URL.",
    )
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=serve)
    p = sub.add_parser("check", help="connect, print backend, server version and resources")
    p.set_defaults(func=check)
    p = sub.add_parser("openapi", help="print the OpenAPI document")
    p.set_defaults(func=openapi)
    add_db_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
