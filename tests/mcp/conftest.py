"""Real ``omnicrud serve`` processes with ``OMNICRUD_MCP=true`` on the session's fresh
database: one without authentication, one with HS256 JWTs (tokens minted here)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from tests.processes import Server, cli_env, launch, wait_ready

SECRET = "mcp-tests-secret-0123456789abcdefghijkl"


def token(scopes: str, sub: str = "agent-1") -> str:
    claims = {"sub": sub, "scope": scopes, "exp": int(time.time()) + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _serve(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, extra: dict[str, str]
) -> Iterator[Server]:
    env = cli_env(database_url, {"OMNICRUD_MCP": "true", "OMNICRUD_POOL_SIZE": "4", **extra})
    server = launch(database_url, tmp_path_factory.mktemp("mcp"), env=env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def open_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(database_url, tmp_path_factory, {})


@pytest.fixture(scope="module")
def key_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """API keys on (OMNICRUD_API_KEYS), keys made with ``omnicrud keys create``."""
    yield from _serve(database_url, tmp_path_factory, {"OMNICRUD_API_KEYS": "true"})


@pytest.fixture(scope="module")
def auth_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(database_url, tmp_path_factory, {"OMNICRUD_JWT_SECRET": SECRET})
