"""Hostile input on every parameter, path segment, body and header (§4, §5).

Whatever arrives, the answer is the right 2xx or a 4xx problem+json: never a 5xx, never a
body showing SQL, a driver's text or a class name, and a rejected write changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from omnicrud.core.query import MAX_PATTERN_CHARS
from tests.conformance.support import (
    DRIVER_NAMES,
    LEAKS,
    PROBLEM_JSON,
    make_item,
    make_user,
    uid,
)

HOSTILE = [
    "' OR '1'='1",
    "1; DROP TABLE items; --",
    '" OR ""="',
    "1 UNION SELECT password FROM users",
    '{"$gt": ""}',
    '{"$where": "sleep(1000)"}',
    "$ne",
    "[$regex]=.*",
    ".*",
    "^(a+)+$",
    "%",
    "_",
    "\\",
    "%_\\[]^$()*+?{}|",
    "ü名🎉\u202e",
    "a\x00b",
    "../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 5000,
    "",
    " ",
    "-",
    ",",
    ",,,",
    "null",
    "NaN",
    "Infinity",
    "1e309",
    "-0",
    "2024-13-45T25:61:61Z",
]
LIST_PARAMS = ["limit", "offset", "skip", "cursor", "sort", "fields", "count"]
FILTERS = [
    "id",
    "id__in",
    "id__gt",
    "name",
    "name__ne",
    "name__in",
    "name__contains",
    "name__icontains",
    "name__startswith",
    "name__gte",
    "price",
    "price__lt",
    "description__isnull",
    "created_at__gte",
    "name[$gt]",
    "name__regex",
    "password",
]


def sound(response: httpx.Response, *allowed: int) -> None:
    """Not a server error, no leak; an error is a problem document."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if allowed:
        assert response.status_code in allowed, (response.status_code, response.text[:500])
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    text = response.text
    for value in HOSTILE:  # a detail may quote the client's own input back: not a leak
        if len(value) > 3:
            text = text.replace(value, "").replace(repr(value)[1:-1], "")
    for leak in LEAKS:
        assert leak not in text, f"response leaks {leak!r}: {response.text[:500]}"
    for name in DRIVER_NAMES:
        assert name not in text.lower(), f"response leaks {name!r}: {response.text[:500]}"


@pytest.fixture(scope="module")
def row(client: TestClient) -> dict[str, Any]:
    return make_item(client, uid(), price=2.5, description="abuse")


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("param", LIST_PARAMS + FILTERS)
def test_hostile_query_values(
    client: TestClient, row: dict[str, Any], param: str, value: str
) -> None:
    response = client.get("/items", params={param: value})
    sound(response, 200, 400, 422)
    if response.status_code == 200 and param.startswith("name") and "__" not in param:
        assert all(r["name"] == value for r in response.json()["items"])


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_string_filters_match_literally(client: TestClient, value: str) -> None:
    prefix = uid()
    for op in ("", "__contains", "__icontains", "__startswith"):
        params = [("name__startswith", prefix), (f"name{op}", value)]
        response = client.get("/items", params=params)
        if "\x00" in value or (op and len(value) > MAX_PATTERN_CHARS):
            sound(response, 400)  # NUL is refused; so is a pattern over the common cap
        else:
            sound(response, 200)
            assert response.json()["items"] == []


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def test_hostile_path_segments(client: TestClient, method: str, value: str) -> None:
    segment = quote(value, safe="") or "%20"
    body = {"name": "x", "price": 1} if method in ("PUT", "PATCH") else None
    response = client.request(method, f"/items/{segment}", json=body)
    sound(response, 404, 405)


@pytest.mark.parametrize(
    "path",
    ["/items/1/../../users", "/%2e%2e/items", "/items/%00", "/items/1%2F2", "/" + "a" * 5000],
)
def test_hostile_paths(client: TestClient, path: str) -> None:
    sound(client.get(path), 200, 404)


OPERATOR_BODIES = [
    {"name": {"$gt": ""}, "price": 1},
    {"name": "ok", "price": {"$gt": 0}},
    {"name": "ok", "price": 1, "$where": "1"},
    {"name": "ok", "price": 1, "description": {"$ne": None}},
    {"name": ["a", "b"], "price": 1},
    {"name": "ok", "price": 1, "id": {"$gt": 0}},
    {"$set": {"name": "x"}},
    {"name": "a\x00b", "price": 1},
    {"name": "x" * 101, "price": 1},
    {"name": "ok", "price": -1},
    {"name": "ok", "price": 10**400},
    {"name": "ok", "price": "1; DROP TABLE items"},
]


@pytest.mark.parametrize("body", OPERATOR_BODIES, ids=range(len(OPERATOR_BODIES)))
def test_operator_objects_in_bodies_change_nothing(
    client: TestClient, row: dict[str, Any], body: dict[str, Any]
) -> None:
    before = client.get("/items", params={"count": "true", "limit": 1}).json()["total"]
    sound(client.post("/items", json=body), 400, 422)
    sound(client.post("/items", json=[{"name": "fine", "price": 1}, body]), 400, 422)
    sound(client.put(f"/items/{row['id']}", json=body), 400, 422)
    sound(client.patch(f"/items/{row['id']}", json=body), 400, 422)
    after = client.get("/items", params={"count": "true", "limit": 1}).json()["total"]
    assert after == before
    current = client.get(f"/items/{row['id']}").json()
    assert current == row


