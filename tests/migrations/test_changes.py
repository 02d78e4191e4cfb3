"""Changing the resources of a deployment that has data: ``db revision --autogenerate``,
``db upgrade`` (and on SQL ``db downgrade``) keep every row, fill new fields with their
defaults, and the API serves the new fields at once. Runs on the backend of DATABASE_URL,
each test on a fresh database of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.resources import Resource
from omnicrud.example import resources as example
from tests.migrations import changed

from .support import (
    CHANGED,
    REQUIRED,
    copy_example,
    fresh_database,
    is_sql,
    omnicrud,
    sql_columns,
    sql_indexes,
    sql_versions,
)

pytestmark = pytest.mark.server

FIRST = "v0001_items_users_posts.py"
NEW_ITEM_KEYS = [
    "id",
    "name",
    "description",
    "price",
    "note",
    "stock",
    "sku",
    "created_at",
    "updated_at",
]


@contextmanager
def api(
    url: str, resources: Sequence[Resource], migrations: Path | None, auto: bool = False
) -> Iterator[TestClient]:
    settings = Settings(
        database_url=url,
        migrations=None if migrations is None else str(migrations),
        auto_migrate=auto,
    )
    with TestClient(create_app(settings, resources), raise_server_exceptions=False) as client:
        yield client


def created(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    row: dict[str, Any] = response.json()
    return row


def fill(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    """Rows in every table."""
    users = [
        created(
            client,
            "/users",
            {"username": f"user{i}", "email": f"u{i}@example.com", "password": "password1"},
        )
        for i in range(2)
    ]
    items = [
        created(client, "/items", {"name": "plain", "price": 1.5}),
        created(client, "/items", {"name": "described", "description": "d", "price": 0.0}),
    ]
    posts = [created(client, "/posts", {"title": "hello", "owner_id": users[0]["id"]})]
    return {"users": users, "items": items, "posts": posts}


def assert_rows_kept(client: TestClient, rows: dict[str, list[dict[str, Any]]]) -> None:
    for name, kept in rows.items():
        for row in kept:
            response = client.get(f"/{name}/{row['id']}")
            assert response.status_code == 200, response.text
            now = response.json()
            assert {k: now[k] for k in row} == row


def upgrade(url: str, tmp: Path, resources: str | None, migrations: Path) -> str:
    run = omnicrud(["db", "upgrade"], url, tmp, resources, migrations)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_change_survives_revision_upgrade_and_downgrade(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        migrations = copy_example(tmp_path)
        upgrade(url, tmp_path, None, migrations)
        with api(url, example, migrations) as client:
            before = fill(client)

        if is_sql(url):
            run = omnicrud(
                ["db", "revision", "--autogenerate", "-m", "items: note, stock, sku"],
                url,
                tmp_path,
                CHANGED,
                migrations,
            )
            assert run.returncode == 0, run.stdout + run.stderr
            (script,) = [p for p in migrations.glob("*.py") if p.name != FIRST]
            text = script.read_text()
            for needed in ("'note'", "'stock'", "'sku'", "ix_items_price", "uq_items_sku"):
                assert needed in text, text
            assert "alter_column" not in text  # nothing but the change itself
            assert "COLLATE" not in text
            assert "utf8mb4_" not in text
        upgrade(url, tmp_path, CHANGED, migrations)
        current = omnicrud(["db", "current"], url, tmp_path, CHANGED, migrations)
        assert current.returncode == 0, current.stderr
        assert "head" in current.stdout or "up to date" in current.stdout, current.stdout

        with api(url, changed.resources, migrations) as client:
            assert_rows_kept(client, before)
            for row in before["items"]:
                now = client.get(f"/items/{row['id']}").json()
                assert list(now) == NEW_ITEM_KEYS
                assert (now["note"], now["stock"], now["sku"]) == (None, 7, None)
            new = created(
                client, "/items", {"name": "new", "price": 2.0, "sku": "A-1", "note": "n"}
            )
            assert (new["sku"], new["note"], new["stock"]) == ("A-1", "n", 7)
            dup = client.post("/items", json={"name": "dup", "price": 1.0, "sku": "A-1"})
            assert dup.status_code == 409, dup.text
            assert dup.json()["field"] == "sku", dup.text
            listed = client.get("/items", params={"stock": 7, "sort": "price"}).json()["items"]
            assert [r["id"] for r in listed] == [
                before["items"][1]["id"],
                before["items"][0]["id"],
                new["id"],
            ]
            # a write through the new schema keeps working on the old rows
            patched = client.patch(f"/items/{before['items'][0]['id']}", json={"stock": 1})
            assert patched.status_code == 200, patched.text
            assert patched.json()["stock"] == 1, patched.text
            old = before["items"][0]
            before["items"][0] = {k: patched.json()[k] for k in old}

        if not is_sql(url):
            return
        assert {"ix_items_price", "uq_items_sku"} <= sql_indexes(url, "items")
        with api(url, changed.resources, migrations) as client:
            highest = created(client, "/items", {"name": "gone", "price": 1.0})
            assert client.delete(f"/items/{highest['id']}").status_code == 204
        run = omnicrud(["db", "downgrade", "0001"], url, tmp_path, CHANGED, migrations)
        assert run.returncode == 0, run.stdout + run.stderr
        assert sql_versions(url) == ["0001"]
        assert sql_columns(url, "items") == [
            "id",
            "name",
            "description",
            "price",
            "created_at",
            "updated_at",
            "_version",
        ]
        assert not {"ix_items_price", "uq_items_sku"} & sql_indexes(url, "items")
        with api(url, example, None) as client:  # the bundled scripts: at their head again
            assert_rows_kept(client, before)
            kept = client.get(f"/items/{new['id']}").json()
            assert {k: kept[k] for k in ("name", "description", "price")} == {
                "name": "new",
                "description": None,
                "price": 2.0,
            }
            again = created(client, "/items", {"name": "after", "price": 1.0})
            assert again["id"] > highest["id"]  # ids are not reused after a table rebuild


def test_required_field_without_default_is_refused(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        migrations = copy_example(tmp_path)
        upgrade(url, tmp_path, None, migrations)
        with api(url, example, migrations) as client:
            fill(client)
        if is_sql(url):
            run = omnicrud(
                ["db", "revision", "--autogenerate", "-m", "code"],
                url,
                tmp_path,
                REQUIRED,
                migrations,
            )
            assert run.returncode != 0
            assert "items.code" in run.stderr, run.stderr
            assert "without a default" in run.stderr, run.stderr
            assert [p.name for p in migrations.glob("*.py")] == [FIRST]
        run = omnicrud(["db", "upgrade"], url, tmp_path, REQUIRED, migrations)
        assert run.returncode != 0
        assert "items.code" in run.stderr, run.stderr
        assert "without a default" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
