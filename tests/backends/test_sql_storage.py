"""The SQL storages against real databases: the same operations give identical rows.

Checks below the HTTP layer: row key order and value types, NULL semantics, literal
``%``/``_``/``\\``/GLOB characters, code-point sorting, keyset seeks, version checks, error
translation, atomic bulk inserts, ids never reused, and Unavailable for a dead server.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnicrud.core.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    ReferenceConflict,
    Unavailable,
)
from omnicrud.core.query import And, Cond, Expr, ListQuery, Or, parse_sort, seek_after
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row
from omnicrud.core.values import UTC, parse_datetime
from omnicrud.example import resources as example_resources
from tests.backends.sql_support import KINDS, RESOURCES, Env, envs, open_storage
from tests.resources_testing import probes
from tests.schema_support import ensure_schema

items, users, posts = example_resources
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
NAMES = ["b", "a", "B", "a%b", "a_b", "a\\b", "é", "Éclair", "a b", "a ", "a", "z*?[x]", "ñandú"]


@pytest.fixture(scope="module")
def all_envs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Env | str]]:
    yield from envs(tmp_path_factory.mktemp("sql"))


@pytest.fixture(params=KINDS)
def env(request: pytest.FixtureRequest, all_envs: dict[str, Env | str]) -> Env:
    found = all_envs[request.param]
    if isinstance(found, str):
        pytest.fail(found)
    return found


def stamped(row: Row, at: dt.datetime = T0) -> Row:
    return {**row, "created_at": at, "updated_at": at}


def user(name: str) -> Row:
    return stamped(
        {
            "username": name,
            "email": f"{name}@example.com",
            "full_name": None,
            "password": "$argon2id$not-a-real-hash",
            "is_active": True,
        }
    )


def q(where: Expr | None, sort: str = "", columns: tuple[str, ...] = (), limit: int = 100) -> Any:
    return ListQuery(where, parse_sort(items, sort), columns or items.readable, limit)


def relative(rows: list[Row], base: int) -> list[Row]:
    return [{**r, "id": r["id"] - base} if "id" in r else r for r in rows]


def scenario(env: Env) -> list[Any]:
    """Operations whose results must be identical on every backend (ids made relative)."""
    s, run = env.storage, env.run
    out: list[Any] = []
    rows = [
        stamped({"name": n, "description": None if i % 3 == 0 else f"d{i % 4}", "price": i % 5})
        for i, n in enumerate(NAMES)
    ]
    created = run(s.create(items, [{**r, "price": float(r["price"])} for r in rows]))
    base = created[0]["id"]
    out.append(relative(created, base))
    mine = Cond("id", "gte", base)
    cases: list[tuple[Expr, str]] = [
        (mine, ""),
        (Cond("name", "eq", "a"), "name"),
        (Cond("name", "ne", "a"), "-name"),
        (Cond("name", "contains", "%"), ""),
        (Cond("name", "contains", "_"), ""),
        (Cond("name", "contains", "\\"), ""),
        (Cond("name", "contains", "*?["), ""),
        (Cond("name", "contains", "[x"), ""),
        (Cond("name", "startswith", "a"), "name"),
        (Cond("name", "startswith", "A"), ""),
        (Cond("name", "icontains", "A"), ""),
        (Cond("name", "icontains", "É"), ""),
        (Cond("name", "icontains", "%"), ""),
        (Cond("description", "ne", "d1"), "description"),
        (Cond("description", "in", ("d1", "d2")), "-description"),
        (Cond("description", "isnull", True), ""),
        (Cond("description", "isnull", False), "description,-price"),
        (Cond("description", "contains", "d"), "-description,price"),
        (Cond("price", "gt", 2.0), "-price"),
        (Cond("price", "lte", 2.0), "price,-name"),
        (Or((Cond("name", "eq", "b"), Cond("price", "eq", 4.0))), "name"),
    ]
    for where, sort in cases:
        full = And((mine, where))
        out.append(relative(run(s.list(items, q(full, sort))), base))
        out.append(run(s.count(items, full)))
    page = ListQuery(mine, parse_sort(items, "-description,name"), ("id", "name"), 4, 3)
    out.append(relative(run(s.list(items, page)), base))
    for sort in ("description,-price", "-description,name", "name", "-price,description"):
        out.append(keyset_walk(env, items, mine, sort, base))
    out.append(probe_cases(env))
    return out


def keyset_walk(env: Env, res: Resource, where: Expr, sort: str, base: int) -> list[int]:
    """Pages of 3 through ``seek_after``; must equal one big page in the same order."""
    keys = parse_sort(res, sort)
    full = [r["id"] for r in env.run(env.storage.list(res, ListQuery(where, keys, ("id",), 1000)))]
    seen: list[int] = []
    seek: Expr = where
    while page := env.run(env.storage.list(res, ListQuery(seek, keys, res.readable, 3))):
        seen += [r["id"] for r in page]
        last = [
            parse_datetime(page[-1][k.field])
            if res.by_name[k.field].kind == "datetime" and page[-1][k.field] is not None
            else page[-1][k.field]
            for k in keys
        ]
        seek = And((where, seek_after(res, keys, last)))
    assert seen == full
    return [i - base for i in seen]


def probe_cases(env: Env) -> list[Any]:
    s, run = env.storage, env.run
    rows = [
        stamped(
            {
                "tag": f"t{i % 3}",
                "s": None if i % 2 else f"s{i}",
                "n": None if i % 3 == 0 else i - 4,
                "x": None if i % 4 == 0 else i / 3,
                "b": None if i % 3 == 1 else i % 2 == 0,
                "t": None if i % 5 == 0 else T0 + dt.timedelta(days=i, milliseconds=i),
                "k": i % 2,
            }
        )
        for i in range(8)
    ]
    created = run(s.create(probes, rows))
    base = created[0]["id"]
    out: list[Any] = [relative(created, base)]
    mine = Cond("id", "gte", base)
    for where in [
        Cond("b", "eq", True),
        Cond("b", "ne", True),
        Cond("t", "gt", T0 + dt.timedelta(days=3)),
        Cond("t", "in", (T0 + dt.timedelta(days=1, milliseconds=1),)),
        Cond("n", "lt", 0),
        Cond("x", "gte", 1.0),
        Cond("t", "isnull", True),
    ]:
        for sort in ("b,-t,x", "-b,n,-x", "t"):
            query = ListQuery(And((mine, where)), parse_sort(probes, sort), probes.readable, 100)
            out.append(relative(run(s.list(probes, query)), base))
    for sort in ("b,-t,x", "-n,s", "-t,-x"):
        out.append(keyset_walk(env, probes, mine, sort, base))
    return out


def test_identical_rows_on_every_backend(all_envs: dict[str, Env | str]) -> None:
    ready = [e for e in all_envs.values() if isinstance(e, Env)]
    results = {e.kind: scenario(e) for e in ready}
    first = next(iter(results.values()))
    for kind, result in results.items():
        assert result == first, kind


def test_rows_are_wire_ready(env: Env) -> None:
    (row,) = env.run(env.storage.create(users, [user("wire_" + env.kind)]))
    assert list(row) == [*users.readable, VERSION]
    assert "password" not in row
    assert row["created_at"] == "2026-01-02T03:04:05.123Z"
    assert row["is_active"] is True
    assert row[VERSION] == 1
    assert env.run(env.storage.get(users, row["id"])) == row
    got = env.run(
        env.storage.list(users, ListQuery(Cond("id", "eq", row["id"]), (), ("is_active", "id"), 5))
    )
    assert got == [{"is_active": True, "id": row["id"]}]
    (item,) = env.run(
        env.storage.create(items, [stamped({"name": "f", "description": None, "price": 2.0})])
    )
    assert type(item["price"]) is float
    assert item["price"] == 2.0


def test_versions_and_missing_rows(env: Env) -> None:
    s, run = env.storage, env.run
    (row,) = run(s.create(users, [user("ver_" + env.kind)]))
    later = T0 + dt.timedelta(seconds=1)
    with pytest.raises(PreconditionFailed):
        run(s.update(users, row["id"], {"full_name": "X", "updated_at": later}, 2))
    updated = run(s.update(users, row["id"], {"full_name": "X", "updated_at": later}, 1))
    assert updated[VERSION] == 2
    assert updated["full_name"] == "X"
    assert updated["updated_at"] == "2026-01-02T03:04:06.123Z"
    assert run(s.update(users, row["id"], {"full_name": None}, None))[VERSION] == 3
    with pytest.raises(PreconditionFailed):
        run(s.delete(users, row["id"], 2))
    for call in (
        lambda: s.update(users, 10**15, {"full_name": "X"}, None),
        lambda: s.update(users, 10**15, {"full_name": "X"}, 1),
        lambda: s.delete(users, 10**15, None),
        lambda: s.delete(users, 2**64, None),
    ):
        with pytest.raises(NotFound):
            run(call())
    assert run(s.get(users, 2**64)) is None
    run(s.delete(users, row["id"], 3))
    assert run(s.get(users, row["id"])) is None


def test_conflicts_and_references(env: Env) -> None:
    s, run = env.storage, env.run
    name = "ref_" + env.kind
    (owner,) = run(s.create(users, [user(name)]))
    with pytest.raises(Conflict) as conflict:
        run(s.create(users, [{**user(name), "email": "other@example.com"}]))
    assert conflict.value.field == "username"
    # No PAD SPACE: a trailing space makes another value, on MariaDB too.
    run(s.create(users, [{**user(name + " "), "email": f"{name}2@example.com"}]))
    post = stamped({"title": "t", "body": "", "owner_id": 10**15})
    with pytest.raises(ReferenceConflict) as missing:
        run(s.create(posts, [post]))
    assert (missing.value.resource, missing.value.field, missing.value.missing_target) == (
        "posts",
        "owner_id",
        True,
    )
    (mine,) = run(s.create(posts, [{**post, "owner_id": owner["id"]}]))
    with pytest.raises(ReferenceConflict) as moved:
        run(s.update(posts, mine["id"], {"owner_id": 10**15}, None))
    assert moved.value.missing_target is True
    with pytest.raises(ReferenceConflict) as held:
        run(s.delete(users, owner["id"], None))
    assert (held.value.resource, held.value.field, held.value.missing_target) == (
        "posts",
        "owner_id",
        False,
    )
    run(s.delete(posts, mine["id"], None))
    run(s.delete(users, owner["id"], None))


def test_bulk_create_is_all_or_nothing(env: Env) -> None:
    s, run = env.storage, env.run
    name = "bulk_" + env.kind
    batch = [user(f"{name}{i}") for i in range(5)]
    batch[4] = {**batch[4], "email": batch[1]["email"]}
    with pytest.raises(Conflict) as conflict:
        run(s.create(users, batch))
    assert conflict.value.field == "email"
    assert run(s.count(users, Cond("username", "startswith", name))) == 0
    created = run(s.create(users, batch[:4]))
    assert [r["username"] for r in created] == [f"{name}{i}" for i in range(4)]
    assert [r["id"] for r in created] == sorted(r["id"] for r in created)


def test_ids_are_never_reused(env: Env) -> None:
    s, run = env.storage, env.run
    row = stamped({"name": "ids", "description": None, "price": 1.0})
    (first,) = run(s.create(items, [row]))
    run(s.delete(items, first["id"], None))
    (second,) = run(s.create(items, [row]))
    assert second["id"] > first["id"]


def test_ensure_schema_twice_is_harmless(env: Env) -> None:
    env.run(ensure_schema(env.storage, env.storage.settings, RESOURCES))
    assert env.run(env.storage.server_version()).split()[0] in (
        "SQLite",
        "PostgreSQL",
        "MariaDB",
        "MySQL",
    )


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:secret@127.0.0.1:1/x", "mysql://u:secret@127.0.0.1:1/x"],
)
def test_unreachable_server_is_unavailable(url: str) -> None:
    import asyncio

    storage = open_storage(url, connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(Unavailable) as failure:
        asyncio.run(storage.connect())
    assert time.monotonic() - started < 5
    assert "secret" not in str(failure.value)
    with pytest.raises(Unavailable):
        asyncio.run(storage.get(items, 1))


def test_sqlite_unopenable_file_is_unavailable(tmp_path: Path) -> None:
    import asyncio

    storage = open_storage(f"sqlite:///{tmp_path}/missing/dir/x.db")
    with pytest.raises(Unavailable):
        asyncio.run(storage.connect())


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite+aiosqlite:///x.db?mode=rwc", "x.db"),
        ("sqlite://", ":memory:"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    from omnicrud.backends.sql._sqlite import database_path

    assert database_path(url) == path


@pytest.mark.parametrize("kind", KINDS)
def test_ensure_schema_races_safely(kind: str, tmp_path: Path) -> None:
    import asyncio

    from tests.backends.sql_support import server_url
    from tests.provision import ServerUnreachable, provision

    try:
        context = provision(server_url(kind, tmp_path), tmp_path)
        url = context.__enter__()
    except ServerUnreachable as exc:
        pytest.fail(str(exc))

    async def race() -> list[int]:
        storages = [open_storage(url) for _ in range(3)]
        await asyncio.gather(*(s.connect() for s in storages))
        try:
            await asyncio.gather(*(ensure_schema(s, s.settings, RESOURCES) for s in storages))
            created = await asyncio.gather(
                *(
                    s.create(items, [stamped({"name": "r", "description": None, "price": 1.0})])
                    for s in storages
                )
            )
            return [rows[0]["id"] for rows in created]
        finally:
            await asyncio.gather(*(s.close() for s in storages))

    try:
        assert len(set(asyncio.run(race()))) == 3
    finally:
        context.__exit__(None, None, None)


def test_sqlite_memory_database() -> None:
    import asyncio

    async def use() -> None:
        storage = open_storage("sqlite:///:memory:")
        await storage.connect()
        await ensure_schema(storage, storage.settings, RESOURCES)
        (row,) = await storage.create(
            items, [stamped({"name": "m", "description": None, "price": 1.0})]
        )
        assert await storage.get(items, row["id"]) == row
        await storage.close()

    asyncio.run(use())
