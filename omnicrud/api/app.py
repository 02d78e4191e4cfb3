"""``create_app(settings)``: the FastAPI app; its lifespan opens and closes the database."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.errors import Unavailable
from omnicrud.core.resources import Resource

from . import openapi, problems
from .deps import StorageDep
from .lifecycle import Database
from .nested import build_services, nested_router
from .router import crud_router

log = logging.getLogger("omnicrud")
READY_TIMEOUT = 1.5
"""/readyz answers within 2 s whatever the database does (CONTRACT §6)."""


def create_app(
    settings: Settings | None = None, resources: Sequence[Resource] | None = None
) -> FastAPI:
    deployment = Deployment.load(settings, resources)
    settings = deployment.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(deployment, app.state)
        await database.start()
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
    )
    app.state.settings = settings
    problems.install(app)
    services = build_services(deployment.resources, settings)
    for res in deployment.resources:
        # Added as the app's own routes: FastAPI (>= 0.16x) matches an included router as
        # a second routing level, which cost ~25% of a primary-key GET.
        app.router.routes.extend(crud_router(res, settings, services[res.name]).routes)
    app.router.routes.extend(nested_router(services, settings).routes)

    async def options(request: Request) -> Response:
        allow = ", ".join(problems.allowed_methods(request))
        return Response(status_code=204, headers={"Allow": allow})

    for path in {getattr(route, "path", None) for route in app.router.routes} - {None}:
        app.add_api_route(str(path), options, methods=["OPTIONS"], include_in_schema=False)

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
            relations = next(iter(services.values())).relations if services else None
            app.openapi_schema = openapi.finalize(spec, deployment.resources, relations)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def openapi_json(app: FastAPI) -> bytes:
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2)
