"""Hostile list queries: forged cursors, empty operators, filter floods, huge offsets.

Every case is a 400 problem (or 422 where FastAPI validates the parameter), never a 500 or a
503. Cursors are forged with the deployment's secret (set explicitly here), the way anyone
who learnt it could: a validly signed cursor must still be checked value by value.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.query import MAX_FILTERS, MAX_OFFSET, CursorCodec
from tests.conformance.support import assert_no_leak, make_item, problem, uid

SECRET = "abuse-query-test-secret"


@pytest.fixture(scope="module")
def app_client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, cursor_secret=SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def forge(payload: Any) -> str:
    """A cursor correctly signed with SECRET around any JSON payload."""
    codec = CursorCodec(SECRET)
    body = orjson.dumps(payload)
    token = body + codec._sign(body)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def prefix(app_client: TestClient) -> str:
    tag = uid()
    for i in range(3):
        make_item(app_client, f"{tag}-{i}", price=float(i))
    return tag


def test_genuine_cursor_still_pages(app_client: TestClient, prefix: str) -> None:
    params = {"name__startswith": prefix, "sort": "-price,name", "limit": 1}
    first = app_client.get("/items", params=params).json()
    assert first["next_cursor"]
    second = app_client.get("/items", params={**params, "cursor": first["next_cursor"]})
    assert second.status_code == 200, second.text
    assert [r["price"] for r in second.json()["items"]] == [1.0]


SORT = "-price,name"
SIGNATURE = "-price,name,id"  # id is always the final sort key
BAD_VALUES = [
    pytest.param([1.0], id="too-short"),
    pytest.param([1.0, "a", 3, 4], id="too-long"),
    pytest.param([], id="empty"),
    pytest.param({"price": 1.0}, id="object-not-list"),
    pytest.param("1.0,a,3", id="string-not-list"),
    pytest.param(7, id="number-not-list"),
    pytest.param(None, id="null-not-list"),
    pytest.param([{"$gt": ""}, "a", 3], id="object-value"),
    pytest.param([[1, 2], "a", 3], id="list-value"),
    pytest.param(["cheap", "a", 3], id="string-for-float"),
    pytest.param([True, "a", 3], id="bool-for-float"),
    pytest.param([1.0, 5, 3], id="int-for-str"),
    pytest.param([1.0, "a\x00b", 3], id="nul-in-str"),
    pytest.param([1.0, "a", "3"], id="string-for-id"),
    pytest.param([1.0, "a", 3.5], id="float-for-id"),
    pytest.param([1.0, "a", 2**64 - 1], id="id-beyond-int64"),
    pytest.param([1.0, "a", None], id="null-for-id"),
    pytest.param([None, "a", 3], id="null-for-required-float"),
]


@pytest.mark.parametrize("values", BAD_VALUES)
def test_cursor_with_wrong_values_is_bad_query(
    app_client: TestClient, prefix: str, values: Any
) -> None:
    cursor = forge(["items", SIGNATURE, values])
    response = app_client.get("/items", params={"sort": SORT, "cursor": cursor})
    problem(response, 400, "bad-query")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(["items", SIGNATURE], id="two-parts"),
        pytest.param(["items", SIGNATURE, [1.0, "a", 3], "extra"], id="four-parts"),
        pytest.param({"items": 1, "sort": 2, "values": 3}, id="object"),
        pytest.param("items", id="string"),
        pytest.param([["items"], SIGNATURE, [1.0, "a", 3]], id="list-as-name"),
    ],
)
def test_cursor_with_wrong_shape_is_bad_query(
    app_client: TestClient, prefix: str, payload: Any
) -> None:
    response = app_client.get("/items", params={"sort": SORT, "cursor": forge(payload)})
    problem(response, 400, "bad-query")


def test_datetime_cursor_value_must_be_a_timestamp(app_client: TestClient, prefix: str) -> None:
    for value in ("yesterday", 12, "2024-01-01T00:00:00"):
        cursor = forge(["items", "created_at,id", [value, 3]])
        response = app_client.get("/items", params={"sort": "created_at", "cursor": cursor})
        problem(response, 400, "bad-query")


def test_empty_operator_is_bad_query(app_client: TestClient, prefix: str) -> None:
    response = app_client.get("/items", params={"name__": f"{prefix}-0"})
    body = problem(response, 400, "bad-query")
    assert body["param"] == "name__"


def test_thousand_repeated_filters_are_refused(app_client: TestClient, prefix: str) -> None:
    params = [("name__startswith", prefix)] + [("price__gte", "0")] * 1000
    response = app_client.get("/items", params=params)
    body = problem(response, 400, "bad-query")
    assert str(MAX_FILTERS) in body["detail"]


def test_filters_up_to_the_limit_are_served(app_client: TestClient, prefix: str) -> None:
    params = [("name__startswith", prefix)] + [("price__gte", "0")] * (MAX_FILTERS - 1)
    response = app_client.get("/items", params=params)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 3


@pytest.mark.parametrize("param", ["offset", "skip"])
@pytest.mark.parametrize("value", [MAX_OFFSET + 1, 2**31, 2**32, 2**63 - 1, 2**63, 10**30])
def test_offset_beyond_database_integers_is_refused(
    app_client: TestClient, prefix: str, param: str, value: int
) -> None:
    response = app_client.get("/items", params={param: str(value)})
    # 400 from the core's bound; 422 once the router declares the bound on the parameter.
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert_no_leak(response)


@pytest.mark.parametrize("param", ["offset", "skip"])
def test_largest_offset_is_served(app_client: TestClient, prefix: str, param: str) -> None:
    response = app_client.get("/items", params={param: str(MAX_OFFSET), "limit": 1})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
