"""The contenders: how each server starts and which scenarios it can run."""

from __future__ import annotations

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
UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--workers", "1")
POOL = 64
AUTH_SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
"""HS256 secret of the authenticated configs (a benchmark, not a deployment)."""


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
            "--log-level",
            "warning",
        ]


HELLO = Config("hello", ("hello",), app="hello:app", ready_path="/hello")


def _bench_token() -> str:
    claims = {"sub": "1", "scope": "items:read", "exp": int(time.time()) + 7 * 86400}
    return jwt.encode(claims, AUTH_SECRET, algorithm="HS256")


def authenticated() -> list[Config]:
    """omnicrud's GET-one with auth on: an HS256 JWT (verified once, then cached per
    token) and an API key (cached up to 5 s). Target: >= 0.9 x the unauthenticated run."""
    env = {"OMNICRUD_JWT_SECRET": AUTH_SECRET, "OMNICRUD_API_KEYS": "true"}
    return [
        Config(
            "omnicrud-jwt",
            ("get_one",),
            ready_path="/livez",
            lua_env={**env, "BENCH_AUTHORIZATION": f"Bearer {_bench_token()}"},
        ),
        Config("omnicrud-key", ("get_one",), ready_path="/livez", lua_env=env, api_key=True),
    ]


def configs_for(backend: str) -> list[Config]:
    """In the order each round runs them."""
    sql = backend != "mongo"
    found = [
        HELLO,
        Config("reference", RELATED, app=f"ref_{backend}:app"),
        Config("omnicrud", RELATED),
        *authenticated(),
    ]
    if sql:
        found.append(
            Config(
                "fastcrud",
                SCENARIOS,
                app="fastcrud_app:app",
                lua_env={"BENCH_LIST_QUERY": "sort=-price&offset=0&limit=50"},
                notes={"list": "FastCRUD also counts the matching rows (total_count) per page"},
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
