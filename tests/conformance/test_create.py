"""POST /R: one row, bulk, Location, ETag, defaults, strict input (CONTRACT §2, §3)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.resources import Resource
from omnicrud.example import resources as example
from tests.conformance.support import (
    ITEM_KEYS,
    POST_KEYS,
    TIMESTAMP,
    USER_KEYS,
    created,
    invalid,
    make_user,
    names,
    problem,
    uid,
    user_body,
)


class Event(BaseModel):
    title: str
    at: dt.datetime
    until: dt.datetime | None = None


@pytest.fixture(scope="module")
def events(settings: Settings) -> Iterator[TestClient]:
    """An app that also serves a resource with datetime fields (the example has none)."""
    app = create_app(settings, resources=[*example, Resource("events", Event)])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_create_one(client: TestClient) -> None:
    p = uid()
    response = client.post("/items", json={"name": f"{p} one", "price": 9.5, "description": "d"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ITEM_KEYS
    assert body["name"] == f"{p} one"
    assert body["price"] == 9.5
    assert body["description"] == "d"
    assert isinstance(body["id"], int)
    assert body["id"] > 0
    assert response.headers["location"] == f"/items/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert response.headers["content-type"] == "application/json"
    assert TIMESTAMP.match(body["created_at"]), body
    assert body["updated_at"] == body["created_at"]
    assert client.get(f"/items/{body['id']}").json() == body


def test_create_sets_server_time(client: TestClient) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    body = created(client.post("/items", json={"name": uid(), "price": 1}))
    stamp = dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert before < stamp < dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)


def test_defaults(client: TestClient) -> None:
    p = uid()
    item = created(client.post("/items", json={"name": p, "price": 1}))
    assert item["description"] is None
    user = make_user(client, p)
    assert list(user) == USER_KEYS
    assert user["is_active"] is True
    assert user["full_name"] is None
    post = created(client.post("/posts", json={"title": p, "owner_id": user["id"]}))
    assert list(post) == POST_KEYS
    assert post["body"] == ""
    assert post["owner_id"] == user["id"]


def test_float_stays_float(client: TestClient) -> None:
    response = client.post("/items", json={"name": uid(), "price": 12})
    body = created(response)
    assert body["price"] == 12.0
    assert isinstance(body["price"], float)
    again = client.get(f"/items/{body['id']}").json()
    assert isinstance(again["price"], float)
    assert created(client.post("/items", json={"name": uid(), "price": 0.1}))["price"] == 0.1
    big = created(client.post("/items", json={"name": uid(), "price": 1.2345678901234567e300}))
    assert big["price"] == 1.2345678901234567e300


def test_text_round_trip(client: TestClient) -> None:
    p = uid()
    name = f"{p} Ünïcödé 😀 \"q\" 'a' \\ % _ \t end "
    assert len(name) <= 100
    body = created(client.post("/items", json={"name": name, "price": 1}))
    assert body["name"] == name
    assert client.get(f"/items/{body['id']}").json()["name"] == name


def test_length_limits(client: TestClient) -> None:
    exact = created(client.post("/items", json={"name": "x" * 100, "price": 1}))
    assert exact["name"] == "x" * 100
    invalid(client.post("/items", json={"name": "x" * 101, "price": 1}), "body", "name")
    invalid(client.post("/items", json={"name": "", "price": 1}), "body", "name")
    invalid(client.post("/items", json={"name": "a", "price": -0.5}), "body", "price")
    invalid(client.post("/users", json=user_body("ab")), "body", "username")
    invalid(client.post("/users", json=user_body(uid(), email="not-an-email")), "body", "email")


def test_bulk_create(client: TestClient) -> None:
    p = uid()
    rows = [{"name": f"{p} {i}", "price": i} for i in range(5)]
    response = client.post("/items", json=rows)
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body, list)
    assert [r["name"] for r in body] == [f"{p} {i}" for i in range(5)]
    assert [r["price"] for r in body] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(list(r) == ITEM_KEYS for r in body)
    ids = [r["id"] for r in body]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert "location" not in response.headers
    assert "etag" not in response.headers
    for row in body:
        assert client.get(f"/items/{row['id']}").json() == row


def test_bulk_is_all_or_nothing_on_validation(client: TestClient) -> None:
    p = uid()
    rows: list[dict[str, Any]] = [{"name": f"{p} a", "price": 1}, {"name": f"{p} b", "price": 2}]
    rows.append({"price": 3})
    invalid(client.post("/items", json=rows), "body", 2, "name")
    assert names(client, p) == []


def test_bulk_is_all_or_nothing_on_conflict(client: TestClient) -> None:
    p = uid()
    taken = make_user(client, f"{p}x")
    rows = [user_body(f"{p}a"), user_body(f"{p}b"), user_body(f"{p}c", email=taken["email"])]
    body = problem(client.post("/users", json=rows), 409, "unique-conflict")
    assert body["field"] == "email"
    listed = client.get("/users", params={"username__startswith": p}).json()["items"]
    assert [u["username"] for u in listed] == [f"{p}x"]


def test_bulk_limits(client: TestClient) -> None:
    invalid(client.post("/items", json=[]), "body")
    p = uid()
    too_many = [{"name": f"{p}{i}", "price": 1} for i in range(1001)]
    problem(client.post("/items", json=too_many), 413, "payload-too-large")
    assert names(client, p) == []


@pytest.mark.parametrize("body", ["x", 42, None, True, 1.5])
def test_body_must_be_object_or_array(client: TestClient, body: Any) -> None:
    raw = json.dumps(body).encode()  # json=None would send no body at all
    invalid(
        client.post("/items", content=raw, headers={"content-type": "application/json"}), "body"
    )


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at"])
def test_server_fields_rejected(client: TestClient, field: str) -> None:
    value: Any = 7 if field == "id" else "2030-01-01T00:00:00.000Z"
    p = uid()
    invalid(client.post("/items", json={"name": p, "price": 1, field: value}), "body", field)
    assert names(client, p) == []


def test_unknown_field_rejected(client: TestClient) -> None:
    p = uid()
    invalid(client.post("/items", json={"name": p, "price": 1, "color": "red"}), "body", "color")
    assert names(client, p) == []


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/items", "price", "12"),
        ("/items", "price", True),
        ("/items", "name", 12),
        ("/items", "description", 5),
        ("/users", "is_active", "true"),
        ("/users", "is_active", 1),
        ("/posts", "owner_id", "12"),
        ("/posts", "owner_id", 1.5),
        ("/posts", "title", ["a"]),
    ],
)
def test_types_are_strict(client: TestClient, path: str, field: str, value: Any) -> None:
    p = uid()
    valid = {
        "/items": {"name": p, "price": 1},
        "/users": user_body(p),
        "/posts": {"title": p, "owner_id": 1},
    }[path]
    invalid(client.post(path, json={**valid, field: value}), "body", field)


def test_datetime_fields(events: TestClient) -> None:
    response = events.post("/events", json={"title": "a", "at": "2026-03-04T05:06:07.891234+02:00"})
    body = created(response)
    assert list(body) == ["id", "title", "at", "until", "created_at", "updated_at"]
    assert body["at"] == "2026-03-04T03:06:07.891Z"
    assert body["until"] is None
    assert events.get(f"/events/{body['id']}").json() == body
    other = created(events.post("/events", json={"title": "b", "at": "1999-12-31T23:59:59Z"}))
    assert other["at"] == "1999-12-31T23:59:59.000Z"


@pytest.mark.parametrize("value", ["2026-03-04T05:06:07", "2026-03-04", "yesterday", "", None])
def test_naive_or_bad_datetime_rejected(events: TestClient, value: Any) -> None:
    invalid(events.post("/events", json={"title": "a", "at": value}), "body", "at")


@pytest.mark.parametrize("value", [1700000000, 1.5, True])
def test_number_for_datetime_rejected(events: TestClient, value: Any) -> None:
    # Types are strict: a JSON number is not an RFC 3339 timestamp (no Unix-time guessing).
    invalid(events.post("/events", json={"title": "a", "at": value}), "body", "at")


def test_datetime_filter_round_trip(events: TestClient) -> None:
    p = uid()
    at = "2031-05-06T07:08:09.123Z"
    row = created(events.post("/events", json={"title": p, "at": at, "until": at}))
    listed = events.get("/events", params={"title": p, "at": at}).json()["items"]
    assert listed == [row]
    assert events.get("/events", params={"title": p, "at__gt": at}).json()["items"] == []
    plus_two = "2031-05-06T09:08:09.123+02:00"
    assert events.get("/events", params={"title": p, "until__lte": plus_two}).json()["items"] == [
        row
    ]
