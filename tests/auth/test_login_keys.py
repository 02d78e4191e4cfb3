"""Built-in login and API keys over HTTP on the backend of ``DATABASE_URL``: tokens from
``POST /auth/token`` work on every route; failures are equal and throttled through the
database; a key revoked with ``omnicrud keys revoke`` is refused by another running
``omnicrud serve`` within 5 s. (Login timing is measured once, in test_login.py.)"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from omnicrud.config import Settings
from tests.auth.service import SECRET, auth_client, bearer, token
from tests.conformance.support import problem, uid
from tests.processes import OMNICRUD, cli_env, launch, wait_ready

PASSWORD = "correct horse battery"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with auth_client(settings, login_max_failures=3) as client:
        yield client


def _user(api: TestClient) -> tuple[int, str]:
    name = uid()
    r = api.post(
        "/users",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        headers=bearer(token(0, "admin")),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), name


def _login(api: TestClient, username: str, password: str, **extra: str) -> httpx.Response:
    r: httpx.Response = api.post(
        "/auth/token",
        data={"grant_type": "password", "username": username, "password": password, **extra},
    )
    return r


def test_login_token_works_on_every_route(api: TestClient) -> None:
    user_id, name = _user(api)
    r = _login(api, name, PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert r.headers["cache-control"] == "no-store"
    h = bearer(body["access_token"])
    made = api.post("/posts", json={"title": name}, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["owner_id"] == user_id  # sub = the row id
    pid = made.json()["id"]
    assert api.get(f"/posts/{pid}", headers=h).status_code == 200
    assert api.head(f"/posts/{pid}", headers=h).status_code == 200
    assert api.get("/posts", params={"title": name}, headers=h).json()["items"][0]["id"] == pid
    assert api.put(f"/posts/{pid}", json={"title": name}, headers=h).status_code == 200
    assert api.patch(f"/posts/{pid}", json={"body": "b"}, headers=h).status_code == 200
    assert api.delete(f"/posts/{pid}", headers=h).status_code == 204
    assert api.get("/items?limit=1", headers=h).status_code == 200
    narrowed = _login(api, name, PASSWORD, scope="items:read").json()["access_token"]
    r = api.post("/items", json={"name": "x", "price": 1.0}, headers=bearer(narrowed))
    problem(r, 403, "forbidden")


def test_unknown_user_and_wrong_password_are_the_same_401(api: TestClient) -> None:
    _, name = _user(api)
    wrong = _login(api, name, "wrong password")
    unknown = _login(api, uid(), PASSWORD)
    a, b = problem(wrong, 401, "unauthorized"), problem(unknown, 401, "unauthorized")
    assert {**a, "request_id": None} == {**b, "request_id": None}  # ids differ per request
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    for r in (wrong, unknown):
        assert PASSWORD not in r.text
        assert "wrong password" not in r.text


def test_repeated_failures_are_throttled(api: TestClient) -> None:
    _, name = _user(api)
    for _ in range(3):
        assert _login(api, name, "wrong password").status_code == 401
    r = _login(api, name, PASSWORD)  # even the right password, while throttled
    problem(r, 429, "too-many-requests")
    assert int(r.headers["retry-after"]) > 0
    _, other = _user(api)
    assert _login(api, other, PASSWORD).status_code == 200  # per username


def test_bad_forms(api: TestClient) -> None:
    problem(
        api.post("/auth/token", json={"username": "a", "password": "b"}),
        415,
        "unsupported-media-type",
    )
    problem(api.post("/auth/token", data={"username": "abc"}), 422, "validation-error")
    problem(
        api.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "username": "a", "password": "b"},
        ),
        400,
        "bad-query",
    )


def _keys(database_url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OMNICRUD, "keys", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_revoked_key_is_refused_by_another_process_within_5_s(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, {"OMNICRUD_API_KEYS": "true", "OMNICRUD_JWT_SECRET": SECRET})
    name = uid()
    made = _keys(database_url, env, "create", "--name", name, "--scopes", "items:read")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("ock_")
    assert key not in made.stderr
    again = _keys(database_url, env, "create", "--name", name, "--scopes", "items:read")
    assert again.returncode == 1
    listed = _keys(database_url, env, "list")
    assert name in listed.stdout
    assert key not in listed.stdout
    server = launch(database_url, tmp_path, env=env)
    try:
        wait_ready(server)
        h = bearer(key)
        assert httpx.get(f"{server.url}/items?limit=1", headers=h).status_code == 200
        assert (
            httpx.post(f"{server.url}/items", json={"name": "x", "price": 1}, headers=h).status_code
            == 403
        )
        revoked = _keys(database_url, env, "revoke", name)
        assert revoked.returncode == 0, revoked.stderr
        done = time.monotonic()
        while True:
            r = httpx.get(f"{server.url}/items?limit=1", headers=h)
            if r.status_code == 401:
                break
            assert r.status_code == 200
            assert time.monotonic() - done < 5.0, "the revocation did not reach the server in 5 s"
            time.sleep(0.2)
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        assert key not in server.output()
    finally:
        server.stop()
    assert _keys(database_url, env, "revoke", name).returncode == 1
