"""The contenders: how each server starts and which scenarios it can run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .env import BENCH, CRUDROUTER_VENV, VENV

APPS = BENCH / "apps"
SCENARIOS = ("get_one", "list", "patch", "post")
RELATED = ("get_one", "list", "list_posts", "list_expand", "patch", "post")
"""The reference and omnicrud also list 50 posts, without and with ``expand=owner``."""
"""Order within one server's turn: reads first, and PATCH before POST so ids stay 1..N."""
UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--workers", "1")
POOL = 64


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


def configs_for(backend: str) -> list[Config]:
    """In the order each round runs them."""
    sql = backend != "mongo"
    found = [
        HELLO,
        Config("reference", RELATED, app=f"ref_{backend}:app"),
        Config("omnicrud", RELATED),
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
