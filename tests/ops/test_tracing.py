"""CONTRACT §10 tracing: a server span per request and a client span per statement, parent and
child, ``traceparent`` continued; in-process (in-memory exporter) and end to end (the SDK's
OTLP/HTTP exporter in a real ``omnicrud serve`` against a loopback receiver)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core import hooks
from omnicrud.core.registry import split_scheme
from omnicrud.ops import tracing

from .support import OtlpReceiver, attributes, serving

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
SYSTEMS = {
    "sqlite": {"sqlite"},
    "postgresql": {"postgresql"},
    "postgres": {"postgresql"},
    "mysql": {"mysql", "mariadb"},
    "mariadb": {"mysql", "mariadb"},
    "mongodb": {"mongodb"},
}
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def exporter(database_url: str) -> Iterator[tuple[InMemorySpanExporter, TestClient]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.start(provider)
    try:
        with TestClient(create_app(Settings(database_url=database_url))) as client:
            yield memory, client
    finally:
        tracing.stop()
    assert hooks.db_statement is hooks._no_span  # off again


def test_off_means_no_sdk_and_a_null_hook() -> None:
    assert tracing.state.provider is None
    assert hooks.db_statement("sqlite", "SELECT", "items") is hooks._NULL
    assert tracing.fastapi_telemetry()["tracing"] is False
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing.wanted({})


def test_off_the_sdk_is_never_imported(database_url: str) -> None:
    code = (
        "import sys; from omnicrud.api.app import create_app; from omnicrud.config import "
        f"Settings; create_app(Settings(database_url={database_url!r})); "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_server_span_continues_traceparent_with_a_db_child(
    exporter: tuple[InMemorySpanExporter, TestClient], database_url: str
) -> None:
    memory, client = exporter
    created = client.post("/items", json={"name": "traced", "price": 1.0})
    path = created.headers["location"]
    memory.clear()
    response = client.get(path, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    spans = memory.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(servers) == 1, spans
    server = servers[0]
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/items/{id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.request.method"] == "GET"
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == PARENT_ID
    clients = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert len(clients) == 1, spans
    db = clients[0]
    assert db.name == "SELECT items"
    assert db.attributes is not None
    assert db.attributes["db.operation.name"] == "SELECT"
    assert db.attributes["db.collection.name"] == "items"
    assert db.attributes["db.system.name"] in SYSTEMS[split_scheme(database_url)[0]]
    assert db.parent is not None
    assert db.parent.span_id == server.context.span_id
    assert db.context.trace_id == server.context.trace_id
    values = [str(v) for v in db.attributes.values()]
    assert not any(path.rsplit("/", 1)[1] == v for v in values)  # no parameter values


@pytest.mark.server
def test_otlp_export_end_to_end(database_url: str, tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_SERVICE_NAME": "omnicrud-test",
        }
        with serving(database_url, tmp_path, env=env) as server:
            created = httpx.post(f"{server.url}/items", json={"name": "otlp", "price": 1.0})
            response = httpx.get(
                server.url + created.headers["location"], headers={"traceparent": TRACEPARENT}
            )
            assert response.status_code == 200
            deadline = time.monotonic() + 20
            ours: list[Any] = []
            while time.monotonic() < deadline:
                ours = [s for s in receiver.snapshot() if s.trace_id.hex() == TRACE_ID]
                if len(ours) >= 2:
                    break
                time.sleep(0.1)
    server_spans = [s for s in ours if s.kind == s.SPAN_KIND_SERVER]
    assert len(server_spans) == 1, ours
    server_span = server_spans[0]
    assert attributes(server_span)["http.route"] == "/items/{id}"
    assert server_span.parent_span_id.hex() == PARENT_ID
    db = [s for s in ours if s.kind == s.SPAN_KIND_CLIENT]
    assert len(db) == 1, ours
    assert db[0].parent_span_id == server_span.span_id
    assert attributes(db[0])["db.collection.name"] == "items"
