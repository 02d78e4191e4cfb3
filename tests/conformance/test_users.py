"""The write-only password: accepted, never returned by any route, never queryable."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import USER_KEYS, created, invalid, problem, uid, user_body


def clean(response: httpx.Response, secret: str) -> None:
    assert secret not in response.text, response.text
    assert "password" not in response.text, response.text
    assert "argon2" not in response.text, response.text


def test_password_never_returned(client: TestClient) -> None:
    p = uid()
    body = user_body(p, full_name="Ada")
    secret = body["password"]
    response = client.post("/users", json=body)
    clean(response, secret)
    user = created(response)
    assert list(user) == USER_KEYS
    url = f"/users/{user['id']}"
    clean(client.get(url), secret)
    clean(client.head(url), secret)
    clean(client.get("/users", params={"username": p}), secret)
    clean(client.get("/users", params={"username": p, "count": "true", "limit": 1}), secret)
    clean(client.patch(url, json={"full_name": "Ada L."}), secret)
    new_secret = "another-long-secret"
    replaced = client.put(url, json={**body, "password": new_secret})
    assert replaced.status_code == 200
    clean(replaced, secret)
    clean(replaced, new_secret)
    bulk = [user_body(f"{p}b"), user_body(f"{p}c")]
    response = client.post("/users", json=bulk)
    assert response.status_code == 201
    for row in bulk:
        clean(response, row["password"])


def test_password_not_echoed_in_errors(client: TestClient) -> None:
    p = uid()
    short = "Zq7#x"
    response = client.post("/users", json=user_body(p, password=short))
    invalid(response, "body", "password")
    assert short not in response.text
    long = "Zq7#" * 40
    response = client.post("/users", json=user_body(p, password=long))
    invalid(response, "body", "password")
    assert long not in response.text
    body = user_body(p, email="broken")
    response = client.post("/users", json=body)
    invalid(response, "body", "email")
    assert body["password"] not in response.text
    make = client.post("/users", json=user_body(p))
    assert make.status_code == 201
    dup = user_body(p, password="a-secret-in-a-409")
    response = client.post("/users", json=dup)
    problem(response, 409, "unique-conflict")
    assert "a-secret-in-a-409" not in response.text


def test_password_required_on_create(client: TestClient) -> None:
    body = user_body(uid())
    del body["password"]
    invalid(client.post("/users", json=body), "body", "password")


def test_put_without_password_is_422(client: TestClient) -> None:
    p = uid()
    user = created(client.post("/users", json=user_body(p)))
    body = user_body(p)
    del body["password"]
    invalid(client.put(f"/users/{user['id']}", json=body), "body", "password")


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("password", "x"),
        ("password__ne", "x"),
        ("password__contains", "x"),
        ("password__isnull", "true"),
        ("fields", "id,password"),
        ("sort", "password"),
        ("sort", "-password"),
    ],
)
def test_password_not_queryable(client: TestClient, param: str, value: str) -> None:
    body = problem(client.get("/users", params={param: value}), 400, "bad-query")
    assert body["param"] == param


def test_user_fields(client: TestClient) -> None:
    p = uid()
    user = created(client.post("/users", json=user_body(p, is_active=False, full_name="Z")))
    assert user["is_active"] is False
    assert user["full_name"] == "Z"
    assert user["email"] == f"{p}@example.com"
    listed = client.get("/users", params={"username": p, "is_active": "false"}).json()["items"]
    assert listed == [user]
    assert client.get("/users", params={"username": p, "is_active": "true"}).json()["items"] == []
