"""Helpers shared by the conformance tests: unique values, row factories, problem checks."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

PROBLEM_JSON = "application/problem+json"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ITEM_KEYS = ["id", "name", "description", "price", "created_at", "updated_at"]
USER_KEYS = ["id", "username", "email", "full_name", "is_active", "created_at", "updated_at"]
POST_KEYS = ["id", "title", "body", "owner_id", "created_at", "updated_at"]
MISSING_ID = 9_000_000_000_000
"""An id no test ever reaches (ids grow from 1)."""

# Text that would betray an internal error leaking into a response.
LEAKS = (
    "Traceback",
    'File "',
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    " WHERE ",
    "E11000",
    "IntegrityError",
    "Exception",
    "Error(",
    "errmsg",
)
DRIVER_NAMES = (
    "sqlite3",
    "aiosqlite",
    "asyncpg",
    "aiomysql",
    "pymysql",
    "pymongo",
    "sqlalchemy",
    "constraint failed",
    "duplicate key",
    "duplicate entry",
)


def uid() -> str:
    """A fresh prefix for names, so a test sees only its own rows."""
    return "t" + uuid.uuid4().hex[:12]


def assert_no_leak(response: httpx.Response) -> None:
    text = response.text
    for leak in LEAKS:
        assert leak not in text, f"response leaks {leak!r}: {text}"
    for name in DRIVER_NAMES:
        assert name not in text.lower(), f"response leaks {name!r}: {text}"


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert ``response`` is the problem ``slug`` with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:omnicrud:problem:{slug}", body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    assert_no_leak(response)
    return body


def error_locs(body: dict[str, Any]) -> list[list[Any]]:
    """The ``loc`` of every entry of a 422 problem's ``errors``, checking their shape."""
    errors = body["errors"]
    assert isinstance(errors, list), body
    assert errors, body
    for e in errors:
        assert sorted(e) == ["loc", "msg", "type"], e
        assert isinstance(e["msg"], str)
        assert isinstance(e["type"], str)
    return [e["loc"] for e in errors]


def invalid(response: httpx.Response, *loc: Any) -> dict[str, Any]:
    """Assert a 422 whose errors name exactly ``loc`` (among possibly others: first match)."""
    body = problem(response, 422, "validation-error")
    assert list(loc) in error_locs(body), (loc, body["errors"])
    return body


def created(response: httpx.Response) -> Any:
    """The body of a 201: one row, or a list of rows for a bulk create."""
    assert response.status_code == 201, response.text
    return response.json()


def created_row(response: httpx.Response) -> dict[str, Any]:
    row = created(response)
    assert isinstance(row, dict), row
    return row


def make_item(client: TestClient, name: str, price: float = 1.0, **extra: Any) -> dict[str, Any]:
    return created_row(client.post("/items", json={"name": name, "price": price, **extra}))


def user_body(tag: str, **extra: Any) -> dict[str, Any]:
    body = {"username": tag, "email": f"{tag}@example.com", "password": f"pw-{tag}-secret"}
    body.update(extra)
    return body


def make_user(client: TestClient, tag: str, **extra: Any) -> dict[str, Any]:
    return created_row(client.post("/users", json=user_body(tag, **extra)))


def make_post(client: TestClient, owner_id: int, title: str, **extra: Any) -> dict[str, Any]:
    row = {"title": title, "owner_id": owner_id, **extra}
    return created_row(client.post("/posts", json=row))


def listing(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert list(body) == ["items", "next_cursor", "total"], body
    return body


def names(client: TestClient, prefix: str, **params: Any) -> list[str]:
    """Names (without ``prefix``) of the items starting with ``prefix``, in the API's order.

    A ``name__startswith`` in ``params`` replaces the prefix filter (it must start with it).
    """
    query: dict[str, Any] = {"name__startswith": prefix, "limit": 1000, **params}
    assert query["name__startswith"].startswith(prefix)
    body = listing(client, "/items", **query)
    return [row["name"].removeprefix(prefix) for row in body["items"]]
