"""Real ``omnicrud serve`` processes with ops on, their JSON log lines, and a loopback OTLP/HTTP
receiver that decodes what the SDK exports with ``opentelemetry-proto``."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.processes import OMNICRUD, Server, cli_env, wait_ready
from tests.secantus import free_port

__all__ = ["OtlpReceiver", "Server", "json_lines", "serving", "start", "wait_ready"]


def start(
    database_url: str, workdir: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Server:
    """``omnicrud serve`` with the access log on, JSON logs, on a free port (not waited for)."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    environment = cli_env(database_url, {"OMNICRUD_LOG_FORMAT": "json", **(env or {})})
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [OMNICRUD, "serve", "--port", str(port), *extra],
            env=environment,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", proc, log)


@contextlib.contextmanager
def serving(
    database_url: str, workdir: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    server = start(database_url, workdir, *extra, env=env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` parsed as one JSON object (fails on any other line)."""
    lines = []
    for line in text.splitlines():
        if line.strip():
            value = json.loads(line)
            assert isinstance(value, dict), line
            lines.append(value)
    return lines


def access_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if line["logger"] == "omnicrud.access"]


class OtlpReceiver:
    """``POST /v1/traces`` on 127.0.0.1: keeps every span of every ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend(scope_spans.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.spans)


def attributes(span: Any) -> dict[str, Any]:
    """An OTLP protobuf span's attributes as a plain dict."""
    out: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out
