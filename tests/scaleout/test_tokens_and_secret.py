"""The pieces of CONTRACT §4/§9 that need no cluster: consistency tokens are signed and
verified, positions compare as the databases order them, and the generated cursor secret is
kept in the database (shared by every app on it) — on every backend."""

from __future__ import annotations

from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.backends.sql._galera import MariadbReplicas, parse
from omnicrud.backends.sql._pg_replicas import lsn
from omnicrud.config import Settings
from omnicrud.core import consistency
from tests.conformance.support import uid


def test_tokens_are_signed() -> None:
    key, other = b"k" * 32, b"o" * 32
    token = consistency.sign(key, "0/16B3748")
    assert consistency.verify(key, token) == "0/16B3748"
    assert consistency.verify(other, token) is None
    assert consistency.verify(key, token[:-2]) is None
    assert consistency.verify(key, "not a token!") is None
    assert consistency.verify(key, "A" * 600) is None


def test_positions_compare_like_the_databases() -> None:
    assert lsn("1/0") > lsn("0/FFFFFFFF") > lsn("0/16B3748") > lsn(None)
    driver = MariadbReplicas(lambda url: {}, lambda: None)
    assert parse("0-1-57,100-3-9") == {0: 57, 100: 9}
    assert driver.reached("0-1-57,100-3-9", "100-1-9")
    assert not driver.reached("0-1-57", "100-1-1")
    assert not driver.reached("100-2-8", "100-1-9")
    assert driver.reached(driver.later("100-2-8", "100-1-9"), "100-3-9")


def test_the_generated_cursor_secret_is_shared_through_the_database(database_url: str) -> None:
    settings = Settings(database_url=database_url, cursor_secret=None)
    name = uid()
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        for price in (1, 2, 3):
            assert one.post("/items", json={"name": name, "price": price}).status_code == 201
        page = one.get("/items", params={"name": name, "limit": 1, "sort": "price"}).json()
        cursor = page["next_cursor"]
        assert cursor
        nxt = two.get(
            "/items", params={"name": name, "limit": 1, "sort": "price", "cursor": cursor}
        )
        assert nxt.status_code == 200
        assert [row["price"] for row in nxt.json()["items"]] == [2]
    other = Settings(database_url=database_url, cursor_secret="another secret" * 3)
    with TestClient(create_app(other)) as three:
        params = {"name": name, "limit": 1, "sort": "price", "cursor": cursor}
        assert three.get("/items", params=params).status_code == 400
