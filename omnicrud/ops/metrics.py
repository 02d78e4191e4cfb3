"""Prometheus metrics with prometheus-client, correct under ``uvicorn --workers N``.

Multiprocess mode is the library's own: ``omnicrud serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at an emptied directory before the workers start (see
``prepare_multiprocess``); each worker then writes its samples to memory-mapped files there
and ``/metrics`` in any worker sums them. With one process the ordinary registry is used
(plus the library's process, platform and GC collectors).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response

from omnicrud.core import hooks

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
"""The route label of a request no route matched (keeps the label set bounded)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "omnicrud_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "omnicrud_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
)
IN_FLIGHT = Gauge(
    "omnicrud_http_requests_in_flight",
    "Requests being answered (sampled when /metrics is read and every few seconds).",
    multiprocess_mode="livesum",
)
POOL = Gauge(
    "omnicrud_db_pool_connections",
    "Database pool connections by state (idle, in_use, max).",
    ["state"],
    multiprocess_mode="livesum",
)
REPLICA_LAG = Gauge(
    "omnicrud_replica_lag_seconds",
    "Each read replica's lag as its last probe saw it (+Inf while it is down).",
    ["replica"],
    multiprocess_mode="max",
)
REPLICA_READS = Counter(
    "omnicrud_replica_reads_total",
    "Reads routed with replicas configured, by where they ran (primary or a replica).",
    ["target"],
)
DB_ERRORS = Counter(
    "omnicrud_db_errors_total",
    "Database failures by kind (unavailable, lost, unique, fk, other).",
    ["kind"],
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def prepare_multiprocess(workers: int) -> Path | None:
    """Before uvicorn forks N workers: set up (and empty) ``PROMETHEUS_MULTIPROC_DIR``.

    An operator's directory is honoured and emptied; with several workers and none set, a
    fresh temporary one is created. Returns the directory, or None for single-process mode.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="omnicrud-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


class Recorder:
    """The per-request half: counter and histogram children cached per label set."""

    def __init__(self) -> None:
        self._count: dict[tuple[str, str, int], Any] = {}
        self._time: dict[tuple[str, str], Any] = {}
        self.in_flight = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        counter = self._count.get(key)
        if counter is None:
            counter = self._count[key] = REQUESTS.labels(method, route, str(status))
        counter.inc()
        timer = self._time.get(key[:2])
        if timer is None:
            timer = self._time[key[:2]] = DURATION.labels(method, route)
        timer.observe(seconds)


def db_error(kind: str) -> None:
    DB_ERRORS.labels(kind).inc()


def replica_read(target: str) -> None:
    REPLICA_READS.labels(target).inc()


def sample(recorder: Recorder, storage: object) -> None:
    """Refresh the gauges from this process's state (called by /metrics and periodically)."""
    IN_FLIGHT.set(recorder.in_flight)
    if isinstance(storage, hooks.PoolStats):
        stats: Mapping[str, int] = storage.pool_stats()
        for state, value in stats.items():
            POOL.labels(state).set(value)
    if isinstance(storage, hooks.ReplicaLag):
        for replica, lag in storage.replica_lag().items():
            REPLICA_LAG.labels(replica).set(lag)


def mark_process_dead() -> None:
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


async def metrics_access(request: Request) -> None:
    """The dependency guarding ``/metrics``: open until auth lands, which overrides it
    (``app.dependency_overrides[metrics_access] = <require the metrics:read scope>``)."""


def endpoint(recorder: Recorder) -> Callable[[Request], Response]:
    def metrics(request: Request) -> Response:
        sample(recorder, getattr(request.app.state, "storage", None))
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            data = generate_latest(registry)
        else:
            data = generate_latest(REGISTRY)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    return metrics
