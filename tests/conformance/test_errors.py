"""Every row of CONTRACT §5, as application/problem+json, never a 500 and never a leak."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import (
    MISSING_ID,
    error_locs,
    invalid,
    make_item,
    make_post,
    make_user,
    names,
    problem,
    uid,
    user_body,
)

JSON = {"content-type": "application/json"}
LIMIT = 1_048_576


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "a", "price": ',
        b"",
        b"{'name': 'a'}",
        b'{"name": "\xff", "price": 1}',
        b'{"name": "a", "price": NaN}',
        b"[1, 2,]",
        b'{"a": 1} trailing',
    ],
)
def test_malformed_json(client: TestClient, raw: bytes) -> None:
    problem(client.post("/items", content=raw, headers=JSON), 400, "malformed-json")


def test_malformed_json_on_put_and_patch(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    problem(client.put(url, content=b"{", headers=JSON), 400, "malformed-json")
    problem(client.patch(url, content=b"{", headers=JSON), 400, "malformed-json")
    assert client.get(url).json() == row


@pytest.mark.parametrize("media", [None, "text/plain", "application/xml", "multipart/form-data"])
def test_wrong_content_type(client: TestClient, media: str | None) -> None:
    p = uid()
    headers = {"content-type": media} if media else {}
    body = json.dumps({"name": p, "price": 1}).encode()
    problem(client.post("/items", content=body, headers=headers), 415, "unsupported-media-type")
    assert names(client, p) == []
    row = make_item(client, p)
    response = client.put(f"/items/{row['id']}", content=body, headers=headers)
    problem(response, 415, "unsupported-media-type")


def test_json_with_charset_accepted(client: TestClient) -> None:
    body = json.dumps({"name": uid(), "price": 1}).encode()
    headers = {"content-type": "application/json; charset=utf-8"}
    assert client.post("/items", content=body, headers=headers).status_code == 201


def test_validation_problem_shape(client: TestClient) -> None:
    body = problem(client.post("/items", json={"name": 5}), 422, "validation-error")
    locs = error_locs(body)
    assert ["body", "name"] in locs
    assert ["body", "price"] in locs
    assert "input" not in json.dumps(body["errors"])


def test_not_found(client: TestClient) -> None:
    for path in (f"/items/{MISSING_ID}", f"/users/{MISSING_ID}", f"/posts/{MISSING_ID}"):
        problem(client.get(path), 404, "not-found")
    for path in ("/nope", "/items/1/extra", "/itemsx", "/"):
        problem(client.get(path), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/items"),
        ("PUT", "/items"),
        ("PATCH", "/items"),
        ("POST", "/items/1"),
        ("POST", "/livez"),
        ("DELETE", "/readyz"),
    ],
)
def test_method_not_allowed(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"name": "x", "price": 1})
    problem(response, 405, "method-not-allowed")


def test_unique_username(client: TestClient) -> None:
    p = uid()
    make_user(client, p)
    response = client.post("/users", json=user_body(p, email=f"other-{p}@example.com"))
    assert problem(response, 409, "unique-conflict")["field"] == "username"
    listed = client.get("/users", params={"username": p}).json()["items"]
    assert len(listed) == 1


def test_unique_email(client: TestClient) -> None:
    p = uid()
    first = make_user(client, p)
    response = client.post("/users", json=user_body(f"{p}2", email=first["email"]))
    assert problem(response, 409, "unique-conflict")["field"] == "email"


def test_both_unique_fields_taken_names_the_first_declared(client: TestClient) -> None:
    p = uid()
    first = make_user(client, p)
    body = user_body(p, email=first["email"])
    assert problem(client.post("/users", json=body), 409, "unique-conflict")["field"] == "username"
    mine = make_user(client, f"{p}b")
    url = f"/users/{mine['id']}"
    body = user_body(p, email=first["email"])
    assert problem(client.put(url, json=body), 409, "unique-conflict")["field"] == "username"
    rows = [
        user_body(f"{p}c", email=f"c-{p}@example.com"),
        user_body(f"{p}c", email=first["email"]),
    ]
    assert problem(client.post("/users", json=rows), 409, "unique-conflict")["field"] == "username"


def test_unique_inside_one_bulk(client: TestClient) -> None:
    p = uid()
    rows = [user_body(p), user_body(p, email=f"b-{p}@example.com")]
    assert problem(client.post("/users", json=rows), 409, "unique-conflict")["field"] == "username"
    assert client.get("/users", params={"username": p}).json()["items"] == []


def test_unique_on_put_and_patch(client: TestClient) -> None:
    p = uid()
    taken = make_user(client, f"{p}a")
    mine = make_user(client, f"{p}b")
    url = f"/users/{mine['id']}"
    response = client.patch(url, json={"username": taken["username"]})
    assert problem(response, 409, "unique-conflict")["field"] == "username"
    replacement = user_body(f"{p}b", email=taken["email"])
    assert problem(client.put(url, json=replacement), 409, "unique-conflict")["field"] == "email"
    assert client.get(url).json() == mine


def test_reference_to_missing_user(client: TestClient) -> None:
    p = uid()
    response = client.post("/posts", json={"title": p, "owner_id": MISSING_ID})
    assert problem(response, 409, "reference-conflict")["field"] == "owner_id"
    bulk = client.post("/posts", json=[{"title": p, "owner_id": MISSING_ID}])
    assert problem(bulk, 409, "reference-conflict")["field"] == "owner_id"
    assert client.get("/posts", params={"title": p}).json()["items"] == []


def test_integer_outside_64_bits_is_422(client: TestClient) -> None:
    for owner in (2**63, -(2**63) - 1, 10**30):
        response = client.post("/posts", json={"title": uid(), "owner_id": owner})
        assert error_locs(problem(response, 422, "validation-error")) == [["body", "owner_id"]]


def test_reference_kept_on_put(client: TestClient) -> None:
    user = make_user(client, uid())
    post = make_post(client, user["id"], uid())
    response = client.put(f"/posts/{post['id']}", json={"title": "t", "owner_id": MISSING_ID})
    assert problem(response, 409, "reference-conflict")["field"] == "owner_id"
    assert client.get(f"/posts/{post['id']}").json() == post


def test_precondition_failed(client: TestClient) -> None:
    row = make_item(client, uid())
    response = client.patch(f"/items/{row['id']}", json={"price": 2}, headers={"if-match": '"2"'})
    problem(response, 412, "precondition-failed")


def test_too_large_by_content_length(client: TestClient) -> None:
    p = uid()
    body = json.dumps({"name": p, "price": 1, "description": "x" * LIMIT}).encode()
    assert len(body) > LIMIT
    problem(client.post("/items", content=body, headers=JSON), 413, "payload-too-large")
    assert names(client, p) == []


def test_too_large_chunked(client: TestClient) -> None:
    p = uid()
    start = json.dumps({"name": p, "price": 1, "description": ""}).encode()[:-2]

    def chunks() -> Iterator[bytes]:
        yield start
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/items", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    problem(response, 413, "payload-too-large")
    assert names(client, p) == []


def test_chunked_body_within_limit_accepted(client: TestClient) -> None:
    p = uid()

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "' + p.encode()
        yield b'", "price": 2}'

    response = client.post("/items", content=chunks(), headers=JSON)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == p


def test_just_under_limit_is_not_413(client: TestClient) -> None:
    # A large but acceptable body fails validation (description too long), not the size cap.
    body = json.dumps({"name": uid(), "price": 1, "description": "x" * (LIMIT - 100)}).encode()
    assert len(body) <= LIMIT
    invalid(client.post("/items", content=body, headers=JSON), "body", "description")


@pytest.mark.parametrize("depth", [40, 100_000])
def test_too_deep(client: TestClient, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    body = b'{"name": "a", "price": 1, "description": ' + nested + b"}"
    problem(client.post("/items", content=body, headers=JSON), 400, "malformed-json")


def test_moderately_deep_is_validation(client: TestClient) -> None:
    nested = b"[" * 20 + b"]" * 20
    body = b'{"name": "a", "price": 1, "description": ' + nested + b"}"
    invalid(client.post("/items", content=body, headers=JSON), "body", "description")


def test_nul_character_is_refused_everywhere(client: TestClient) -> None:
    invalid(client.post("/items", json={"name": "a\x00b", "price": 1}), "body", "name")
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    merge = {"content-type": "application/merge-patch+json"}
    invalid(client.patch(url, json={"description": "\x00"}, headers=merge), "body", "description")
    invalid(client.put(url, json={"name": "\x00", "price": 1}), "body", "name")
    assert client.get(url).json() == row
    assert problem(client.get("/items", params={"name": "a\x00"}), 400, "bad-query")["param"] == (
        "name"
    )


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/items", "GET, HEAD, OPTIONS, POST"),
        ("/items/1", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
    ],
)
def test_405_and_options_name_every_method_of_the_path(
    client: TestClient, path: str, allow: str
) -> None:
    response = client.request("TRACE", path)
    problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allow
    options = client.options(path)
    assert (options.status_code, options.headers["allow"]) == (204, allow)
