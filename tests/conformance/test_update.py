"""PUT (full replacement) and PATCH (JSON Merge Patch), If-Match, ETags, timestamps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, model_validator

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.resources import Resource
from tests.conformance.support import (
    MISSING_ID,
    invalid,
    make_item,
    make_post,
    make_user,
    problem,
    uid,
)

MERGE = {"content-type": "application/merge-patch+json"}


def patch(client: TestClient, url: str, body: Any, **headers: str) -> Any:
    return client.patch(url, json=body, headers={**MERGE, **headers})


def test_put_replaces_everything(client: TestClient) -> None:
    p = uid()
    row = make_item(client, p, 2.0, description="old")
    time.sleep(0.002)
    response = client.put(f"/items/{row['id']}", json={"name": f"{p} new", "price": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == f"{p} new"
    assert body["price"] == 4.0
    assert body["description"] is None  # left out: back to its default
    assert body["id"] == row["id"]
    assert body["created_at"] == row["created_at"]
    assert body["updated_at"] > row["updated_at"]
    assert response.headers["etag"] == '"2"'
    assert client.get(f"/items/{row['id']}").json() == body


def test_put_needs_required_fields(client: TestClient) -> None:
    row = make_item(client, uid())
    invalid(client.put(f"/items/{row['id']}", json={"name": "x"}), "body", "price")
    assert client.get(f"/items/{row['id']}").json() == row


def test_put_rejects_server_and_unknown_fields(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    invalid(client.put(url, json={"name": "x", "price": 1, "id": 5}), "body", "id")
    invalid(
        client.put(url, json={"name": "x", "price": 1, "created_at": row["created_at"]}),
        "body",
        "created_at",
    )
    invalid(client.put(url, json={"name": "x", "price": 1, "nope": 1}), "body", "nope")
    assert client.get(url).json() == row


def test_put_missing_is_404_not_upsert(client: TestClient) -> None:
    p = uid()
    problem(client.put(f"/items/{MISSING_ID}", json={"name": p, "price": 1}), 404, "not-found")
    assert client.get("/items", params={"name": p}).json()["items"] == []


def test_etag_changes_on_every_write(client: TestClient) -> None:
    p = uid()
    row = make_item(client, p)
    url = f"/items/{row['id']}"
    tags = ['"1"']
    for _ in range(2):
        response = client.put(url, json={"name": p, "price": 1})
        assert response.status_code == 200
        tags.append(response.headers["etag"])
    response = patch(client, url, {"price": 1})
    tags.append(response.headers["etag"])
    assert tags == ['"1"', '"2"', '"3"', '"4"']
    assert client.get(url).headers["etag"] == '"4"'


def test_patch_merges(client: TestClient) -> None:
    p = uid()
    row = make_item(client, p, 2.0, description="keep")
    time.sleep(0.002)
    response = patch(client, f"/items/{row['id']}", {"price": 3.25})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**row, "price": 3.25, "updated_at": body["updated_at"]}
    assert body["updated_at"] > row["updated_at"]
    assert response.headers["etag"] == '"2"'


def test_patch_null_clears_nullable(client: TestClient) -> None:
    row = make_item(client, uid(), description="gone soon")
    body = patch(client, f"/items/{row['id']}", {"description": None}).json()
    assert body["description"] is None
    assert client.get(f"/items/{row['id']}").json()["description"] is None


def test_patch_plain_json_accepted(client: TestClient) -> None:
    row = make_item(client, uid())
    response = client.patch(f"/items/{row['id']}", json={"price": 5})
    assert response.status_code == 200, response.text
    assert response.json()["price"] == 5.0


def test_patch_null_on_required_is_422(client: TestClient) -> None:
    row = make_item(client, uid())
    invalid(patch(client, f"/items/{row['id']}", {"name": None}), "body", "name")
    assert client.get(f"/items/{row['id']}").json() == row


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"id": 1}, "id"),
        ({"created_at": "2020-01-01T00:00:00.000Z"}, "created_at"),
        ({"updated_at": "2020-01-01T00:00:00.000Z"}, "updated_at"),
        ({"colour": "red"}, "colour"),
        ({"price": -1}, "price"),
        ({"price": "3"}, "price"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_patch_rejects(client: TestClient, body: dict[str, Any], loc: str) -> None:
    row = make_item(client, uid())
    invalid(patch(client, f"/items/{row['id']}", body), "body", loc)
    assert client.get(f"/items/{row['id']}").json() == row


def test_patch_body_must_be_object(client: TestClient) -> None:
    row = make_item(client, uid())
    invalid(patch(client, f"/items/{row['id']}", [{"price": 2}]), "body")
    assert client.get(f"/items/{row['id']}").json() == row


def test_patch_content_type(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    for media in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        response = client.patch(url, content=b'{"price": 2}', headers={"content-type": media})
        problem(response, 415, "unsupported-media-type")
    problem(client.patch(url, content=b'{"price": 2}'), 415, "unsupported-media-type")
    assert client.get(url).json() == row


def test_patch_missing(client: TestClient) -> None:
    problem(patch(client, f"/items/{MISSING_ID}", {"price": 1}), 404, "not-found")


def test_patch_password_never_returned(client: TestClient) -> None:
    user = make_user(client, uid())
    response = patch(client, f"/users/{user['id']}", {"password": "a-new-password-123"})
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    assert "a-new-password-123" not in response.text
    invalid(patch(client, f"/users/{user['id']}", {"password": "short"}), "body", "password")


def test_patch_reference(client: TestClient) -> None:
    user = make_user(client, uid())
    other = make_user(client, uid())
    post = make_post(client, user["id"], uid())
    moved = patch(client, f"/posts/{post['id']}", {"owner_id": other["id"]}).json()
    assert moved["owner_id"] == other["id"]
    body = problem(
        patch(client, f"/posts/{post['id']}", {"owner_id": MISSING_ID}), 409, "reference-conflict"
    )
    assert body["field"] == "owner_id"
    assert client.get(f"/posts/{post['id']}").json() == moved


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_if_match(client: TestClient, method: str) -> None:
    p = uid()
    row = make_item(client, p, 1.0)
    url = f"/items/{row['id']}"

    def write(price: float, tag: str) -> Any:
        body = {"name": p, "price": price} if method == "PUT" else {"price": price}
        return client.request(method, url, json=body, headers={"if-match": tag})

    ok = write(2.0, '"1"')
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    problem(write(3.0, '"1"'), 412, "precondition-failed")
    current = client.get(url)
    assert current.json()["price"] == 2.0
    assert current.headers["etag"] == '"2"'
    problem(write(3.0, '"99"'), 412, "precondition-failed")
    star = write(4.0, "*")
    assert star.status_code == 200
    assert star.json()["price"] == 4.0
    assert star.headers["etag"] == '"3"'


@pytest.fixture(scope="module")
def strict_client(settings: Settings) -> Iterator[TestClient]:
    """A second app on the same database that requires If-Match on every write."""
    strict = settings.model_copy(update={"require_if_match": True})
    with TestClient(create_app(strict), raise_server_exceptions=False) as test_client:
        yield test_client


def test_if_match_required_gives_428(strict_client: TestClient) -> None:
    row = make_item(strict_client, uid())
    url = f"/items/{row['id']}"
    problem(patch(strict_client, url, {"price": 2}), 428, "precondition-required")
    problem(strict_client.put(url, json={"name": "x", "price": 2}), 428, "precondition-required")
    problem(strict_client.delete(url), 428, "precondition-required")
    assert strict_client.get(url).json() == row
    tag = strict_client.get(url).headers["etag"]
    updated = patch(strict_client, url, {"price": 2}, **{"If-Match": tag})
    assert updated.status_code == 200, updated.text
    new_tag = updated.headers["etag"]
    response = strict_client.put(url, json={"name": "y", "price": 3}, headers={"If-Match": new_tag})
    assert response.status_code == 200, response.text
    gone = strict_client.delete(url, headers={"If-Match": response.headers["etag"]})
    assert gone.status_code == 204
    problem(strict_client.get(url), 404, "not-found")


class Booking(BaseModel):
    """Cross-field rule: PATCH must validate the merged row, not the patch alone."""

    room: Annotated[str, Field(max_length=20)]
    starts: int
    ends: int

    @model_validator(mode="after")
    def ends_after_start(self) -> Booking:
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


@pytest.fixture(scope="module")
def bookings(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, resources=[Resource("bookings", Booking)])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_patch_validates_the_merged_row(bookings: TestClient) -> None:
    row = bookings.post("/bookings", json={"room": uid()[:20], "starts": 10, "ends": 20}).json()
    url = f"/bookings/{row['id']}"
    problem(patch(bookings, url, {"ends": 5}), 422, "validation-error")
    problem(patch(bookings, url, {"starts": 30}), 422, "validation-error")
    assert bookings.get(url).json() == row
    moved = patch(bookings, url, {"starts": 25, "ends": 30})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["starts"], moved.json()["ends"]) == (25, 30)
    problem(patch(bookings, url, {"starts": 29}, **{"If-Match": '"1"'}), 412, "precondition-failed")
    shorter = patch(bookings, url, {"ends": 26}, **{"If-Match": moved.headers["etag"]})
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["ends"] == 26
