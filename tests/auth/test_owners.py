"""Owner scoping (BOLA, CONTRACT §7) on the backend of ``DATABASE_URL``: two subjects own
posts; every route with the other's ids, through filters, cursors, If-Match, bulk create
and PATCH of the owner field is 404/422 and changes nothing; admin sees both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnicrud.config import Settings
from tests.auth.service import auth_client, bearer, token
from tests.conformance.support import MISSING_ID, problem, uid

RW = ("posts:read", "posts:write")
ADMIN = bearer(token(0, "admin"))


@dataclass
class Subject:
    id: int
    headers: dict[str, str]
    post: dict[str, Any]
    etag: str


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with auth_client(settings) as client:
        yield client


def _subject(api: TestClient, title: str) -> Subject:
    name = uid()
    user = api.post(
        "/users",
        json={"username": name, "email": f"{name}@example.com", "password": "password123"},
        headers=ADMIN,
    )
    assert user.status_code == 201, user.text
    sub = int(user.json()["id"])
    headers = bearer(token(sub, *RW))
    made = api.post("/posts", json={"title": title}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["owner_id"] == sub  # set by the server from sub
    return Subject(sub, headers, made.json(), made.headers["etag"])


@pytest.fixture(scope="module")
def pair(api: TestClient) -> tuple[Subject, Subject, str]:
    prefix = uid()
    return _subject(api, prefix + "-a"), _subject(api, prefix + "-b"), prefix


def _same_as_missing(api: TestClient, r: Any, method: str, headers: dict[str, str]) -> None:
    """Another owner's row answers exactly like an id that does not exist."""
    missing = api.request(method, f"/posts/{MISSING_ID}", headers=headers, json=r.request_json)
    assert r.status_code == missing.status_code == 404, r.text
    if method != "HEAD":
        a, b = problem(r, 404, "not-found"), problem(missing, 404, "not-found")
        for body in (a, b):
            body.pop("instance"), body.pop("request_id")  # per path, per request
        assert a == b
    skip = {"date", "content-length", "x-request-id"}
    assert {k for k in r.headers if k not in skip} == {k for k in missing.headers if k not in skip}


