"""CONTRACT §10 logs: JSON lines, one access line per request with the route template,
status and request id; no password, token, API key or Authorization value in any line."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import pytest

from omnicrud.core.registry import split_scheme

from .support import access_lines, json_lines, serving

pytestmark = pytest.mark.server

SECRETS = (
    "secret-token-xyz",
    "hunter2secret",
    "user-password-123",
    "sekrit-apikey-777",
)


def with_password(url: str) -> str:
    """PostgreSQL (trust auth on the test server ignores it): the URL with a password."""
    if split_scheme(url)[0] not in ("postgresql", "postgres"):
        return url
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}:hunter2secret@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_json_access_lines_and_no_secret_in_any_line(database_url: str, tmp_path: Path) -> None:
    with serving(with_password(database_url), tmp_path) as server:
        auth = {"Authorization": "Bearer secret-token-xyz", "X-API-Key": "sekrit-apikey-777"}
        with httpx.Client(base_url=server.url, headers=auth) as client:
            created = client.post("/items", json={"name": "logged", "price": 2.0})
            assert created.status_code == 201, created.text
            path = created.headers["location"]
            got = client.get(path, headers={"X-Request-ID": "trace-me.1"})
            assert got.headers["x-request-id"] == "trace-me.1"
            user = {"username": "u" + path[-6:].replace("/", ""), "email": "l@example.com"}
            made = client.post("/users", json={**user, "password": "user-password-123"})
            assert made.status_code in (201, 409), made.text
            bad = client.post("/users", json={"password": "user-password-123"})
            assert bad.status_code == 422
            assert bad.json()["request_id"] == bad.headers["x-request-id"]
            assert client.get("/items?api_key=sekrit-apikey-777").status_code == 400
            missing = client.get("/items/999999999", headers={"X-Request-ID": "bad id!"})
            assert missing.status_code == 404
            replaced = missing.headers["x-request-id"]
            assert replaced != "bad id!"
            assert missing.json()["request_id"] == replaced
            assert client.get("/no/such/route").status_code == 404
    text = server.output()
    lines = json_lines(text)  # every line is JSON
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into the log"
    assert "authorization" not in text.lower()
    access = access_lines(text)
    seen = [(a["method"], a["route"], a["status"]) for a in access if a["route"] != "/readyz"]
    assert seen == [
        ("POST", "/items", 201),
        ("GET", "/items/{id}", 200),
        ("POST", "/users", made.status_code),
        ("POST", "/users", 422),
        ("GET", "/items", 400),
        ("GET", "/items/{id}", 404),
        ("GET", "unmatched", 404),
    ]
    by_id = {a["request_id"]: a for a in access}
    assert by_id["trace-me.1"]["route"] == "/items/{id}"
    assert by_id[replaced]["status"] == 404
    for a in access:
        assert set(a) >= {"time", "level", "request_id", "method", "route", "status"}
        assert {"duration_ms", "subject", "client"} <= set(a)
        assert a["duration_ms"] >= 0
        assert a["client"].startswith("127.0.0.1:")
    messages = " ".join(str(line["message"]) for line in lines)
    assert "serving items, users, posts" in messages
    assert "started: backend" in messages
    assert not any(line["logger"] == "uvicorn.access" for line in lines)


def test_access_line_names_the_subject(database_url: str, tmp_path: Path) -> None:
    """With auth on, the access line's ``subject`` is the token's ``sub`` (CONTRACT §10),
    on the direct lane (GET one, list) and on the app's routes (HEAD, a nested list)."""
    secret = "log-subject-secret-0123456789abcdef"
    token = jwt.encode(
        {"sub": "7", "scope": "items:read", "exp": int(time.time()) + 300}, secret, "HS256"
    )
    env = {"OMNICRUD_JWT_SECRET": secret}
    auth = {"Authorization": f"Bearer {token}"}
    with serving(database_url, tmp_path, env=env) as server, httpx.Client() as client:
        assert client.get(f"{server.url}/items/999999999", headers=auth).status_code == 404
        assert client.get(f"{server.url}/items?limit=1", headers=auth).status_code == 200
        assert client.head(f"{server.url}/items?limit=1", headers=auth).status_code == 200
        assert client.get(f"{server.url}/items?limit=1").status_code == 401
    access = [a for a in access_lines(server.output()) if a["route"] != "/readyz"]
    assert [(a["method"], a["status"], a["subject"]) for a in access] == [
        ("GET", 404, "7"),
        ("GET", 200, "7"),
        ("HEAD", 200, "7"),
        ("GET", 401, None),
    ]
