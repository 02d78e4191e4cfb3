"""The MongoDB storage against a real server: SecantusDB started here, or env ``MONGO_URL``.

Storage-level checks the HTTP suites cannot see: key order and value types of rows, null vs
missing fields, index creation, transaction fallback, id allocation across clients,
reference races, and Unavailable when the server is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

import pytest
from pydantic import BaseModel

from omnicrud.backends.mongo._storage import COUNTERS, MongoStorage
from omnicrud.config import Settings
from omnicrud.core.errors import (
    ConfigError,
    Conflict,
    NotFound,
    PreconditionFailed,
    ReferenceConflict,
    Unavailable,
)
from omnicrud.core.query import And, Cond, Expr, ListQuery, SortKey, seek_after
from omnicrud.core.resources import VERSION, References, Resource, Unique
from omnicrud.core.storage import Row
from omnicrud.core.values import now, parse_datetime
from omnicrud.example import resources as example_resources
from tests.provision import with_database
from tests.resources_testing import probes
from tests.schema_support import ensure_schema
from tests.secantus import free_port, start_secantus


class Ticket(BaseModel):
    seq: Annotated[int | None, Unique()] = None
    code: Annotated[str | None, Unique()] = None
    parent_id: Annotated[int | None, References("tickets")] = None


T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]
UTC = dt.UTC
tickets = Resource("tickets", Ticket)
RESOURCES = [*example_resources, probes, tickets]
items, users, posts = example_resources


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as r:
        yield r


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    url, stop = start_secantus()
    try:
        yield url
    finally:
        stop()


def _open(url: str, **settings: Any) -> MongoStorage:
    return MongoStorage(url, Settings(database_url=url, **settings), RESOURCES)


@pytest.fixture(scope="module")
def database(server: str) -> str:
    return with_database(server, f"omnicrud_t_{secrets.token_hex(6)}")


@pytest.fixture(scope="module")
def storage(database: str, runner: asyncio.Runner) -> Iterator[MongoStorage]:
    s = _open(database)
    runner.run(s.connect())
    runner.run(ensure_schema(s, s._settings, RESOURCES))
    try:
        yield s
    finally:
        db = s._database()
        runner.run(db.client.drop_database(db.name))
        runner.run(s.close())


@pytest.fixture
def run(runner: asyncio.Runner) -> Callable[[Awaitable[Any]], Any]:
    return lambda aw: runner.run(aw)  # type: ignore[arg-type]


def _tag() -> str:
    return secrets.token_hex(4)


def _item(name: str, price: float, description: str | None = None) -> Row:
    stamp = now()
    return {
        "name": name,
        "description": description,
        "price": price,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _user(username: str) -> Row:
    stamp = now()
    return {
        "username": username,
        "email": f"{username}@example.com",
        "full_name": None,
        "password": "$argon2id$fake-hash",
        "is_active": True,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _post(owner: int, title: str = "t") -> Row:
    stamp = now()
    return {"title": title, "body": "", "owner_id": owner, "created_at": stamp, "updated_at": stamp}


def _probe(tag: str, k: int, **values: Any) -> Row:
    stamp = now()
    row: Row = {"tag": tag, "s": None, "n": None, "x": None, "b": None, "t": None, "k": k}
    row.update(values, created_at=stamp, updated_at=stamp)
    return row


def _all(res: Resource, where: Expr, sort: Sequence[SortKey] = (SortKey("id"),)) -> ListQuery:
    return ListQuery(where, tuple(sort), res.readable, limit=1000)


# -- schema, rows, ids ----------------------------------------------------------------------


def test_server_version_and_schema_idempotent(storage: MongoStorage, run: Run[Any]) -> None:
    assert run(storage.server_version()).startswith("MongoDB ")

    async def twice() -> None:
        await asyncio.gather(
            ensure_schema(storage, storage._settings, RESOURCES),
            ensure_schema(storage, storage._settings, RESOURCES),
        )

    run(twice())
    indexes = run(storage._colls["users"].index_information())
    assert indexes["omnicrud_unique_username"]["unique"] is True
    assert indexes["omnicrud_unique_email"]["unique"] is True
    assert "omnicrud_index_owner_id" in run(storage._colls["posts"].index_information())
    assert "omnicrud_index_name" in run(storage._colls["items"].index_information())
    ticket_indexes = run(storage._colls["tickets"].index_information())
    partial = ticket_indexes["omnicrud_unique_code"]["partialFilterExpression"]
    assert partial == {"code": {"$type": "string"}}
    assert set(ticket_indexes) == {
        "_id_",
        "omnicrud_unique_seq",
        "omnicrud_index_seq",
        "omnicrud_unique_code",
        "omnicrud_index_code",
        "omnicrud_index_parent_id",
    }


def test_bulk_create_rows_are_wire_ready(storage: MongoStorage, run: Run[Any]) -> None:
    tag = _tag()
    when = dt.datetime(2026, 11, 22, 2, 51, 24, 123000, tzinfo=UTC)
    made = run(
        storage.create(
            items,
            [
                {**_item(f"{tag}-a", 3, "d"), "created_at": when, "updated_at": when},
                _item(f"{tag}-b", 2.5),
            ],
        )
    )
    assert [list(r) for r in made] == [[*items.readable, VERSION]] * 2
    assert made[1]["id"] == made[0]["id"] + 1
    first = made[0]
    assert first["price"] == 3.0
    assert type(first["price"]) is float
    assert first["created_at"] == "2026-11-22T02:51:24.123Z"
    assert first[VERSION] == 1
    assert made[1]["description"] is None
    for row in made:
        got = run(storage.get(items, row["id"]))
        assert got == row
        assert list(got) == list(row)
        assert type(got["id"]) is int
        assert type(got["price"]) is float
    assert run(storage.get(items, made[1]["id"] + 10**9)) is None
    assert run(storage.get(items, 2**63)) is None


def test_secret_is_stored_never_returned(storage: MongoStorage, run: Run[Any]) -> None:
    (user,) = run(storage.create(users, [_user(f"u{_tag()}")]))
    assert "password" not in user
    assert list(user) == [*users.readable, VERSION]
    assert "password" not in run(storage.get(users, user["id"]))
    listed = run(storage.list(users, _all(users, Cond("id", "eq", user["id"]))))
    assert listed == [{k: v for k, v in user.items() if k != VERSION}]
    raw = run(storage._colls["users"].find_one({"_id": user["id"]}))
    assert raw["password"] == "$argon2id$fake-hash"


def test_ids_are_never_reused_and_unique_across_clients(
    storage: MongoStorage, database: str, run: Run[Any]
) -> None:
    tag = _tag()
    (a,) = run(storage.create(items, [_item(f"{tag}-a", 1)]))
    run(storage.delete(items, a["id"], None))
    (b,) = run(storage.create(items, [_item(f"{tag}-b", 1)]))
    assert b["id"] > a["id"]

    async def race() -> list[int]:
        other = _open(database)
        await other.connect()
        try:
            made = await asyncio.gather(
                *(
                    s.create(items, [_item(f"{tag}-r{i}", 1)] * 2)
                    for s in (storage, other)
                    for i in range(10)
                )
            )
        finally:
            await other.close()
        return [r["id"] for rows in made for r in rows]

    ids = run(race())
    assert len(ids) == 40 == len(set(ids))


def test_nulls_and_missing_fields_come_back_as_null(storage: MongoStorage, run: Run[Any]) -> None:
    tag = _tag()
    (row,) = run(storage.create(probes, [_probe(tag, 1)]))
    assert [row[f] for f in ("s", "n", "x", "b", "t")] == [None] * 5
    # A document written by something else, without the nullable fields at all.
    (raw_id,) = [run(storage._reserve_ids("probes", 1))]
    stamp = now()
    run(
        storage._colls["probes"].insert_one(
            {
                "_id": raw_id,
                "tag": tag,
                "k": 2,
                "created_at": stamp,
                "updated_at": stamp,
                VERSION: 1,
            }
        )
    )
    got = run(storage.get(probes, raw_id))
    assert list(got) == [*probes.readable, VERSION]
    assert [got[f] for f in ("s", "n", "x", "b", "t")] == [None] * 5
    both = Cond("tag", "eq", tag)
    for field in ("s", "n", "x", "b", "t"):
        null = run(storage.list(probes, _all(probes, And((both, Cond(field, "isnull", True))))))
        assert [r["id"] for r in null] == [row["id"], raw_id]
        assert (
            run(storage.list(probes, _all(probes, And((both, Cond(field, "isnull", False)))))) == []
        )
    ne = run(storage.list(probes, _all(probes, And((both, Cond("s", "ne", "zz"))))))
    assert ne == []
    assert run(storage.count(probes, And((both, Cond("n", "isnull", True))))) == 2


BOTH = ("username", "email")


def test_unique_conflicts_name_the_field_and_bulk_is_all_or_nothing(
    storage: MongoStorage, run: Run[Any]
) -> None:
    name = f"u{_tag()}"
    run(storage.create(users, [_user(name)]))
    with pytest.raises(Conflict) as caught:
        run(storage.create(users, [_user(name)]))
    # username and email both collide: which one a database names first is settled by the
    # API (first declared), not here.
    assert caught.value.field in BOTH
    clash = {**_user(f"v{_tag()}"), "email": f"{name}@example.com"}
    with pytest.raises(Conflict) as caught:
        run(storage.create(users, [clash]))
    assert caught.value.field == "email"

    for transactions in (True, False):  # the fallback for servers without transactions too
        storage.transactions = transactions
        try:
            fresh = [_user(f"w{_tag()}"), _user(f"w{_tag()}")]
            with pytest.raises(Conflict) as caught:
                run(storage.create(users, [*fresh, _user(name)]))
            assert caught.value.field in BOTH
            for row in fresh:
                found = run(
                    storage.list(users, _all(users, Cond("username", "eq", row["username"])))
                )
                assert found == []
        finally:
            storage.transactions = True
    (other,) = run(storage.create(users, [_user(f"x{_tag()}")]))
    with pytest.raises(Conflict) as caught:
        run(storage.update(users, other["id"], {"username": name}, None))
    assert caught.value.field == "username"


def test_racing_bulk_creates_of_one_username_give_one_winner(
    storage: MongoStorage, run: Run[Any]
) -> None:
    same = f"s{_tag()}"

    async def attempt(i: int) -> str:
        try:
            await storage.create(users, [_user(f"{same}{i}"), _user(same)])
        except Conflict as exc:
            return exc.field
        return "ok"

    async def race() -> list[str]:
        return await asyncio.gather(*(attempt(i) for i in range(6)))

    outcomes = run(race())
    assert outcomes.count("ok") == 1
    assert all(o in BOTH for o in outcomes if o != "ok")


def test_module_is_light_and_urls_are_checked(run: Run[Any]) -> None:
    code = (
        "import sys, omnicrud.backends.mongo as m; "
        "assert 'pymongo' not in sys.modules and 'bson' not in sys.modules; "
        "from omnicrud.core import registry; "
        "assert registry.load('mongodb+srv://h.example/db') is m.backend"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(ConfigError) as caught:
        run(_open("mongodb://u:secret@[bad/x").connect())
    assert "secret" not in str(caught.value)


def _ticket(code: str | None, seq: int | None, parent: int | None = None) -> Row:
    stamp = now()
    return {
        "code": code,
        "seq": seq,
        "parent_id": parent,
        "created_at": stamp,
        "updated_at": stamp,
    }


def test_nullable_unique_fields_allow_many_nulls(storage: MongoStorage, run: Run[Any]) -> None:
    code, seq = _tag(), secrets.randbelow(2**62)
    run(storage.create(tickets, [_ticket(None, None), _ticket(None, None)]))
    run(storage.create(tickets, [_ticket(code, seq), _ticket(None, None)]))
    with pytest.raises(Conflict) as caught:
        run(storage.create(tickets, [_ticket(None, seq)]))
    assert caught.value.field == "seq"
    with pytest.raises(Conflict) as caught:
        run(storage.create(tickets, [_ticket(code, None)]))
    assert caught.value.field == "code"


def test_self_reference_may_be_deleted(storage: MongoStorage, run: Run[Any]) -> None:
    (root,) = run(storage.create(tickets, [_ticket(None, None)]))
    looped = run(storage.update(tickets, root["id"], {"parent_id": root["id"]}, None))
    assert looped["parent_id"] == root["id"]
    (child,) = run(storage.create(tickets, [_ticket(None, None, root["id"])]))
    with pytest.raises(ReferenceConflict) as caught:
        run(storage.delete(tickets, root["id"], None))
    assert (caught.value.resource, caught.value.field) == ("tickets", "parent_id")
    run(storage.delete(tickets, child["id"], None))
    run(storage.delete(tickets, root["id"], None))
    assert run(storage.get(tickets, root["id"])) is None


# -- list: filters, sorts, pages ------------------------------------------------------------

STRINGS = [
    "abc", "ABC", None, "a%c", "a_c", "a\\c", "a.c", "x(y)*+?[z]{1}|^$", "émile", "Zoë", "",
    "abcabc", "a\nc", "日本",
]  # fmt: skip


@pytest.fixture(scope="module")
def dataset(storage: MongoStorage, runner: asyncio.Runner) -> tuple[str, list[Row]]:
    tag = _tag()
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i, s in enumerate(STRINGS):
        rows.append(
            _probe(
                tag,
                i % 3,
                s=s,
                n=None if i % 4 == 0 else (i * 7) % 5 - 2,
                x=None if i % 5 == 1 else ((i * 3) % 4) / 2 - 0.5,
                b=None if i % 3 == 2 else i % 2 == 0,
                t=None if i % 4 == 3 else base + dt.timedelta(hours=(i * 5) % 7, milliseconds=i),
            )
        )
    return tag, runner.run(storage.create(probes, rows))


def _python(row: Row, field: str) -> Any:
    value = row[field]
    return parse_datetime(value) if value is not None and field in ("t", "created_at") else value


def _matches(row: Row, cond: Cond) -> bool:
    value = _python(row, cond.field)
    if cond.op == "isnull":
        return (value is None) is cond.value
    if value is None:
        return False
    target = cond.value
    match cond.op:
        case "eq":
            return bool(value == target)
        case "ne":
            return bool(value != target)
        case "gt":
            return bool(value > target)
        case "gte":
            return bool(value >= target)
        case "lt":
            return bool(value < target)
        case "lte":
            return bool(value <= target)
        case "in":
            return value in target
        case "contains":
            return target in value
        case "startswith":
            return bool(value.startswith(target))
        case "icontains":
            return target.lower() in value.lower()
    raise AssertionError(cond.op)


def _sorted(rows: list[Row], sort: Sequence[SortKey]) -> list[Row]:
    def compare(a: Row, b: Row) -> int:
        for key in sort:
            x, y = _python(a, key.field), _python(b, key.field)
            if x == y:
                continue
            # nulls first ascending, last descending
            first = -1 if x is None or (y is not None and x < y) else 1
            return -first if key.descending else first
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))


FILTERS = [
    Cond("s", "eq", "abc"),
    Cond("s", "ne", "abc"),
    Cond("s", "gt", "a"),
    Cond("s", "lte", "a_c"),
    Cond("s", "in", ("abc", "Zoë", "nope")),
    Cond("s", "contains", "%"),
    Cond("s", "contains", "_"),
    Cond("s", "contains", "\\"),
    Cond("s", "contains", "."),
    Cond("s", "contains", "(y)*+?[z]{1}|^$"),
    Cond("s", "contains", "bc"),
    Cond("s", "contains", "本"),
    Cond("s", "contains", "\n"),
    Cond("s", "startswith", "a"),
    Cond("s", "startswith", "x(y)"),
    Cond("s", "startswith", "^"),
    Cond("s", "icontains", "AbC"),
    Cond("s", "icontains", "A.C"),
    Cond("s", "icontains", "zo"),
    Cond("s", "isnull", True),
    Cond("s", "isnull", False),
    Cond("n", "eq", 0),
    Cond("n", "ne", 0),
    Cond("n", "gt", 0),
    Cond("n", "gte", 0),
    Cond("n", "lt", 0),
    Cond("n", "in", (-2, 2)),
    Cond("x", "gte", 0.5),
    Cond("x", "ne", 0.5),
    Cond("x", "lt", 0.0),
    Cond("b", "eq", False),
    Cond("b", "ne", False),
    Cond("b", "isnull", True),
    Cond("t", "gt", dt.datetime(2026, 1, 1, 3, tzinfo=UTC)),
    Cond("t", "lte", dt.datetime(2026, 1, 1, 3, 0, 0, 12000, tzinfo=UTC)),
    Cond("t", "ne", dt.datetime(2026, 1, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize("cond", FILTERS, ids=lambda c: f"{c.field}__{c.op}={c.value!r}")
def test_filters_follow_sql_semantics(
    storage: MongoStorage, run: Run[Any], dataset: tuple[str, list[Row]], cond: Cond
) -> None:
    tag, rows = dataset
    expected = [r["id"] for r in rows if _matches(r, cond)]
    where = And((Cond("tag", "eq", tag), cond))
    got = run(storage.list(probes, _all(probes, where)))
    assert [r["id"] for r in got] == expected
    assert run(storage.count(probes, where)) == len(expected)


SORTS = [
    (SortKey("s"), SortKey("id")),
    (SortKey("s", True), SortKey("id")),
    (SortKey("n"), SortKey("x", True), SortKey("id")),
    (SortKey("b", True), SortKey("t"), SortKey("id")),
    (SortKey("k"), SortKey("t", True), SortKey("id")),
    (SortKey("x"), SortKey("id", True)),
]


@pytest.mark.parametrize(
    "sort", SORTS, ids=lambda s: ",".join(("-" if k.descending else "") + k.field for k in s)
)
def test_sorts_offsets_and_keyset_pages(
    storage: MongoStorage,
    run: Run[Any],
    dataset: tuple[str, list[Row]],
    sort: tuple[SortKey, ...],
) -> None:
    tag, rows = dataset
    mine = Cond("tag", "eq", tag)
    expected = [r["id"] for r in _sorted(rows, sort)]
    got = run(storage.list(probes, _all(probes, mine, sort)))
    assert [r["id"] for r in got] == expected
    assert got == [{k: v for k, v in r.items() if k != VERSION} for r in _sorted(rows, sort)]

    page = ListQuery(mine, sort, ("id", "s"), limit=4, offset=5)
    assert run(storage.list(probes, page)) == [
        {"id": r["id"], "s": r["s"]} for r in _sorted(rows, sort)[5:9]
    ]

    seen: list[int] = []
    where: Expr = mine
    while True:
        page = ListQuery(where, sort, ("id", "s", "n", "x", "b", "t", "k"), limit=3)
        batch = run(storage.list(probes, page))
        seen += [r["id"] for r in batch]
        if len(batch) < 3:
            break
        last = [_python(batch[-1], k.field) for k in sort]
        where = And((mine, seek_after(probes, sort, last)))
    assert seen == expected


def test_fields_projection_keeps_requested_order(
    storage: MongoStorage, run: Run[Any], dataset: tuple[str, list[Row]]
) -> None:
    tag, rows = dataset
    query = ListQuery(Cond("tag", "eq", tag), (SortKey("id"),), ("s", "created_at"), limit=2)
    got = run(storage.list(probes, query))
    assert got == [{"s": r["s"], "created_at": r["created_at"]} for r in rows[:2]]
    assert all(list(r) == ["s", "created_at"] for r in got)


# -- updates, deletes, references -----------------------------------------------------------


def test_update_checks_versions(storage: MongoStorage, run: Run[Any]) -> None:
    (row,) = run(storage.create(probes, [_probe(_tag(), 1, s="a", n=1)]))
    later = now()
    changed = run(storage.update(probes, row["id"], {"s": None, "x": 2, "updated_at": later}, 1))
    assert changed[VERSION] == 2
    assert changed["s"] is None
    assert changed["x"] == 2.0
    assert changed["n"] == 1
    assert changed["created_at"] == row["created_at"]
    assert list(changed) == [*probes.readable, VERSION]
    assert run(storage.get(probes, row["id"])) == changed
    with pytest.raises(PreconditionFailed):
        run(storage.update(probes, row["id"], {"n": 5}, 1))
    with pytest.raises(NotFound):
        run(storage.update(probes, row["id"] + 10**9, {"n": 5}, 1))
    with pytest.raises(NotFound):
        run(storage.update(probes, row["id"] + 10**9, {"n": 5}, None))
    assert run(storage.update(probes, row["id"], {"n": 5}, None))[VERSION] == 3
    assert run(storage.get(probes, row["id"]))["n"] == 5


def test_delete_checks_versions(storage: MongoStorage, run: Run[Any]) -> None:
    (row,) = run(storage.create(items, [_item(f"{_tag()}", 1)]))
    with pytest.raises(PreconditionFailed):
        run(storage.delete(items, row["id"], 2))
    run(storage.delete(items, row["id"], 1))
    assert run(storage.get(items, row["id"])) is None
    with pytest.raises(NotFound):
        run(storage.delete(items, row["id"], None))
    with pytest.raises(NotFound):
        run(storage.delete(items, row["id"], 1))


def test_references(storage: MongoStorage, run: Run[Any]) -> None:
    (owner,) = run(storage.create(users, [_user(f"o{_tag()}")]))
    (other,) = run(storage.create(users, [_user(f"p{_tag()}")]))
    missing = other["id"] + 10**9
    (post,) = run(storage.create(posts, [_post(owner["id"])]))
    with pytest.raises(ReferenceConflict) as caught:
        run(storage.create(posts, [_post(owner["id"]), _post(missing)]))
    assert (caught.value.resource, caught.value.field) == ("posts", "owner_id")
    assert caught.value.missing_target is True
    with pytest.raises(ReferenceConflict) as caught:
        run(storage.update(posts, post["id"], {"owner_id": missing}, None))
    assert caught.value.missing_target is True
    assert run(storage.get(posts, post["id"])) == post

    with pytest.raises(PreconditionFailed):  # stale version wins over the reference, as in SQL
        run(storage.delete(users, owner["id"], 7))
    with pytest.raises(ReferenceConflict) as caught:
        run(storage.delete(users, owner["id"], None))
    assert (caught.value.resource, caught.value.field) == ("posts", "owner_id")
    assert caught.value.missing_target is False
    assert run(storage.get(users, owner["id"])) == owner

    moved = run(storage.update(posts, post["id"], {"owner_id": other["id"]}, 1))
    assert moved["owner_id"] == other["id"]
    assert moved[VERSION] == 2
    run(storage.delete(users, owner["id"], 1))
    assert run(storage.get(users, owner["id"])) is None


def test_reference_races_leave_no_dangling_rows(storage: MongoStorage, run: Run[Any]) -> None:
    """Creates of posts racing deletes of their owner: either may fail, none may dangle."""
    owners = run(storage.create(users, [_user(f"r{_tag()}") for _ in range(8)]))

    async def create(owner: int) -> None:
        with contextlib.suppress(ReferenceConflict):
            await storage.create(posts, [_post(owner, "race")])

    async def delete(owner: int) -> None:
        await asyncio.sleep(0)
        with contextlib.suppress(ReferenceConflict):
            await storage.delete(users, owner, None)

    async def race() -> None:
        await asyncio.gather(
            *(job(o["id"]) for o in owners for job in (create, create, delete, create))
        )

    run(race())
    ids = [o["id"] for o in owners]
    linked = run(storage.list(posts, _all(posts, Cond("owner_id", "in", tuple(ids)))))
    for post in linked:
        assert run(storage.get(users, post["owner_id"])) is not None


# -- availability ---------------------------------------------------------------------------


def test_unreachable_server_is_unavailable_fast(run: Run[Any]) -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/omnicrud?retryWrites=false"
    storage = _open(url, connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        run(storage.connect())
    assert time.monotonic() - started < 3.0


def test_server_gone_after_connect_is_unavailable(
    runner: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONGO_URL", raising=False)  # a private server, to be stopped
    url, stop = start_secantus()
    storage = _open(with_database(url, "gone"), connect_timeout=1.0, query_timeout=2.0)
    try:
        runner.run(storage.connect())
        runner.run(ensure_schema(storage, storage._settings, RESOURCES))
        assert runner.run(storage.get(items, 1)) is None
    finally:
        stop()
    try:
        for call in (
            storage.get(items, 1),
            storage.list(items, _all(items, Cond("id", "gt", 0))),
            storage.create(items, [_item("x", 1)]),
            storage.server_version(),
        ):
            started = time.monotonic()
            with pytest.raises(Unavailable):
                runner.run(call)
            assert time.monotonic() - started < 4.0
    finally:
        runner.run(storage.close())


def test_counter_seeded_from_existing_rows(storage: MongoStorage, run: Run[Any]) -> None:
    counters = storage._database()[COUNTERS]
    run(storage.create(items, [_item(_tag(), 1)]))
    highest = run(storage._colls["items"].find_one({}, sort=[("_id", -1)]))
    before = run(counters.find_one({"_id": "items"}))["seq"]
    assert before == highest["_id"]
    imported = {"_id": before + 50, **_item("imported", 1), VERSION: 1}
    run(storage._colls["items"].insert_one(imported))
    run(ensure_schema(storage, storage._settings, RESOURCES))
    assert run(counters.find_one({"_id": "items"}))["seq"] == before + 50
    (row,) = run(storage.create(items, [_item(_tag(), 1)]))
    assert row["id"] == before + 51
