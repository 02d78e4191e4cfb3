"""Shared pieces of the transfer tests: resources, edge-case rows, reading every row back
through the API, and deployments for any URL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from omnicrud import example
from omnicrud.api.app import create_app
from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row
from omnicrud.core.transfer import BulkStorage
from omnicrud.core.values import UTC
from tests.resources_testing import probes

RESOURCES: list[Resource] = [*example.resources, probes]
"""The bundled example plus ``probes`` (a nullable field of every kind: int64 bounds,
float edges, datetimes)."""

BACKENDS = ("sqlite", "postgresql", "mysql", "mongodb")

ASTRAL = "\U0001d518\U0001d52b\U0001d526\U0001f600\U0001f004"
"""Fraktur letters, an emoji, a mahjong tile: beyond the BMP, 4 bytes each in UTF-8."""


class WideNote(BaseModel):
    text: Annotated[str, Field(max_length=200)]


class NarrowNote(BaseModel):
    text: Annotated[str, Field(max_length=10)]


WIDE = [Resource("notes", WideNote)]
NARROW = [Resource("notes", NarrowNote)]


def deployment(url: str, resources: Sequence[Resource] = RESOURCES) -> Deployment:
    return Deployment.load(Settings(database_url=url), resources)


def client(url: str, resources: Sequence[Resource] = RESOURCES) -> TestClient:
    return TestClient(create_app(Settings(database_url=url), resources))


def _fill(text: str, length: int) -> str:
    """``text`` repeated to exactly ``length`` code points."""
    return (text * (length // len(text) + 1))[:length]


def seed_edge_rows(url: str) -> None:
    """Rows at the edges of what the API accepts, created through the API; then updates
    (versions above 1) and deletes (id gaps, the highest item id gone)."""
    with client(url) as c:
        users = [
            {
                "username": _fill("ü" + ASTRAL, 50),
                "email": "astral@example.com",
                "full_name": _fill("Ωmega " + ASTRAL, 200),
                "password": _fill("pässwörd" + ASTRAL, 128),
                "is_active": False,
            },
            {"username": "abc", "email": "a@example.org", "password": "12345678"},
            {
                "username": "null_full",
                "email": "n@example.net",
                "password": "x" * 8,
                "full_name": None,
            },
        ]
        for user in users:
            assert c.post("/users", json=user).status_code == 201, user
        items = [
            {
                "name": _fill("n" + ASTRAL, 100),
                "description": _fill("d€" + ASTRAL, 1000),
                "price": 1.7976931348623157e308,
            },
            {"name": "tiny", "description": None, "price": 5e-324},
            {"name": "zero", "price": 0.0},
            {"name": "third", "description": "", "price": 0.1 + 0.2},
            {"name": "quote'\"\\%_", "description": "tab\tnew\nline", "price": 1e-300},
            {"name": "big", "price": 123456789012345.67},
            {"name": "gone", "price": 1.0},
        ]
        assert c.post("/items", json=items).status_code == 201
        assert c.patch("/items/2", json={"price": 2.5}).status_code == 200
        assert c.patch("/items/2", json={"description": "twice"}).status_code == 200
        assert c.delete("/items/7").status_code == 204
        assert c.delete("/items/4").status_code == 204
        posts = [
            {"title": _fill("T" + ASTRAL, 200), "body": _fill("b" + ASTRAL, 5000), "owner_id": 1},
            {"title": "default body", "owner_id": 2},
            {"title": "second of 1", "body": "", "owner_id": 1},
        ]
        assert c.post("/posts", json=posts).status_code == 201
        probe_rows = [
            {
                "tag": "max",
                "k": 2**63 - 1,
                "n": 2**63 - 1,
                "x": 1.7976931348623157e308,
                "b": True,
                "t": "9999-12-31T23:59:59.999Z",
                "s": _fill(ASTRAL, 60),
            },
            {
                "tag": "min",
                "k": -(2**63),
                "n": -(2**63),
                "x": -1.7976931348623157e308,
                "b": False,
                "t": "0001-01-01T00:00:00.001Z",
                "s": "",
            },
            {"tag": "nulls", "k": 0},
            {
                "tag": "small",
                "k": -1,
                "x": -5e-324,
                "t": "2024-02-29T12:34:56.789+05:30",
                "s": "ms",
            },
            {"tag": "epoch", "k": 1, "x": 2.0, "t": "1970-01-01T00:00:00.000Z", "n": 0},
        ]
        assert c.post("/probes", json=probe_rows).status_code == 201
        assert c.patch("/probes/3", json={"s": "patched"}).status_code == 200


Reads = dict[str, dict[int, tuple[int, str | None, bytes]]]


def read_all(url: str, resources: Sequence[Resource] = RESOURCES) -> Reads:
    """Every row of every resource as GET /R/{id} answers it: status, ETag, body bytes."""
    out: Reads = {}
    with client(url, resources) as c:
        for res in resources:
            page = c.get(f"/{res.name}", params={"limit": 1000, "fields": "id"})
            assert page.status_code == 200, page.text
            ids = [item["id"] for item in page.json()["items"]]
            rows = out[res.name] = {}
            for id in ids:
                got = c.get(f"/{res.name}/{id}")
                rows[id] = (got.status_code, got.headers.get("etag"), got.content)
    return out


def bulk(deployment: Deployment) -> Any:
    storage = deployment.storage()
    assert isinstance(storage, BulkStorage)
    return storage


def dump_all(url: str, name: str, resources: Sequence[Resource] = RESOURCES) -> list[Row]:
    """Every raw row of one resource, through the backend's BulkStorage."""

    async def run() -> list[Row]:
        dep = deployment(url, resources)
        storage = bulk(dep)
        await storage.connect()
        try:
            res = next(r for r in dep.resources if r.name == name)
            return list(await storage.dump(res, 0, 1_000_000))
        finally:
            await storage.close()

    return asyncio.run(run())


def item_rows(first: int, count: int) -> list[Row]:
    """Raw item rows with ids ``first`` .. ``first + count - 1`` (for large copies)."""
    base = dt.datetime(2025, 1, 1, tzinfo=UTC)
    return [
        {
            "id": i,
            "name": f"item {i} {ASTRAL[i % 5]}",
            "description": None if i % 3 else f"description of {i}",
            "price": i / 7,
            "created_at": base + dt.timedelta(milliseconds=i),
            "updated_at": base + dt.timedelta(milliseconds=2 * i),
            "_version": 1 + i % 4,
        }
        for i in range(first, first + count)
    ]


async def load_items(url: str, total: int, batch: int = 10_000) -> None:
    """``total`` items loaded straight through BulkStorage (a large source, quickly)."""
    dep = deployment(url, example.resources)
    storage = bulk(dep)
    await storage.connect()
    try:
        await dep.schema(storage).upgrade()
        items = dep.resources[0]
        for first in range(1, total + 1, batch):
            await storage.load(items, item_rows(first, min(batch, total - first + 1)))
    finally:
        await storage.close()