def _call(
    api: TestClient, method: str, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    r = api.request(method, path, headers=headers, json=body)
    r.request_json = body
    return r


@pytest.mark.parametrize(
    ("method", "body", "extra"),
    [
        ("GET", None, {}),
        ("HEAD", None, {}),
        ("GET", None, {"If-None-Match": "*"}),
        ("PUT", {"title": "stolen"}, {}),
        ("PATCH", {"title": "stolen"}, {}),
        ("DELETE", None, {}),
        ("PUT", {"title": "stolen"}, {"If-Match": "*"}),
        ("PATCH", {"title": "stolen"}, {"If-Match": "*"}),
        ("DELETE", None, {"If-Match": "*"}),
        ("PATCH", {"title": "stolen"}, {"If-Match": "ETAG"}),
        ("DELETE", None, {"If-Match": "ETAG"}),
        ("PATCH", {"title": "stolen"}, {"If-Match": 'ETAG, "x"'}),
        ("DELETE", None, {"If-Match": 'ETAG, "x"'}),
    ],
)
def test_other_subjects_row_is_missing(
    api: TestClient,
    pair: tuple[Subject, Subject, str],
    method: str,
    body: Any,
    extra: dict[str, str],
) -> None:
    a, b, _ = pair
    headers = {**b.headers, **{k: v.replace("ETAG", a.etag) for k, v in extra.items()}}
    r = _call(api, method, f"/posts/{a.post['id']}", headers, body)
    _same_as_missing(api, r, method, headers)
    mine = api.get(f"/posts/{a.post['id']}", headers=a.headers)
    assert mine.status_code == 200
    assert mine.headers["etag"] == a.etag  # nothing changed
    assert mine.json()["title"] == a.post["title"]


def test_lists_filters_counts_and_cursors_see_only_own_rows(
    api: TestClient, pair: tuple[Subject, Subject, str]
) -> None:
    a, b, prefix = pair
    extra = api.post("/posts", json={"title": prefix + "-a2"}, headers=a.headers)
    assert extra.status_code == 201
    q = {"title__startswith": prefix, "count": "true", "sort": "title"}
    seen_a = api.get("/posts", params=q, headers=a.headers).json()
    assert [p["owner_id"] for p in seen_a["items"]] == [a.id, a.id]
    assert seen_a["total"] == 2
    seen_b = api.get("/posts", params=q, headers=b.headers).json()
    assert [p["id"] for p in seen_b["items"]] == [b.post["id"]]
    assert seen_b["total"] == 1
    by_owner = api.get("/posts", params={"owner_id": a.id, "count": "true"}, headers=b.headers)
    assert by_owner.json() == {"items": [], "next_cursor": None, "total": 0}
    by_id = api.get("/posts", params={"id": a.post["id"]}, headers=b.headers)
    assert by_id.json()["items"] == []
    # A's cursor, replayed by B, pages through B's rows only.
    page = api.get(
        "/posts",
        params={"title__startswith": prefix, "limit": 1, "sort": "title"},
        headers=a.headers,
    ).json()
    assert page["next_cursor"]
    replay = api.get(
        "/posts",
        params={
            "title__startswith": prefix,
            "limit": 10,
            "sort": "title",
            "cursor": page["next_cursor"],
        },
        headers=b.headers,
    ).json()
    assert {p["owner_id"] for p in replay["items"]} <= {b.id}
    both = api.get("/posts", params=q, headers=ADMIN).json()
    assert {p["owner_id"] for p in both["items"]} == {a.id, b.id}
    assert both["total"] == 3
    admin_one = api.get(f"/posts/{a.post['id']}", headers=ADMIN)
    assert admin_one.status_code == 200


def test_the_owner_field_is_the_servers(
    api: TestClient, pair: tuple[Subject, Subject, str]
) -> None:
    a, b, prefix = pair
    sent = api.post("/posts", json={"title": prefix, "owner_id": a.id}, headers=b.headers)
    body = problem(sent, 422, "validation-error")
    assert ["body", "owner_id"] in [e["loc"] for e in body["errors"]]
    bulk = api.post(
        "/posts",
        json=[{"title": prefix + "-bulk"}, {"title": prefix + "-bulk", "owner_id": a.id}],
        headers=b.headers,
    )
    problem(bulk, 422, "validation-error")
    listed = api.get("/posts", params={"title": prefix + "-bulk"}, headers=ADMIN).json()
    assert listed["items"] == []  # all or nothing
    for method in ("PATCH", "PUT"):
        r = api.request(
            method,
            f"/posts/{b.post['id']}",
            json={"title": "t", "owner_id": a.id},
            headers=b.headers,
        )
        problem(r, 422, "validation-error")
    stolen = api.patch(f"/posts/{a.post['id']}", json={"owner_id": b.id}, headers=b.headers)
    assert stolen.status_code == 422
    still = api.get(f"/posts/{b.post['id']}", headers=b.headers)
    assert still.json()["owner_id"] == b.id
    assert still.json()["title"] == b.post["title"]
    ok_bulk = api.post(
        "/posts", json=[{"title": prefix + "-c"}, {"title": prefix + "-d"}], headers=b.headers
    )
    assert ok_bulk.status_code == 201
    assert {p["owner_id"] for p in ok_bulk.json()} == {b.id}


def test_put_keeps_the_owner_and_an_admin_may_write_any_row(
    api: TestClient, pair: tuple[Subject, Subject, str]
) -> None:
    a, _, _ = pair
    r = api.put(
        f"/posts/{a.post['id']}", json={"title": a.post["title"], "body": "x"}, headers=a.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == a.id
    a.etag = r.headers["etag"]
    by_admin = api.patch(f"/posts/{a.post['id']}", json={"body": "y"}, headers=ADMIN)
    assert by_admin.status_code == 200
    assert by_admin.json()["owner_id"] == a.id
    a.etag = by_admin.headers["etag"]


def test_a_subject_that_cannot_own_rows_sees_none(
    api: TestClient, pair: tuple[Subject, Subject, str]
) -> None:
    a, _, _ = pair
    odd = bearer(token("auth0|someone", *RW))
    assert api.get(f"/posts/{a.post['id']}", headers=odd).status_code == 404
    assert api.get("/posts", headers=odd).json()["items"] == []
    assert api.delete(f"/posts/{a.post['id']}", headers=odd).status_code == 404
    problem(api.post("/posts", json={"title": "x"}, headers=odd), 403, "forbidden")


def test_without_auth_the_owner_is_an_ordinary_field(client: TestClient) -> None:
    name = uid()
    user = client.post(
        "/users", json={"username": name, "email": f"{name}@example.com", "password": "password123"}
    ).json()
    made = client.post("/posts", json={"title": name, "owner_id": user["id"]})
    assert made.status_code == 201, made.text
    assert made.json()["owner_id"] == user["id"]


def test_embeds_and_nested_routes_are_owner_scoped(
    api: TestClient, pair: tuple[Subject, Subject, str]
) -> None:
    """Scopes and owner scoping apply to what is embedded (CONTRACT §8) and to nested routes."""
    a, b, _ = pair
    both = {**b.headers, "Authorization": bearer(token(b.id, *RW, "users:read"))["Authorization"]}
    user_a = api.get(f"/users/{a.id}", params={"expand": "posts"}, headers=both)
    assert user_a.status_code == 200, user_a.text
    assert user_a.json()["posts"]["items"] == []  # a's posts are not b's to see
    own = api.get(f"/users/{b.id}", params={"expand": "posts"}, headers=both).json()
    assert b.post["id"] in [p["id"] for p in own["posts"]["items"]]
    assert {p["owner_id"] for p in own["posts"]["items"]} == {b.id}
    assert api.get(f"/users/{a.id}/posts", headers=both).json()["items"] == []
    created = api.post(f"/users/{a.id}/posts", json={"title": "x"}, headers=both)
    problem(created, 404, "not-found")  # only one's own rows hang under one's own id
    admin = api.get(f"/users/{a.id}/posts", headers=ADMIN).json()
    assert a.post["id"] in [p["id"] for p in admin["items"]]
    assert {p["owner_id"] for p in admin["items"]} == {a.id}
    no_scope = api.get(f"/posts/{b.post['id']}", params={"expand": "owner"}, headers=b.headers)
    problem(no_scope, 403, "forbidden")  # embedding users needs users:read
