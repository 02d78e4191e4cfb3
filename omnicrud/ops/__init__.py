"""Operations (CONTRACT §10): logs, request ids, metrics, tracing, CORS, graceful shutdown.

The app factory calls ``install(app, settings)`` (and passes ``fastapi_telemetry()`` to
``FastAPI``); ``omnicrud serve`` calls ``configure_logging`` and ``prepare_serve`` before
uvicorn starts and hands uvicorn the returned logging config. Backends and auth talk to
``omnicrud.core.hooks`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from omnicrud.config import Settings
from omnicrud.core import hooks
from omnicrud.core.hooks import set_subject

from . import logs, metrics, tracing
from .metrics import metrics_access
from .middleware import Drain, OpsMiddleware

__all__ = [
    "configure_logging",
    "fastapi_telemetry",
    "hooks",
    "install",
    "metrics_access",
    "prepare_serve",
    "set_subject",
    "tracing_on",
]

EXPOSED_HEADERS = ["ETag", "Location", "Omnicrud-Consistency", "X-Request-ID"]
SAMPLE_EVERY = 5.0
"""Seconds between refreshes of this process's gauges (in-flight, pool)."""
log = logging.getLogger("omnicrud.ops")


def configure_logging(
    settings: Settings, level: str = "INFO", access_log: bool = True
) -> dict[str, Any]:
    """Configure logging now (CLI) and return the dictConfig for uvicorn's ``log_config``."""
    fmt = logs.resolve_format(settings.log_format)
    return logs.configure(fmt, level, access_log and settings.access_log)


def prepare_serve(workers: int, settings: Settings) -> None:
    """Before uvicorn starts (and forks workers): the metrics' multiprocess directory
    (none when metrics are off)."""
    if settings.metrics:
        metrics.prepare_multiprocess(workers)


def fastapi_telemetry() -> TelemetryConfig:
    """``FastAPI(telemetry=...)``: turns tracing on from ``OTEL_*`` first (once a process)."""
    tracing.start()
    return tracing.fastapi_telemetry()


def tracing_on() -> bool:
    """Whether this process exports traces (decided by ``fastapi_telemetry`` at app creation)."""
    return tracing.state.provider is not None


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip() for o in settings.cors_origins.split(",") if o.strip()]


def install(app: FastAPI, settings: Settings) -> None:
    """Add request ids, the access line, /metrics, CORS and the SIGTERM drain to ``app``."""
    recorder = metrics.Recorder() if settings.metrics else None
    drain = Drain()
    app.state.drain = drain
    if recorder is not None:
        hooks.set_error_hook(metrics.db_error)
        hooks.set_replica_hook(metrics.replica_read)
        app.add_api_route(
            "/metrics",
            metrics.endpoint(recorder),
            methods=["GET"],
            dependencies=[Depends(metrics_access)],
            include_in_schema=False,
        )
    origins = cors_origins(settings)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    build = app.build_middleware_stack

    def build_with_ops() -> ASGIApp:
        return OpsMiddleware(build(), recorder=recorder, access=settings.access_log, drain=drain)

    app.build_middleware_stack = build_with_ops  # type: ignore[method-assign]
    app.router.lifespan_context = _lifespan(app.router.lifespan_context, recorder, drain)


def _lifespan(
    inner: Callable[[Any], AbstractAsyncContextManager[Any]],
    recorder: metrics.Recorder | None,
    drain: Drain,
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            storage = getattr(app.state, "storage", None)
            log.info(
                "started: backend %s, tracing %s, metrics %s",
                getattr(storage, "backend_name", type(storage).__name__),
                "on" if tracing.state.provider is not None else "off",
                "multiprocess" if metrics.multiprocess_mode() else "on" if recorder else "off",
            )
            restore = _drain_on_sigterm(drain)
            sampler = asyncio.create_task(_sample(recorder, storage)) if recorder else None
            try:
                yield state
            finally:
                if sampler is not None:
                    sampler.cancel()
                restore()
                metrics.mark_process_dead()
                tracing.stop()

    return lifespan


def _drain_on_sigterm(drain: Drain) -> Callable[[], None]:
    """SIGTERM: flag the drain (``/readyz`` 503 at once), then uvicorn's own handler (stop
    accepting, finish requests in flight up to ``timeout_graceful_shutdown``, exit)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # in-process test clients: no signals
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(sig: int, frame: Any) -> None:
        drain.draining = True
        log.info("SIGTERM: draining requests in flight; /readyz answers 503")
        if callable(previous):
            previous(sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore


async def _sample(recorder: metrics.Recorder | None, storage: object) -> None:
    if recorder is None:
        return
    while True:
        with contextlib.suppress(Exception):  # a gauge is never worth a crash
            metrics.sample(recorder, storage)
        await asyncio.sleep(SAMPLE_EVERY)
