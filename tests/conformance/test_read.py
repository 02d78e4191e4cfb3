"""GET and HEAD of one row, conditional GET (CONTRACT §3)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import MISSING_ID, make_item, problem, uid


def test_get(client: TestClient) -> None:
    row = make_item(client, uid(), 3.5, description="x")
    response = client.get(f"/items/{row['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == '"1"'
    assert response.json() == row


def test_get_missing(client: TestClient) -> None:
    problem(client.get(f"/items/{MISSING_ID}"), 404, "not-found")


@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "0x10", "9223372036854775808", "99999999999999999999999", "-1", "0"]
)
def test_bad_or_out_of_range_id_is_404(client: TestClient, raw: str) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        headers = {"content-type": "application/json"}
        body = b'{"name": "a", "price": 1}'
        response = client.request(method, f"/items/{raw}", content=body, headers=headers)
        problem(response, 404, "not-found")


def test_if_none_match(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    for tag in ('"1"', "*"):
        response = client.get(url, headers={"if-none-match": tag})
        assert response.status_code == 304, tag
        assert response.headers["etag"] == '"1"'
        assert response.content == b""
    stale = client.get(url, headers={"if-none-match": '"7"'})
    assert stale.status_code == 200
    assert stale.json() == row


def test_head_one(client: TestClient) -> None:
    row = make_item(client, uid(), description="head")
    url = f"/items/{row['id']}"
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


def test_head_missing(client: TestClient) -> None:
    response = client.head(f"/items/{MISSING_ID}")
    assert response.status_code == 404
    assert response.content == b""


def test_head_list(client: TestClient) -> None:
    p = uid()
    make_item(client, p)
    params = {"name": p}
    get = client.get("/items", params=params)
    head = client.head("/items", params=params)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))
