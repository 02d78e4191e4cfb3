"""``create_app(settings)``: the FastAPI app; its lifespan opens and closes the database."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError, MigrationError, OmnicrudError, Unavailable
from omnicrud.core.resources import Resource

from . import openapi, problems
from .deps import StorageDep
from .docs import install_docs
from .lifecycle import Database
from .router import crud_router

log = logging.getLogger("omnicrud")
STARTUP_FAILURE = 3
"""uvicorn's exit status for a worker that failed to start (its supervisor then stops)."""
READY_TIMEOUT = 1.5
"""/readyz answers within 2 s whatever the database does (CONTRACT §6)."""


def _refuse_to_start(exc: OmnicrudError) -> NoReturn:
    """One line, exit 2: not uvicorn's "Application startup failed" and its traceback."""
    log.debug("details", exc_info=exc)
    print(f"omnicrud: error: {exc}", file=sys.stderr, flush=True)
    logging.shutdown()
    # From inside the event loop (nothing is served yet, nothing to clean up). A worker of
    # `--workers N` exits with uvicorn's start-up failure status, which stops its supervisor
    # rather than restarting the worker over and over.
    os._exit(2 if multiprocessing.parent_process() is None else STARTUP_FAILURE)


def served_app() -> FastAPI:
    """The app ``omnicrud serve`` hands to uvicorn (each worker calls it): a configuration
    or schema error at start-up ends the process with one line and exit status 2."""
    try:
        return create_app(on_startup_error=_refuse_to_start)
    except ConfigError as exc:
        _refuse_to_start(exc)


def create_app(
    settings: Settings | None = None,
    resources: Sequence[Resource] | None = None,
    *,
    on_startup_error: Callable[[OmnicrudError], NoReturn] | None = None,
) -> FastAPI:
    """``on_startup_error``: called with a ConfigError or MigrationError that stops start-up
    (by default it propagates to the ASGI server)."""
    deployment = Deployment.load(settings, resources)
    settings = deployment.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(deployment, app.state)
        try:
            await database.start()
        except (ConfigError, MigrationError) as exc:
            if on_startup_error is None:
                raise
            on_startup_error(exc)
        log.info(
            "serving %s on %s (%s backend)",
            ", ".join(r.name for r in deployment.resources),
            deployment.masked_url,
            deployment.backend.name,
        )
        try:
            yield
        finally:
            await database.stop()

    app = FastAPI(
        title="omnicrud",
        summary="The same REST CRUD API on SQLite, PostgreSQL, MySQL/MariaDB and MongoDB.",
        version=importlib.metadata.version("omnicrud"),
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    install_docs(app, settings)
    problems.install(app)
    crud_paths: set[str] = set()
    for res in deployment.resources:
        # Added as the app's own routes: FastAPI (>= 0.16x) matches an included router as
        # a second routing level, which cost ~25% of a primary-key GET.
        routes = crud_router(res, settings).routes
        app.router.routes.extend(routes)
        crud_paths |= {str(getattr(route, "path", "")) for route in routes}

    async def options(request: Request) -> Response:
        allow = ", ".join(problems.allowed_methods(request))
        return Response(status_code=204, headers={"Allow": allow})

    for path in sorted(crud_paths):
        app.add_api_route(path, options, methods=["OPTIONS"], include_in_schema=False)

    @app.get("/livez", tags=["service"], summary="The process is up")
    async def livez() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get(
        "/readyz",
        tags=["service"],
        summary="The database answers (503 otherwise)",
        responses={503: {"description": "Database unavailable"}},
    )
    async def readyz(request: Request, storage: StorageDep) -> Response:
        try:
            await asyncio.wait_for(storage.server_version(), READY_TIMEOUT)
        except TimeoutError:
            exc = Unavailable("the database did not answer in time")
            return problems.problem_response(request, problems.to_problem(exc))
        except Unavailable as exc:
            return problems.problem_response(request, problems.to_problem(exc))
        return Response(b'{"status":"ok"}', media_type="application/json")

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            app.openapi_schema = openapi.finalize(spec, deployment.resources)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def openapi_json(app: FastAPI) -> bytes:
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2)
