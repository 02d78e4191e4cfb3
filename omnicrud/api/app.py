"""``create_app(settings)``: the FastAPI app; its lifespan opens and closes the Storage."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from omnicrud import ops
from omnicrud.config import Settings
from omnicrud.core import registry
from omnicrud.core.errors import ConfigError, Unavailable
from omnicrud.core.resources import Resource, check_resources

from . import openapi, problems
from .deps import StorageDep
from .router import crud_router

SERVICE_ROUTES = ("livez", "readyz", "docs", "redoc", "openapi.json", "problems", "metrics")
log = logging.getLogger("omnicrud")


def load_resources(spec: str | None) -> list[Resource]:
    """``package.module:attribute`` -> its list of Resource (the bundled example if None)."""
    if spec is None:
        from omnicrud.example import resources

        return list(resources)
    module_name, _, attr = spec.partition(":")
    try:
        value: Any = getattr(importlib.import_module(module_name), attr or "resources")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"OMNICRUD_RESOURCES={spec!r} cannot be loaded: {exc}") from None
    if callable(value):
        value = value()
    if not isinstance(value, list | tuple) or not all(isinstance(r, Resource) for r in value):
        raise ConfigError(f"OMNICRUD_RESOURCES={spec!r} is not a list of omnicrud.Resource")
    return list(value)


def create_app(
    settings: Settings | None = None, resources: Sequence[Resource] | None = None
) -> FastAPI:
    settings = settings or Settings()
    resources = list(resources) if resources is not None else load_resources(settings.resources)
    check_resources(resources, SERVICE_ROUTES)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage = registry.open_storage(settings, resources)
        await storage.connect()
        try:
            if settings.auto_migrate:
                await storage.ensure_schema()
            else:
                behind = await storage.schema_status()
                if behind is not None:
                    raise ConfigError(f"OMNICRUD_AUTO_MIGRATE is off and {behind}")
            app.state.storage = storage
            log.info(
                "omnicrud: serving %s on %s",
                ", ".join(r.name for r in resources),
                registry.mask_url(settings.database_url),
            )
            yield
        finally:
            await storage.close()

    app = FastAPI(
        title="omnicrud",
        summary="The same REST CRUD API on SQLite, PostgreSQL, MySQL/MariaDB and MongoDB.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=ops.fastapi_telemetry(),
    )
    app.state.settings = settings
    problems.install(app)
    ops.install(app, settings)
    for res in resources:
        # Added as the app's own routes: FastAPI (>= 0.16x) matches an included router as
        # a second routing level, which cost ~25% of a primary-key GET.
        app.router.routes.extend(crud_router(res, settings).routes)

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
            await storage.server_version()
        except Unavailable as exc:
            return problems.problem_response(request, problems.to_problem(exc))
        return Response(b'{"status":"ok"}', media_type="application/json")

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            app.openapi_schema = openapi.finalize(spec, resources)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def openapi_json(app: FastAPI) -> bytes:
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2)