def test_oversized_and_deep_bodies(client: TestClient, row: dict[str, Any]) -> None:
    huge = {"name": "x", "price": 1, "description": "d" * 2_000_000}
    sound(client.post("/items", json=huge), 413)
    json = {"content-type": "application/json"}
    for depth in (40, 5000, 100_000):
        nested = '{"a":' * depth + "1" + "}" * depth
        raw = '{"name": "x", "price": 1, "d": ' + nested + "}"
        sound(client.post("/items", content=raw, headers=json), 400, 422)
        sound(client.patch(f"/items/{row['id']}", content=raw, headers=json), 400, 422)
        sound(client.post("/items", content="[" * depth + "]" * depth, headers=json), 400)
    sound(client.post("/items", content=b"\xff\xfe{", headers={"content-type": "application/json"}))
    assert client.get(f"/items/{row['id']}").json() == row


BAD_TAGS = [
    '"99999999999999999999999999"',
    '"18446744073709551616"',
    '"-1"',
    '"²"',
    '"²"'.encode().decode("latin-1"),
    '"١٢"',
    '"' + "9" * 10_000 + '"',
    'W/"1"',
    '"1000000", "2000000", W/"3"',
    ",,,",
    '"',
    "not-a-tag",
]


def _header(value: str) -> bytes:
    """Latin-1 where it can (how servers decode header bytes), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


@pytest.mark.parametrize("tag", BAD_TAGS, ids=range(len(BAD_TAGS)))
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_or_odd_if_match_is_412_and_changes_nothing(
    client: TestClient, method: str, tag: str
) -> None:
    item = make_item(client, uid(), price=3.0)
    body = {"name": item["name"], "price": 4.0} if method != "DELETE" else None
    response = client.request(
        method, f"/items/{item['id']}", json=body, headers={"If-Match": _header(tag)}
    )
    sound(response, 412)
    assert client.get(f"/items/{item['id']}").json() == item


@pytest.mark.parametrize("tag", BAD_TAGS, ids=range(len(BAD_TAGS)))
def test_if_match_list_with_the_current_tag_succeeds(client: TestClient, tag: str) -> None:
    item = make_item(client, uid(), price=3.0)
    current = client.get(f"/items/{item['id']}").headers["etag"]
    header = _header(f"{tag}, {current}")
    response = client.patch(
        f"/items/{item['id']}", json={"price": 5.0}, headers={"If-Match": header}
    )
    sound(response, 200)


@pytest.mark.parametrize("tag", BAD_TAGS, ids=range(len(BAD_TAGS)))
def test_odd_if_none_match_reads(client: TestClient, row: dict[str, Any], tag: str) -> None:
    response = client.get(f"/items/{row['id']}", headers={"If-None-Match": _header(tag)})
    sound(response, 200, 304)  # W/"1" matches version 1 (weak comparison)


@pytest.mark.parametrize(
    ("param", "value", "statuses"),
    [
        ("limit", "0", (422,)),
        ("limit", "-1", (422,)),
        ("limit", "1001", (422,)),
        ("limit", str(2**31), (422,)),
        ("limit", str(2**63), (422,)),
        ("limit", "10" * 20, (422,)),
        ("limit", "1.5", (422,)),
        ("offset", "-1", (400, 422)),
        ("offset", str(2**63), (400, 422)),
        ("skip", "-9" * 30, (400, 422)),
        ("id", str(2**63), (400,)),
        ("id", str(-(2**63) - 1), (400,)),
        ("id__in", f"1,{2**64}", (400,)),
        ("price__gt", "1e999", (400,)),
        ("price", "nan", (400,)),
    ],
)
def test_integer_bounds_on_query(
    client: TestClient, param: str, value: str, statuses: tuple[int, ...]
) -> None:
    sound(client.get("/items", params={param: value}), *statuses)


@pytest.mark.parametrize("segment", ["0", "-1", str(2**63 - 1), str(2**63), str(2**64), "9" * 40])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def test_integer_bounds_on_ids(client: TestClient, method: str, segment: str) -> None:
    body = {"name": "x", "price": 1} if method in ("PUT", "PATCH") else None
    sound(client.request(method, f"/items/{segment}", json=body), 404)


@pytest.mark.parametrize("owner", [0, -1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 1.5, True])
def test_integer_bounds_on_int_fields(client: TestClient, owner: Any) -> None:
    before = client.get("/posts", params={"count": "true", "limit": 1}).json()["total"]
    sound(client.post("/posts", json={"title": uid(), "owner_id": owner}), 409, 422)
    user = make_user(client, uid())
    sound(client.patch(f"/users/{user['id']}", json={"is_active": owner}), 200, 422)
    assert client.get("/posts", params={"count": "true", "limit": 1}).json()["total"] == before
