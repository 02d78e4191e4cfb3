"""CONTRACT §6 against two real service processes on one database: concurrent PATCHes with
If-Match never lose an update, concurrent creates never reuse an id, a unique field never
ends up duplicated, and nothing answers 5xx."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from .conftest import Server

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


async def _gather(servers: Sequence[Server], calls: Sequence[Call]) -> list[httpx.Response]:
    """Send every call at once, spread round-robin over the servers."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:

        async def send(i: int, call: Call) -> httpx.Response:
            url = servers[i % len(servers)].url + call.path
            return await client.request(call.method, url, json=call.body, headers=call.headers)

        return await asyncio.gather(*(send(i, c) for i, c in enumerate(calls)))


def gather(servers: Sequence[Server], requests: Sequence[Call]) -> list[httpx.Response]:
    responses = asyncio.run(_gather(servers, requests))
    for resp in responses:
        assert resp.status_code < 500, f"{resp.request.method} {resp.request.url}: {resp.text}"
    return responses


def statuses(responses: Sequence[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def test_concurrent_patches_with_one_etag_let_exactly_one_win(servers: list[Server]) -> None:
    base = servers[0].url
    created = httpx.post(f"{base}/items", json={"name": "race", "price": 1.0})
    assert created.status_code == 201, created.text
    path = created.headers["location"]
    etag = created.headers["etag"]

    requests = [
        Call(
            "PATCH",
            path,
            {"name": f"writer-{i}"},
            {"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
        for i in range(20)
    ]
    responses = gather(servers, requests)
    assert statuses(responses) == {200: 1, 412: 19}, statuses(responses)
    winner = next(r for r in responses if r.status_code == 200)
    for loser in (r for r in responses if r.status_code == 412):
        assert loser.headers["content-type"] == "application/problem+json"
        assert loser.json()["type"] == "urn:omnicrud:problem:precondition-failed"
    assert winner.headers["etag"] != etag

    for server in servers:
        now = httpx.get(f"{server.url}{path}")
        assert now.status_code == 200
        assert now.json() == winner.json()
        assert now.headers["etag"] == winner.headers["etag"]


def test_concurrent_creates_over_two_processes_get_distinct_ids(servers: list[Server]) -> None:
    prefix = f"burst-{uuid.uuid4().hex[:8]}-"
    requests = [
        Call("POST", "/items", {"name": f"{prefix}{i}", "price": float(i)}) for i in range(60)
    ]
    responses = gather(servers, requests)
    assert statuses(responses) == {201: 60}, statuses(responses)
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 60, sorted(ids)
    for resp in responses:
        assert resp.headers["location"] == f"/items/{resp.json()['id']}"

    listed = httpx.get(
        f"{servers[1].url}/items",
        params={"name__startswith": prefix, "limit": "100", "count": "true", "fields": "id,name"},
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 60
    assert sorted(item["id"] for item in body["items"]) == sorted(ids)
    by_name = {item["name"]: item["id"] for item in body["items"]}
    assert by_name == {r.json()["name"]: r.json()["id"] for r in responses}


def test_concurrent_creates_of_one_username_store_one_row(servers: list[Server]) -> None:
    username = f"u{uuid.uuid4().hex[:12]}"
    requests = [
        Call(
            "POST",
            "/users",
            {
                "username": username,
                "email": f"{username}.{i}@example.com",
                "password": "correct horse battery",
            },
        )
        for i in range(12)
    ]
    responses = gather(servers, requests)
    assert statuses(responses) == {201: 1, 409: 11}, statuses(responses)
    for resp in responses:
        if resp.status_code == 409:
            problem = resp.json()
            assert problem["type"] == "urn:omnicrud:problem:unique-conflict", problem
            assert problem["field"] == "username", problem
    winner = next(r for r in responses if r.status_code == 201).json()
    assert "password" not in winner

    for server in servers:
        listed = httpx.get(f"{server.url}/users", params={"username": username, "count": "true"})
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == 1
        assert listed.json()["items"] == [winner]
