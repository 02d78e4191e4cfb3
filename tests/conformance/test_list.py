"""GET /R: envelope, pagination (offset and cursor), count, fields, sort (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import (
    ITEM_KEYS,
    created,
    invalid,
    listing,
    names,
    problem,
    uid,
)


def seed(client: TestClient, prefix: str, specs: list[tuple[str, float, str | None]]) -> list[Any]:
    rows = [{"name": f"{prefix}{n}", "price": p, "description": d} for n, p, d in specs]
    result: list[Any] = created(client.post("/items", json=rows))
    return result


SEVEN = [
    ("a", 3.0, "x"),
    ("b", 1.0, None),
    ("c", 2.0, "y"),
    ("d", 3.0, None),
    ("e", 1.0, "x"),
    ("f", 2.5, "z"),
    ("g", 3.0, "y"),
]


def test_envelope(client: TestClient) -> None:
    p = uid()
    rows = seed(client, p, SEVEN[:2])
    response = client.get("/items", params={"name__startswith": p})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["items", "next_cursor", "total"]
    assert body == {"items": rows, "next_cursor": None, "total": None}
    assert all(list(row) == ITEM_KEYS for row in body["items"])


def test_empty(client: TestClient) -> None:
    body = listing(client, "/items", name=uid(), count="true")
    assert body == {"items": [], "next_cursor": None, "total": 0}


def test_default_limit_is_50(client: TestClient) -> None:
    p = uid()
    seed(client, p, [(f"{i:03d}", 1.0, None) for i in range(51)])
    body = listing(client, "/items", name__startswith=p)
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None
    rest = listing(client, "/items", name__startswith=p, cursor=body["next_cursor"])
    assert [r["name"] for r in rest["items"]] == [f"{p}050"]
    assert rest["next_cursor"] is None


def test_limit_offset_skip(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    assert names(client, p) == list("abcdefg")
    page = listing(client, "/items", name__startswith=p, limit=3, offset=2)
    assert [r["name"] for r in page["items"]] == [f"{p}c", f"{p}d", f"{p}e"]
    assert page["next_cursor"] is not None
    skip = listing(client, "/items", name__startswith=p, limit=3, skip=2)
    assert skip["items"] == page["items"]
    last = listing(client, "/items", name__startswith=p, limit=3, offset=6)
    assert [r["name"] for r in last["items"]] == [f"{p}g"]
    assert last["next_cursor"] is None
    exact = listing(client, "/items", name__startswith=p, limit=3, offset=4)
    assert len(exact["items"]) == 3
    assert exact["next_cursor"] is None  # nothing follows
    beyond = listing(client, "/items", name__startswith=p, offset=100)
    assert beyond["items"] == []
    assert beyond["next_cursor"] is None
    assert len(listing(client, "/items", name__startswith=p, limit=1000)["items"]) == 7


def test_count(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    assert listing(client, "/items", name__startswith=p, limit=2)["total"] is None
    assert listing(client, "/items", name__startswith=p, count="false")["total"] is None
    body = listing(client, "/items", name__startswith=p, limit=2, count="true")
    assert body["total"] == 7
    assert len(body["items"]) == 2
    filtered = listing(client, "/items", name__startswith=p, price=3, count="true", offset=1)
    assert filtered["total"] == 3
    assert len(filtered["items"]) == 2


def test_fields(client: TestClient) -> None:
    p = uid()
    rows = seed(client, p, SEVEN[:3])
    body = listing(client, "/items", name__startswith=p, fields="name,id")
    assert [list(r) for r in body["items"]] == [["id", "name"]] * 3
    assert body["items"] == [{"id": r["id"], "name": r["name"]} for r in rows]
    one = listing(client, "/items", name__startswith=p, fields="price", sort="-price")
    assert one["items"] == [{"price": 3.0}, {"price": 2.0}, {"price": 1.0}]
    stamps = listing(client, "/items", name__startswith=p, fields="updated_at,created_at")
    assert [list(r) for r in stamps["items"]] == [["created_at", "updated_at"]] * 3


def test_fields_with_cursor(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    page = listing(client, "/items", name__startswith=p, fields="id", sort="-price", limit=4)
    rest = listing(
        client,
        "/items",
        name__startswith=p,
        fields="id",
        sort="-price",
        limit=4,
        cursor=page["next_cursor"],
    )
    every = listing(client, "/items", name__startswith=p, sort="-price")
    assert page["items"] + rest["items"] == [{"id": r["id"]} for r in every["items"]]


def test_sort(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    assert names(client, p, sort="price") == list("becfadg")
    assert names(client, p, sort="-price") == list("adgfcbe")
    assert names(client, p, sort="-price,name") == list("adgfcbe")
    assert names(client, p, sort="-price,-name") == list("gdafceb")
    assert names(client, p, sort="price,-name") == list("ebcfgda")
    assert names(client, p, sort="-name") == list("gfedcba")
    assert names(client, p, sort="-id") == list("gfedcba")
    # nulls first ascending, last descending; ties broken by id
    assert names(client, p, sort="description") == list("bdaecgf")
    assert names(client, p, sort="-description") == list("fcgaebd")
    assert names(client, p, sort="description,-price") == list("dbaegcf")


def page_through(client: TestClient, prefix: str, sort: str, limit: int) -> list[str]:
    seen: list[str] = []
    params: dict[str, Any] = {"name__startswith": prefix, "sort": sort, "limit": limit}
    for _ in range(20):
        body = listing(client, "/items", **params)
        assert len(body["items"]) <= limit
        seen += [r["name"].removeprefix(prefix) for r in body["items"]]
        if body["next_cursor"] is None:
            return seen
        assert len(body["items"]) == limit
        params["cursor"] = body["next_cursor"]
    raise AssertionError("cursor paging did not end")


@pytest.mark.parametrize(
    "sort", ["id", "-id", "price", "-price,name", "description", "-description,-price", "name"]
)
@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_cursor_paging(client: TestClient, sort: str, limit: int) -> None:
    p = uid()
    seed(client, p, SEVEN)
    assert page_through(client, p, sort, limit) == names(client, p, sort=sort)


def test_switch_from_offset_to_cursor(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    first = listing(client, "/items", name__startswith=p, sort="-price", limit=2, offset=3)
    assert [r["name"] for r in first["items"]] == [f"{p}f", f"{p}c"]
    rest = listing(
        client, "/items", name__startswith=p, sort="-price", limit=10, cursor=first["next_cursor"]
    )
    assert [r["name"].removeprefix(p) for r in rest["items"]] == list("be")


def test_cursor_survives_inserts_and_deletes(client: TestClient) -> None:
    p = uid()
    rows = seed(client, p, SEVEN)
    page = listing(client, "/items", name__startswith=p, sort="name", limit=3)
    assert [r["name"].removeprefix(p) for r in page["items"]] == list("abc")
    assert client.delete(f"/items/{rows[3]['id']}").status_code == 204  # d, next in line
    created(client.post("/items", json={"name": f"{p}a2", "price": 1}))  # before the cursor
    created(client.post("/items", json={"name": f"{p}c2", "price": 1}))  # after it
    rest = listing(
        client, "/items", name__startswith=p, sort="name", limit=10, cursor=page["next_cursor"]
    )
    assert [r["name"].removeprefix(p) for r in rest["items"]] == ["c2", "e", "f", "g"]


def test_cursor_with_offset_is_400(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    page = listing(client, "/items", name__startswith=p, limit=2)
    for key in ("offset", "skip"):
        params = {"name__startswith": p, "limit": 2, "cursor": page["next_cursor"], key: 1}
        problem(client.get("/items", params=params), 400, "bad-query")


def test_tampered_cursor_is_400(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    cursor = listing(client, "/items", name__startswith=p, limit=2)["next_cursor"]
    assert isinstance(cursor, str)
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (flipped, cursor[:-1], "x", "!!!", cursor + "AAAA", "e30", ""):
        body = problem(client.get("/items", params={"limit": 2, "cursor": bad}), 400, "bad-query")
        assert body["param"] == "cursor"


def test_cursor_from_another_sort_or_resource_is_400(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN)
    cursor = listing(client, "/items", name__startswith=p, sort="price", limit=2)["next_cursor"]
    for sort in ("-price", "name", "price,name"):
        body = problem(
            client.get("/items", params={"sort": sort, "cursor": cursor}), 400, "bad-query"
        )
        assert body["param"] == "cursor"
    assert client.get("/items", params={"sort": "price", "cursor": cursor}).status_code == 200
    body = problem(client.get("/posts", params={"sort": "id", "cursor": cursor}), 400, "bad-query")
    assert body["param"] == "cursor"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("nope", "1"),
        ("nope__gt", "1"),
        ("name__nope", "1"),
        ("sort", "nope"),
        ("sort", "-nope"),
        ("sort", "name,nope"),
        ("fields", "nope"),
        ("fields", "id,nope"),
    ],
)
def test_unknown_names_are_400(client: TestClient, param: str, value: str) -> None:
    body = problem(client.get("/items", params={param: value}), 400, "bad-query")
    assert body["param"] == param
    assert "nope" in body["detail"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("price", "abc"),
        ("price", "nan"),
        ("price", "inf"),
        ("price__gt", ""),
        ("price__in", "1,x"),
        ("id", "1.5"),
        ("id", "99999999999999999999"),
        ("created_at__gt", "2020-01-01T00:00:00"),
        ("created_at__gt", "yesterday"),
        ("description__isnull", "maybe"),
        ("price__contains", "1"),
        ("name__isnull", "true"),
        ("price__startswith", "1"),
    ],
)
def test_bad_filter_values_are_400(client: TestClient, param: str, value: str) -> None:
    body = problem(client.get("/items", params={param: value}), 400, "bad-query")
    assert body["param"] == param


def test_bad_bool_is_400(client: TestClient) -> None:
    for value in ("yes", "1", "True", ""):
        body = problem(client.get("/users", params={"is_active": value}), 400, "bad-query")
        assert body["param"] == "is_active"
    problem(client.get("/users", params={"is_active__gt": "true"}), 400, "bad-query")


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "1001"),
        ("limit", "x"),
        ("offset", "-1"),
        ("skip", "-1"),
        ("offset", "x"),
    ],
)
def test_paging_bounds_are_422(client: TestClient, param: str, value: str) -> None:
    invalid(client.get("/items", params={param: value}), "query", param)


def test_limit_bounds_accepted(client: TestClient) -> None:
    p = uid()
    seed(client, p, SEVEN[:2])
    assert len(listing(client, "/items", name__startswith=p, limit=1)["items"]) == 1
    assert len(listing(client, "/items", name__startswith=p, limit=1000)["items"]) == 2
    assert listing(client, "/items", name__startswith=p, offset=0)["items"][0]["name"] == f"{p}a"
