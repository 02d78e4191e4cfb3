"""PostgreSQL and MySQL/MariaDB specifics: query plans, column types, lost connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from omnicrud.backends.sql._mysql import connect_args
from omnicrud.backends.sql._postgres import asyncpg_dsn
from omnicrud.core.query import Cond, Expr, ListQuery, parse_sort, seek_after
from omnicrud.core.values import now
from omnicrud.example import resources as example_resources
from tests.backends.sql_support import Env, open_env

items = example_resources[0]


def _env(kind: str, tmp: pytest.TempPathFactory) -> Iterator[Env]:
    with ExitStack() as stack:
        found = open_env(kind, tmp.mktemp(kind), stack)
        if isinstance(found, str):
            pytest.fail(found)
        stamp = now()
        rows = [
            {
                "name": f"n{i:05d}",
                "description": None,
                "price": float(i),
                "created_at": stamp,
                "updated_at": stamp,
            }
            for i in range(3000)
        ]
        found.run(found.storage.create(items, rows))
        yield found


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from _env("postgresql", tmp_path_factory)


@pytest.fixture(scope="module")
def my(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from _env("mysql", tmp_path_factory)


async def _pg(env: Env, sql: str, *args: Any) -> Any:
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(env.url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _my(env: Env, sql: str) -> list[Any]:
    import aiomysql

    conn = await aiomysql.connect(**connect_args(env.url), autocommit=True)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            return list(await cur.fetchall())
    finally:
        conn.close()


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def _pg_plan(env: Env, where: Expr, sort: str) -> list[dict[str, Any]]:
    query = ListQuery(where, parse_sort(items, sort), items.readable, 50)
    plan = env.storage.sql.list(items, query)
    args = env.storage.sql.where_args(items, where, [])
    args += [query.limit, query.offset]
    env.run(_pg(env, "ANALYZE items"))
    (row,) = env.run(_pg(env, "EXPLAIN (FORMAT JSON) " + plan.sql, *plan.params(args)))
    return list(_plan_nodes(json.loads(row[0])[0]["Plan"]))


def test_pg_equality_filter_uses_the_field_index(pg: Env) -> None:
    nodes = _pg_plan(pg, Cond("name", "eq", "n01234"), "")
    assert any(n.get("Index Name") == "ix_items_name" for n in nodes), nodes
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes), nodes


def test_pg_keyset_page_range_scans_the_index(pg: Env) -> None:
    keys = parse_sort(items, "name")
    (middle,) = pg.run(
        pg.storage.list(items, ListQuery(Cond("name", "eq", "n01500"), keys, ("id",), 1))
    )
    nodes = _pg_plan(pg, seek_after(items, keys, ["n01500", middle["id"]]), "name")
    scans = [n for n in nodes if n.get("Index Name") == "ix_items_name"]
    assert scans, nodes
    assert "Index Cond" in scans[0], scans[0]  # a range start, not a filter from the top
    assert not any(n["Node Type"] in ("Seq Scan", "Sort") for n in nodes), nodes


def test_pg_keyset_by_id_uses_the_primary_key(pg: Env) -> None:
    nodes = _pg_plan(pg, seek_after(items, parse_sort(items, ""), [1500]), "")
    assert any(n.get("Index Name") == "items_pkey" for n in nodes), nodes


def test_pg_column_types(pg: Env) -> None:
    rows = pg.run(
        _pg(
            pg,
            "SELECT column_name, data_type, collation_name, datetime_precision "
            "FROM information_schema.columns WHERE table_name = 'items'",
        )
    )
    types = {r[0]: (r[1], r[2], r[3]) for r in rows}
    assert types["name"] == ("character varying", "C", None)
    assert types["price"][0] == "double precision"
    assert types["created_at"] == ("timestamp with time zone", None, 3)


def test_pg_reads_survive_terminated_connections(pg: Env) -> None:
    pg.run(
        _pg(
            pg,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'omnicrud' AND datname = current_database()",
        )
    )
    pg.run(asyncio.sleep(0.05))
    for _ in range(3):
        assert pg.run(pg.storage.count(items, None)) == 3000


def test_mysql_column_types(my: Env) -> None:
    rows = my.run(
        _my(
            my,
            "SELECT column_name, column_type, collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = 'items'",
        )
    )
    types = {r[0]: (r[1], r[2]) for r in rows}
    version = my.run(my.storage.server_version())
    collation = "utf8mb4_nopad_bin" if version.startswith("MariaDB") else "utf8mb4_0900_bin"
    assert types["name"] == ("varchar(100)", collation)
    assert types["price"][0] == "double"
    assert types["created_at"][0] == "datetime(3)"


def test_mysql_reads_survive_killed_connections(my: Env) -> None:
    ids = my.run(
        _my(
            my,
            "SELECT id FROM information_schema.processlist "
            "WHERE db = DATABASE() AND id <> CONNECTION_ID()",
        )
    )
    assert ids
    for (pid,) in ids:
        my.run(_my(my, f"KILL {int(pid)}"))
    my.run(asyncio.sleep(0.05))
    for _ in range(3):
        assert my.run(my.storage.count(items, None)) == 3000


def test_mysql_startswith_finds_characters_beyond_bmp(my: Env) -> None:
    """MariaDB's LIKE 'p%' index range stops at U+FFFF; startswith must not miss 'p😀'."""
    stamp = now()
    names = ["n02😀", "n02\U0010ffff", "n02\ufffd"]
    rows = [
        {"name": n, "description": None, "price": 1.0, "created_at": stamp, "updated_at": stamp}
        for n in names
    ]
    my.run(my.storage.create(items, rows))
    query = ListQuery(Cond("name", "startswith", "n02"), parse_sort(items, "name"), ("name",), 2000)
    found = [r["name"] for r in my.run(my.storage.list(items, query))]
    assert found[-3:] == sorted(names)
    assert len(found) == 1003


@pytest.mark.parametrize(
    ("prefix", "after"),
    [("ab", "ac"), ("", None), ("a\U0010ffff", "b"), ("\U0010ffff", None), ("a\ud7ff", "a\ue000")],
)
def test_successor(prefix: str, after: str | None) -> None:
    from omnicrud.backends.sql._statements import successor

    assert successor(prefix) == after
