"""``omnicrud serve``: check the configuration, bring the schema up to date when the
database answers, then hand over to uvicorn (whose workers do the same, under a lock)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from omnicrud import ops
from omnicrud.api.app import auth_configured
from omnicrud.auth import LOOPBACK_HOSTS
from omnicrud.bootstrap import Deployment, open_database
from omnicrud.core.errors import ConfigError, MigrationError, Unavailable

from .common import LOG_LEVELS, HelpFormatter, fail, setup_logging

APP = "omnicrud.api.app:served_app"
"""The factory each worker calls: a start-up error is one line and exit 2, no traceback."""


async def _prepare(deployment: Deployment) -> list[str]:
    storage, applied = await open_database(deployment)
    await storage.close()
    return applied


def serve(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    try:
        deployment = Deployment.load()
    except ConfigError as exc:
        return fail(str(exc))
    settings = deployment.settings
    # From here on every line is a log line in the configured format (JSON off a terminal),
    # the schema actions included.
    log_config = ops.configure_logging(settings, args.log_level, args.access_log)
    log = logging.getLogger("omnicrud")
    try:  # one clear line now rather than a traceback from uvicorn's lifespan
        timeout = settings.connect_timeout * 2 + 1
        for line in asyncio.run(asyncio.wait_for(_prepare(deployment), timeout)):
            log.info("applied %s", line)
    except (ConfigError, MigrationError) as exc:
        return fail(str(exc))
    except (Unavailable, TimeoutError):
        log.warning("%s cannot be reached yet; serving 503 until it can", deployment.masked_url)
    if args.host not in LOOPBACK_HOSTS and not auth_configured(settings):
        log.warning(
            "serving %s without authentication: anyone who reaches the port may read and "
            "write everything (see README: Authentication)",
            args.host,
        )
    ops.prepare_serve(args.workers, settings)
    signal.signal(signal.SIGTERM, _exit_zero)  # uvicorn re-raises SIGTERM once it has drained
    log.info("%s -> http://%s:%s/docs", deployment.masked_url, args.host, args.port)
    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "reload": args.reload,
        "access_log": False,  # omnicrud.ops writes the access line
        "log_config": log_config,
        "timeout_graceful_shutdown": settings.shutdown_timeout,
        "log_level": args.log_level,
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
    }
    if args.workers > 1 and not args.reload:
        return _supervise(uvicorn.Config(APP, **options))
    uvicorn.run(APP, **options)
    return 0


def _supervise(config: uvicorn.Config) -> int:
    """``--workers N``: uvicorn's supervisor, and exit 2 when a worker failed to start
    (``uvicorn.run`` returns normally then, which would make the parent exit 0)."""
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return 2 if failed else 0


def _exit_zero(sig: int, frame: object) -> None:
    raise SystemExit(0)


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the API",
        description="Serve the API: the schema is brought up to date first (when\n"
        "OMNICRUD_AUTO_MIGRATE is on), then uvicorn starts.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    p.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="no access log line per request (logged by default)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=LOG_LEVELS,
        help="debug also shows the details (tracebacks) behind an error line",
    )
    p.set_defaults(func=serve)
