"""Ids: integers, increasing in creation order, never reused (CONTRACT §2)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conformance.support import created, make_item, uid


def test_ids_increase(client: TestClient) -> None:
    p = uid()
    ids = [make_item(client, f"{p}{i}")["id"] for i in range(4)]
    bulk = created(client.post("/items", json=[{"name": f"{p}b{i}", "price": 1} for i in range(3)]))
    ids += [row["id"] for row in bulk]
    ids.append(make_item(client, f"{p}z")["id"])
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_highest_id_not_reused(client: TestClient) -> None:
    first = make_item(client, uid())
    highest = make_item(client, uid())
    assert client.delete(f"/items/{highest['id']}").status_code == 204
    assert client.delete(f"/items/{first['id']}").status_code == 204
    again = make_item(client, uid())
    assert again["id"] > highest["id"]


def test_failed_write_does_not_break_order(client: TestClient) -> None:
    before = make_item(client, uid())["id"]
    assert client.post("/items", json={"name": uid(), "price": -1}).status_code == 422
    assert client.post("/users", json={"username": "no"}).status_code == 422
    after = make_item(client, uid())["id"]
    assert after > before


def test_ids_per_resource_sort_by_creation(client: TestClient) -> None:
    p = uid()
    rows = [make_item(client, f"{p}{c}") for c in "cab"]
    listed = client.get("/items", params={"name__startswith": p, "sort": "id"}).json()["items"]
    assert [r["id"] for r in listed] == [r["id"] for r in rows]
    desc = client.get("/items", params={"name__startswith": p, "sort": "-id"}).json()["items"]
    assert [r["id"] for r in desc] == [r["id"] for r in reversed(rows)]
