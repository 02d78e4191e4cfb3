"""Helpers for the HTTP auth tests (every backend): an app with auth on, tokens, and a spy
on the Storage boundary that counts resource statements (the database stays real)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from fastapi.testclient import TestClient
from pydantic import SecretStr

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.storage import Storage

SECRET = "test-secret-that-is-long-enough-for-hs256!"
RESOURCE_CALLS = ("create", "get", "list", "count", "update", "delete")


def token(sub: int | str, *scopes: str, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": str(sub), "scope": " ".join(scopes), "exp": now + 600}
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def auth_settings(settings: Settings, **extra: Any) -> Settings:
    update: dict[str, Any] = {"jwt_secret": SecretStr(SECRET), "api_keys": True}
    update.update(extra)
    return settings.model_copy(update=update)


class StorageSpy:
    """Forwards every call to the real Storage, counting the resource operations."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in RESOURCE_CALLS:
            return attr

        async def spied(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attr(*args, **kwargs)

        return spied


@contextmanager
def auth_client(settings: Settings, **extra: Any) -> Iterator[TestClient]:
    app = create_app(auth_settings(settings, **extra))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def spying(client: TestClient) -> Iterator[StorageSpy]:
    state = client.app.state  # type: ignore[attr-defined]
    real = state.storage
    spy = StorageSpy(real)
    state.storage = spy
    try:
        yield spy
    finally:
        state.storage = real
