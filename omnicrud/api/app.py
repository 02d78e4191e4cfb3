"""``create_app(settings)``: the FastAPI app; its lifespan opens and closes the database."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import logging
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NoReturn

import orjson
from fastapi import FastAPI, Request
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from omnicrud import ops
from omnicrud.auth import METRICS_SCOPE, Authenticator, Forbidden, Unauthorized, grants
from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError, MigrationError, OmnicrudError, Unavailable
from omnicrud.core.health import Readiness
from omnicrud.core.keys import DeploymentKeys
from omnicrud.core.resources import Resource

from . import consistency, openapi, problems
from .deps import StorageDep
from .direct import DirectLane, ResourceLane, build_table
from .docs import install_docs
from .lifecycle import Database
from .login import TOKEN_PATH, accounts_resource, install_login
from .nested import build_services, nested_router
from .openapi_security import secure
from .router import crud_router
from .security import Access, StateAuthStore

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
        app = create_app(on_startup_error=_refuse_to_start)
    except ConfigError as exc:
        _refuse_to_start(exc)
    _freeze_after_startup(app)
    return app


def _freeze_after_startup(app: FastAPI) -> None:
    """``gc.freeze()`` once the app has started: what start-up built (FastAPI, pydantic,
    SQLAlchemy and Alembic modules, the models) lives as long as the process, and without
    this every collection of the older generations walks all of it while the requests in
    flight wait — on PostgreSQL GET-one that made p99 100 ms against a p50 of 10 ms (21 ms
    with it). Only for served processes: test clients build many apps in one process."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(scope_app: Any) -> AsyncIterator[Any]:
        async with inner(scope_app) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan


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
    mcp_run: Callable[[], AbstractAsyncContextManager[None]] | None = None
    state_store: StateAuthStore | None = None
    authenticator = Authenticator()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(deployment, app.state, keys)
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
            async with mcp_run() if mcp_run else contextlib.nullcontext():
                yield
        finally:
            await database.stop()
            await authenticator.aclose()

    closed_docs = auth_configured(settings) and not settings.public_docs
    app = FastAPI(
        title="omnicrud",
        summary="The same REST CRUD API on SQLite, PostgreSQL, MySQL/MariaDB and MongoDB.",
        version=importlib.metadata.version("omnicrud"),
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc without a CDN
        redoc_url=None,
        openapi_url=None if closed_docs else "/openapi.json",
        telemetry=ops.fastapi_telemetry(),
    )
    app.state.settings = settings
    keys = DeploymentKeys(settings.cursor_secret)
    if not closed_docs:
        install_docs(app, settings)
    problems.install(app)
    ops.install(app, settings)
    if auth_configured(settings):
        # A backend without stores (a plugin without auth_store): no API keys, no login.
        stores = deployment.backend.auth_store is not None
        state_store = StateAuthStore(app.state) if stores else None
        authenticator = Authenticator.from_settings(settings, key_store=state_store)
    app.state.authenticator = authenticator
    if authenticator.enabled:
        app.dependency_overrides[ops.metrics_access] = metrics_guard(authenticator)
    services = build_services(deployment.resources, settings, authenticator.enabled, keys)
    crud_paths: set[str] = set()
    for res in deployment.resources:
        # Added as the app's own routes: FastAPI (>= 0.16x) matches an included router as
        # a second routing level, which cost ~25% of a primary-key GET.
        routes = crud_router(res, settings, authenticator, services[res.name]).routes
        app.router.routes.extend(routes)
        crud_paths |= {str(getattr(route, "path", "")) for route in routes}
    nested = nested_router(services, settings, authenticator).routes
    app.router.routes.extend(nested)
    crud_paths |= {str(getattr(route, "path", "")) for route in nested}
    accounts = accounts_resource(deployment.resources)
    login = state_store is not None and accounts is not None and settings.jwt_secret is not None
    if login and state_store is not None and accounts is not None:
        install_login(app, settings, accounts, state_store)

    async def options(request: Request) -> Response:
        allow = ", ".join(problems.allowed_methods(request))
        return Response(status_code=204, headers={"Allow": allow})

    for path in sorted(crud_paths):
        app.add_api_route(path, options, methods=["OPTIONS"], include_in_schema=False)

    if settings.mcp:
        # Lazy on purpose: the mcp SDK is an optional extra, imported only when /mcp is on.
        from omnicrud.mcp import PATH, McpEndpoint  # noqa: PLC0415

        endpoint = McpEndpoint(
            deployment.resources,
            settings,
            authenticator,
            app.state,
            services=[services[res.name] for res in deployment.resources],
        )
        app.router.routes.append(Route(PATH, endpoint))
        mcp_run = endpoint.run

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
            check = storage.ready() if isinstance(storage, Readiness) else storage.server_version()
            await asyncio.wait_for(check, READY_TIMEOUT)
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
            spec = openapi.finalize(spec, deployment.resources, relations)
            if authenticator.enabled:
                secure(spec, deployment.resources, TOKEN_PATH if login else None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    if closed_docs:

        @app.get("/openapi.json", include_in_schema=False)
        async def private_openapi(request: Request) -> Response:
            """With OMNICRUD_PUBLIC_DOCS=false: for any valid credentials (401 otherwise)."""
            who = await authenticator.authenticate(request.headers.get("authorization"))
            if who.kind == "anonymous":
                raise Unauthorized("missing", token_sent=False)
            return Response(openapi_json(app), media_type="application/json")

    consistency.install(app.router.routes, keys, replicas=bool(settings.read_urls))
    if not ops.tracing_on():  # with tracing, FastAPI's own telemetry makes the server spans
        lanes = {
            res.name: ResourceLane(
                services[res.name], Access(authenticator, res), settings, app.state
            )
            for res in deployment.resources
        }
        table = build_table(lanes, app.router.routes, keys, replicas=bool(settings.read_urls))
        # Appended, not add_middleware (which prepends): innermost, inside CORS and ops.
        app.user_middleware.append(Middleware(DirectLane, table=table))
    return app


def metrics_guard(authenticator: Authenticator) -> Callable[[Request], Awaitable[None]]:
    """``/metrics`` with auth on: the ``metrics:read`` scope (CONTRACT §7)."""

    async def guard(request: Request) -> None:
        who = await authenticator.authenticate(request.headers.get("authorization"))
        if not grants(who, METRICS_SCOPE):
            if who.kind == "anonymous":
                raise Unauthorized("missing", token_sent=False)
            raise Forbidden(METRICS_SCOPE)

    return guard


def auth_configured(settings: Settings) -> bool:
    """Whether the settings turn authentication on (CONTRACT §7: off unless configured)."""
    return bool(
        settings.jwt_secret or settings.jwks_url or settings.oidc_issuer or settings.api_keys
    )


def openapi_json(app: FastAPI) -> bytes:
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2)
