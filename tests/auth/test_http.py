"""CONTRACT §7 over HTTP on the backend of ``DATABASE_URL``: 401/403 decided before any
resource statement, the scope matrix of every route, open service routes, OpenAPI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from omnicrud.config import Settings
from tests.auth.service import SECRET, auth_client, bearer, spying, token
from tests.conformance.support import problem, uid


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with auth_client(settings) as client:
        yield client


@pytest.fixture(scope="module")
def item_id(api: TestClient) -> int:
    made = api.post("/items", json={"name": uid(), "price": 1.0}, headers=bearer(token(1, "admin")))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _now() -> int:
    return int(time.time())


BAD_TOKENS: list[tuple[str, dict[str, str], bool]] = [
    # (case, headers, token_sent)
    ("no credentials", {}, False),
    ("basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}, False),
    ("empty bearer", {"Authorization": "Bearer "}, True),
    ("garbage", bearer("not-a-jwt"), True),
    ("expired", bearer(token(1, "admin", exp=_now() - 3600)), True),
    ("not yet valid", bearer(token(1, "admin", nbf=_now() + 3600)), True),
    (
        "wrong secret",
        bearer(
            jwt.encode(
                {"sub": "1", "exp": _now() + 60, "scope": "admin"}, "x" * 40, algorithm="HS256"
            )
        ),
        True,
    ),
    (
        "alg none",
        bearer(jwt.encode({"sub": "1", "exp": _now() + 60}, "", algorithm="none")),
        True,
    ),
    ("no exp", bearer(jwt.encode({"sub": "1", "scope": "admin"}, SECRET, algorithm="HS256")), True),
    (
        "no sub",
        bearer(jwt.encode({"exp": _now() + 60, "scope": "admin"}, SECRET, algorithm="HS256")),
        True,
    ),
    ("too large", bearer(token(1, "admin", pad="x" * 9000)), True),
    ("unknown api key", bearer("ock_0123456789abcdef_" + "A" * 43), True),
    ("malformed api key", bearer("ock_nope"), True),
]


@pytest.mark.parametrize(("case", "headers", "sent"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/items/{id}"),
        ("GET", "/items"),
        ("POST", "/items"),
        ("PATCH", "/items/{id}"),
        ("PUT", "/items/{id}"),
        ("DELETE", "/items/{id}"),
        ("HEAD", "/items/{id}"),
    ],
)
def test_bad_credentials_are_401_before_any_resource_statement(
    api: TestClient,
    item_id: int,
    case: str,
    headers: dict[str, str],
    sent: bool,
    method: str,
    path: str,
) -> None:
    body: Any = {"name": "x", "price": 1.0} if method in ("POST", "PUT") else None
    if method == "PATCH":
        body = {"price": 2.0}
    with spying(api) as spy:
        r = api.request(method, path.format(id=item_id), json=body, headers=headers)
    assert spy.calls == [], spy.calls
    assert r.status_code == 401, r.text
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) == sent, challenge
    if method != "HEAD":
        body_ = problem(r, 401, "unauthorized")
        for secret in (SECRET, headers.get("Authorization", "-")[7:] or "-"):
            assert secret not in r.text or secret == "-", body_


ROUTES = [
    ("GET", "/items", "read"),
    ("HEAD", "/items", "read"),
    ("GET", "/items/{id}", "read"),
    ("HEAD", "/items/{id}", "read"),
    ("POST", "/items", "write"),
    ("PUT", "/items/{id}", "write"),
    ("PATCH", "/items/{id}", "write"),
    ("DELETE", "/items/{id}", "write"),
]
CALLERS: dict[str, tuple[str, ...] | None] = {
    "none": None,
    "read": ("items:read",),
    "write": ("items:write",),
    "other": ("posts:read", "posts:write"),
    "star": ("*:read", "*:write"),
    "admin": ("admin",),
}


def _expected(caller: str, action: str) -> int:
    if caller == "none":
        return 401
    if caller in ("admin", "star") or caller == action:
        return 0  # success
    return 403


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize(("method", "path", "action"), ROUTES)
def test_scope_matrix(api: TestClient, caller: str, method: str, path: str, action: str) -> None:
    admin = bearer(token(1, "admin"))
    made = api.post("/items", json={"name": uid(), "price": 1.0}, headers=admin)
    row_id = made.json()["id"]
    scopes = CALLERS[caller]
    headers = {} if scopes is None else bearer(token(7, *scopes))
    body: Any = None
    if method in ("POST", "PUT"):
        body = {"name": uid(), "price": 3.0}
    elif method == "PATCH":
        body = {"price": 4.0}
    with spying(api) as spy:
        r = api.request(method, path.format(id=row_id), json=body, headers=headers)
    expected = _expected(caller, action)
    if expected:
        assert r.status_code == expected, r.text
        assert spy.calls == []
        challenge = r.headers["www-authenticate"]
        if expected == 403:
            assert challenge == f'Bearer error="insufficient_scope", scope="items:{action}"'
            if method != "HEAD":
                problem(r, 403, "forbidden")
        else:
            assert challenge == "Bearer"
        after = api.get(f"/items/{row_id}", headers=admin).json()
        assert after["price"] == 1.0  # nothing changed
    else:
        assert r.status_code in (200, 201, 204), r.text


def test_service_routes_stay_open(api: TestClient) -> None:
    assert api.get("/livez").status_code == 200
    assert api.get("/readyz").status_code == 200
    assert api.get("/docs").status_code == 200
    spec = api.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["oauth2"]["flows"]["password"]["tokenUrl"] == "/auth/token"
    op = spec["paths"]["/items/{id}"]["patch"]
    assert {"oauth2": ["items:write"]} in op["security"]
    assert {"oauth2": ["items:read"]} in spec["paths"]["/items"]["get"]["security"]
    assert "401" in op["responses"]
    assert "403" in op["responses"]


def test_docs_can_be_closed(settings: Settings) -> None:
    with auth_client(settings, public_docs=False) as client:
        r = client.get("/openapi.json")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        with_token = client.get("/openapi.json", headers=bearer(token(1, "items:read")))
        assert with_token.status_code == 200
        assert "securitySchemes" in with_token.json()["components"]
        assert client.get("/docs").status_code == 404
        assert client.get("/livez").status_code == 200


def test_anonymous_scopes_allow_public_reads(settings: Settings) -> None:
    with auth_client(settings, anonymous_scopes="items:read") as client:
        assert client.get("/items?limit=1").status_code == 200
        r = client.post("/items", json={"name": "x", "price": 1.0})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"


def test_auth_off_ignores_credentials(client: TestClient) -> None:
    r = client.get("/items?limit=1", headers=bearer("garbage"))
    assert r.status_code == 200
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})
