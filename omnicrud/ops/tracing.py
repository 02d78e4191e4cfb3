"""OpenTelemetry tracing, configured only from the standard ``OTEL_*`` variables.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an OTLP endpoint
is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``..._TRACES_ENDPOINT``), and never when
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``. Off, the SDK is not imported and
nothing runs per request: FastAPI's own telemetry stays switched off and the storage hook
stays the shared null context.

The server span per request is FastAPI's native telemetry (semantic conventions,
``http.route`` the template, W3C ``traceparent`` through the global propagator) given our
provider; this module adds the client span per database statement.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from fastapi.telemetry import TelemetryConfig
from opentelemetry.trace import SpanKind  # the API (FastAPI imports it anyway), not the SDK

from omnicrud.core import hooks

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider

SERVICE_NAME = "omnicrud"


def wanted(env: dict[str, str] | None = None) -> bool:
    """Do the ``OTEL_*`` variables ask for traces?"""
    env = dict(os.environ) if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


class _State:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None


state = _State()


def _provider_from_env() -> TracerProvider:
    """The SDK's provider with the exporter the environment names (lazy: tracing is on)."""
    from opentelemetry.sdk.resources import (  # noqa: PLC0415 - optional SDK, only when on
        OTELResourceDetector,
        Resource,
    )
    from opentelemetry.sdk.trace import (  # noqa: PLC0415 - optional SDK, only when on
        TracerProvider as SdkTracerProvider,
    )
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415 - optional SDK, only when on
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    resource = Resource.create({"service.name": SERVICE_NAME}).merge(
        OTELResourceDetector().detect()
    )
    provider = SdkTracerProvider(resource=resource)
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")
    for name in (n.strip() for n in names):
        exporter: SpanExporter
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            )
            if protocol != "http/protobuf":
                raise RuntimeError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: omnicrud ships the "
                    "http/protobuf exporter only"
                )
            # lazy (PLC0415): optional exporter, only when on
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

            exporter = OTLPSpanExporter()
        else:
            continue
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def start(provider: TracerProvider | None = None) -> TracerProvider | None:
    """Turn tracing on with ``provider`` (tests) or the one the environment asks for.

    Idempotent per process; returns the provider, or None when tracing is off.
    """
    if provider is None and state.provider is not None:
        return state.provider
    if provider is None:
        if not wanted():
            return None
        provider = _provider_from_env()
    state.provider = provider
    state.tracer = provider.get_tracer("omnicrud")
    hooks.set_statement_hook(_db_span)
    return provider


def stop() -> None:
    """Flush and forget the provider (end of the process, or a test)."""
    provider, state.provider, state.tracer = state.provider, None, None
    hooks.set_statement_hook(None)
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()


def _db_span(system: str, operation: str, collection: str) -> AbstractContextManager[object]:
    tracer = state.tracer
    assert tracer is not None
    return tracer.start_as_current_span(
        f"{operation} {collection}",
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": system,
            "db.operation.name": operation,
            "db.collection.name": collection,
        },
    )


def fastapi_telemetry() -> TelemetryConfig:
    """``FastAPI(telemetry=...)``: its server spans with our provider, or all off (its
    per-request check then costs three dictionary reads)."""
    provider = state.provider
    return {
        "tracing": provider is not None,
        "tracer_provider": provider,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }
