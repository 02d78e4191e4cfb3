"""The contenders: how each server starts and which scenarios it can run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt

from .env import BENCH, CRUDROUTER_VENV, VENV

APPS = BENCH / "apps"
SCENARIOS = ("get_one", "list", "patch", "post")
RELATED = ("get_one", "list", "list_posts", "list_expand", "patch", "post")
"""The reference and omnicrud also list 50 posts, without and with ``expand=owner``."""
"""Order within one server's turn: reads first, and PATCH before POST so ids stay 1..N."""
UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log")
POOL = 64
MONGO_URL = os.environ.get("MONGO_URL", "")
AUTH_SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
"""HS256 secret of the authenticated configs (a benchmark, not a deployment)."""
CURSOR_SECRET = "bench-cursor-secret"
"""Every server signs cursors with it, so the reference can return omnicrud's bytes."""


@dataclass(frozen=True)
class Config:
    name: str
    scenarios: tuple[str, ...]
    venv: Path = VENV
    app: str = ""
    """``module:attribute`` under bench/apps; empty for omnicrud itself."""
    ready_path: str = "/items/1"
    lua_env: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """scenario -> why it is missing or differs."""
    api_key: bool = False
    """Make an API key (``omnicrud keys create``) and send it as BENCH_AUTHORIZATION."""
    env: dict[str, str] = field(default_factory=dict)
    """The server's own environment on top of DATABASE_URL (not wrk's)."""
    workers: int = 1
    once: bool = False
    """Round 1 only: a config no round-2 issue needs (the framework ceiling, the peers,
    authentication)."""
    otlp: bool = False
    """Tracing on, exporting to the harness's OTLP receiver (harness/otlp.py)."""
    replica: bool = False
    """OMNICRUD_READ_URLS = the database's replica (the postgres-replica backend)."""

    @property
    def pool(self) -> int:
        """Connections per process: 64 in all, however many workers share them."""
        return POOL // self.workers

    def argv(self, port: int) -> list[str]:
        if not self.app:
            omnicrud = str(self.venv / "bin" / "omnicrud")
            return [
                omnicrud,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--no-access-log",
            ]
        python = str(self.venv / "bin" / "python")
        return [
            python,
            "-m",
            "uvicorn",
            self.app,
            "--app-dir",
            str(APPS),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *UVICORN_FLAGS,
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]


HELLO = Config("hello", ("hello",), app="hello:app", ready_path="/hello", once=True)


def _bench_token() -> str:
    claims = {"sub": "1", "scope": "items:read", "exp": int(time.time()) + 7 * 86400}
    return jwt.encode(claims, AUTH_SECRET, algorithm="HS256")


METRICS_OFF = {"OMNICRUD_METRICS": "false"}
"""metrics default to on; every omnicrud config but omnicrud-metrics turns them off."""
TRACE = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_SERVICE_NAME": "omnicrud-bench",
    # OTEL_EXPORTER_OTLP_ENDPOINT: the receiver's URL, set when the server starts.
}
WORKERS = 2


def authenticated() -> list[Config]:
    """omnicrud's GET-one with auth on: an HS256 JWT (verified once, then cached per
    token) and an API key (cached up to 5 s). Target: >= 0.9 x the unauthenticated run."""
    env = {"OMNICRUD_JWT_SECRET": AUTH_SECRET, "OMNICRUD_API_KEYS": "true", **METRICS_OFF}
    return [
        Config(
            "omnicrud-jwt",
            ("get_one",),
            ready_path="/livez",
            lua_env={**env, "BENCH_AUTHORIZATION": f"Bearer {_bench_token()}"},
        ),
        Config(
            "omnicrud-key",
            ("get_one",),
            ready_path="/livez",
            lua_env=env,
            api_key=True,
        ),
    ]


def operations() -> list[Config]:
    """#17: GET-one with /metrics recording (target >= 0.95 x omnicrud) and with tracing
    exported over OTLP/HTTP (target >= 0.7 x)."""
    return [
        Config("omnicrud-metrics", ("get_one",), env={"OMNICRUD_METRICS": "true"}),
        Config("omnicrud-trace", ("get_one",), env={**METRICS_OFF, **TRACE}, otlp=True),
    ]


def two_workers(backend: str, sql: bool) -> list[Config]:
    """#20: omnicrud ``serve --workers 2`` against the reference on 2 uvicorn workers, 32
    connections per process. SecantusDB answers no list in time: GET-one only there."""
    scenarios = ("get_one", "list") if sql or MONGO_URL else ("get_one",)
    return [
        Config(
            "reference-w2",
            scenarios,
            app=f"ref_{backend}:app",
            workers=WORKERS,
            env={"BENCH_POOL": str(POOL // WORKERS)},
        ),
        Config("omnicrud-w2", scenarios, workers=WORKERS, env=METRICS_OFF),
    ]


def replicas() -> list[Config]:
    """#16: GET-one on 2 worker processes against a private primary, without and with its
    streaming replica as OMNICRUD_READ_URLS (the postgres-replica backend)."""
    return [
        Config("omnicrud-w2", ("get_one",), workers=WORKERS, env=METRICS_OFF),
        Config(
            "omnicrud-w2-replica",
            ("get_one",),
            workers=WORKERS,
            env=METRICS_OFF,
            replica=True,
            ready_path="/livez",
        ),
    ]


def configs_for(backend: str) -> list[Config]:
    """In the order each round runs them."""
    if backend == "postgres-replica":
        return [Config("omnicrud", (), env=METRICS_OFF), *replicas()]
    sql = backend != "mongo"
    # SecantusDB answers a prefix list or a PATCH in 150-300 ms: at 64 connections nearly
    # every request times out for both, so only GET-one and POST are measured there.
    related = RELATED if sql or MONGO_URL else ("get_one", "post")
    found = [
        HELLO,
        Config("reference", related, app=f"ref_{backend}:app"),
        Config("omnicrud", related, env=METRICS_OFF),
        *authenticated(),
        *operations(),
        *two_workers(backend, sql),
    ]
    if sql:
        found.append(
            Config(
                "fastcrud",
                SCENARIOS,
                app="fastcrud_app:app",
                lua_env={"BENCH_LIST_QUERY": "sort=-price&offset=0&limit=50"},
                notes={"list": "FastCRUD also counts the matching rows (total_count) per page"},
                once=True,
            )
        )
        found.append(
            Config(
                "crudrouter",
                ("get_one", "patch", "post"),
                venv=CRUDROUTER_VENV,
                app="crudrouter_app:app",
                lua_env={"BENCH_UPDATE": "put"},
                notes={
                    "list": "no filters or sorting on its list route",
                    "patch": "no PATCH route: measured as PUT of the whole item",
                },
                once=True,
            )
        )
    return found


MISSING_PEERS = {
    "mongo": {
        "fastcrud": "SQLAlchemy-only: no MongoDB support",
        "crudrouter": "no MongoDB backend (its routers: memory, SQLAlchemy, databases, "
        "ormar, tortoise, gino)",
    }
}
