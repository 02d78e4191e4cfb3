"""The direct lane (``omnicrud.api.direct``) answers exactly as the FastAPI routes do.

Every request below is sent twice: to the app as served (the lane takes the plain cases,
hands the rest to the routes) and to the same app without the lane (the routes answer
everything, as they do with tracing on). Status, headers and body must be the same bytes,
once request ids, row ids and timestamps are masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from omnicrud.api.app import create_app
from omnicrud.api.direct import DirectLane
from omnicrud.config import Settings
from tests.conformance.support import make_item, uid

_MASKS = (
    (re.compile(rb'"request_id":"[0-9a-f]{32}"'), b'"request_id":"-"'),
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), b"T"),
    (re.compile(rb'"(id|next_cursor)":("[^"]*"|\d+)'), rb'"\1":0'),
    (re.compile(rb"/items/\d+"), b"/items/N"),
)


@pytest.fixture(scope="module")
def routes_only(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    lane: object = DirectLane
    app.user_middleware = [m for m in app.user_middleware if m.cls is not lane]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _masked(response: Response) -> tuple[int, dict[str, str], bytes]:
    body = response.content
    for pattern, replacement in _MASKS:
        body = pattern.sub(replacement, body)
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "location")}
    if "etag" in headers and response.request.method == "POST":
        headers["etag"] = "-"
    if "omnicrud-consistency" in headers:  # a WAL / GTID position: one per write
        headers["omnicrud-consistency"] = "-"
    return response.status_code, headers, body


def _same(lane: TestClient, routes: TestClient, method: str, url: str, **kw: Any) -> None:
    got, want = lane.request(method, url, **kw), routes.request(method, url, **kw)
    assert _masked(got) == _masked(want), f"{method} {url}"


READS = [
    "/items/{id}",
    "/items/{id}?expand=",
    "/items/0{id}",
    "/items/+{id}",
    "/items/{id}/",
    "/items/9223372036854775807",
    "/items/9223372036854775808",
    "/items?name={name}",
    "/items?name={name}&limit=1&count=true&sort=-price,id&fields=id,name",
    "/items?name={name}&limit=1&limit=2",
    "/items?name={name}&limit=01",
    "/items?name={name}&limit=0",
    "/items?name={name}&limit=abc",
    "/items?name={name}&count=yes",
    "/items?name={name}&count=",
    "/items?name={name}&offset=1&skip=1",
    "/items?name={name}&cursor=bogus",
    "/items?name={name}&sort=nope",
    "/items?name__bogus=1",
    "/items?price__gt=x",
    "/posts?expand=owner&limit=2",
    "/posts?expand=nope",
    "/users/{id}/posts",
]


@pytest.mark.parametrize("template", READS)
def test_reads(client: TestClient, routes_only: TestClient, template: str) -> None:
    name = uid()
    row = make_item(client, name, 2.5)
    url = template.format(id=row["id"], name=name)
    _same(client, routes_only, "GET", url)
    etag = client.get(f"/items/{row['id']}").headers["etag"]
    _same(client, routes_only, "GET", url, headers={"If-None-Match": etag})


def test_writes(client: TestClient, routes_only: TestClient) -> None:
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/items", {"json": {"name": "{name}", "price": 1}}),
        ("POST", "/items", {"json": [{"name": "{name}b", "price": 1}]}),
        ("POST", "/items", {"json": []}),
        ("POST", "/items", {"json": {"name": "{name}", "price": 1}}),  # 409
        ("POST", "/items", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("POST", "/items", {"content": b"{}", "headers": {"content-type": "text/plain"}}),
        ("POST", "/items", {"json": {"name": "x", "price": -1, "id": 3}}),
        ("PATCH", "/items/{id}", {"json": {"price": 2}}),
        ("PATCH", "/items/{id}", {"json": [1]}),
        ("PATCH", "/items/{id}", {"json": {"price": 3}, "headers": {"If-Match": '"9"'}}),
        ("PUT", "/items/{id}", {"json": {"name": "{name}", "price": 4}}),
        ("PUT", "/items/{id}", {"json": {"price": 4}}),
        ("DELETE", "/items/{id}", {"headers": {"If-Match": '"99"'}}),
        ("DELETE", "/items/{id}", {}),
        ("DELETE", "/items/{id}", {}),  # 404
    ]
    answers: list[list[tuple[int, dict[str, str], bytes]]] = []
    for side in (client, routes_only):
        name, row_id, got = uid(), 0, []
        for method, template, kw in steps:
            kw = _filled(kw, name)
            response = side.request(method, template.format(id=row_id), **kw)
            if response.status_code == 201 and method == "POST" and row_id == 0:
                row_id = response.json()["id"]
            masked = _masked(response)
            got.append((masked[0], masked[1], masked[2].replace(name.encode(), b"NAME")))
        answers.append(got)
    for step, lane, routes in zip(steps, *answers, strict=True):
        assert lane == routes, step


def _filled(kw: dict[str, Any], name: str) -> dict[str, Any]:
    """``kw`` with ``{name}`` in its JSON strings replaced by ``name``."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{name}", name)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return {**kw, "json": fill(kw["json"])} if "json" in kw else kw
