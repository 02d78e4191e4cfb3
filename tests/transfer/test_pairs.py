"""Every ordered pair of backends: after a copy, every row reads back through the API on the
target exactly as on the source (body bytes and ETag), secret hashes still verify, and new
rows get ids above every copied one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from omnicrud import transfer
from omnicrud.core.secrets import verify_secret
from tests.transfer.conftest import Fresh
from tests.transfer.support import (
    BACKENDS,
    RESOURCES,
    Reads,
    client,
    deployment,
    dump_all,
    read_all,
)

PAIRS = list(itertools.permutations(BACKENDS, 2))


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_copy_reads_back_identical(
    src: str, dst: str, source: Callable[[str], tuple[str, Reads]], fresh: Fresh
) -> None:
    source_url, expected = source(src)
    target_url = fresh(dst)
    copied, checks = asyncio.run(
        transfer.copy(deployment(source_url), deployment(target_url), batch=3)
    )
    assert [c.resource for c in copied] == ["items", "users", "posts", "probes"]
    assert all(c.ok for c in checks), transfer.table(checks)
    assert {c.resource: c.target.count for c in checks} == {
        name: len(rows) for name, rows in expected.items()
    }

    assert read_all(target_url) == expected

    source_users = dump_all(source_url, "users")
    target_users = dump_all(target_url, "users")
    assert [u["password"] for u in target_users] == [u["password"] for u in source_users]
    assert verify_secret(target_users[1]["password"], "12345678")

    with client(target_url) as c:
        highest = {r.name: max(expected[r.name]) for r in RESOURCES}
        made = c.post("/items", json={"name": "after the copy", "price": 1.0})
        assert made.status_code == 201
        assert made.json()["id"] > highest["items"]
        made = c.post("/posts", json={"title": "new", "owner_id": 3})
        assert made.status_code == 201
        assert made.json()["id"] > highest["posts"]
