"""What a copy refuses and how it fails: a non-empty target, a row the target cannot hold
(named by resource, id and field, nothing of its batch written), the database's own refusal
found row by row."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

import pytest

from omnicrud import example, transfer
from omnicrud.core.transfer import RejectedRow
from tests.processes import OMNICRUD, cli_env
from tests.transfer.conftest import Fresh
from tests.transfer.support import (
    NARROW,
    WIDE,
    Reads,
    bulk,
    client,
    deployment,
    dump_all,
    load_items,
)


def test_non_empty_target_is_refused_in_one_line(fresh: Fresh) -> None:
    source, target = fresh("sqlite"), fresh("postgresql")
    asyncio.run(load_items(source, 30))
    asyncio.run(load_items(target, 12))
    run = subprocess.run(
        [OMNICRUD, "copy", "--from", source, "--to", target],
        env=cli_env(source),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == [
        "omnicrud: error: the target already holds 12 items rows; "
        "--resume continues an interrupted copy"
    ]
    assert len(dump_all(target, "items")) == 12


def _notes(url: str, texts: list[str]) -> None:
    with client(url, WIDE) as c:
        for text in texts:
            assert c.post("/notes", json={"text": text}).status_code == 201


@pytest.mark.parametrize("backend", ["postgresql", "mysql", "sqlite", "mongodb"])
def test_row_the_target_cannot_hold_stops_the_copy(backend: str, fresh: Fresh) -> None:
    """The target declares ``notes.text`` narrower than the source holds: the first batch
    (ids 1, 2) is copied, the second (ids 3, 4) is refused whole, naming id 3."""
    source, target = fresh("sqlite"), fresh(backend)
    _notes(source, ["short", "fits", "x" * 50, "ok", "fine"])
    with pytest.raises(RejectedRow) as caught:
        asyncio.run(transfer.copy(deployment(source, WIDE), deployment(target, NARROW), batch=2))
    assert (caught.value.resource, caught.value.id, caught.value.field) == ("notes", 3, "text")
    assert str(caught.value) == (
        "notes id 3: field 'text' is 50 characters long, the target holds at most 10"
    )
    assert [r["id"] for r in dump_all(target, "notes", NARROW)] == [1, 2]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_database_refusal_is_traced_to_its_row_and_field(backend: str, fresh: Fresh) -> None:
    """Below the transfer's own checks: a batch PostgreSQL or MySQL refuses (a string longer
    than its VARCHAR) is rolled back whole and the row and field are found. (SQLite and
    MongoDB would store it: hence the check the copy makes first.)"""
    source, target = fresh("sqlite"), fresh(backend)
    _notes(source, ["short", "y" * 30, "ok"])
    rows = dump_all(source, "notes", WIDE)

    async def load() -> None:
        dep = deployment(target, NARROW)
        storage = bulk(dep)
        await storage.connect()
        try:
            await dep.schema(storage).upgrade()
            await storage.load(dep.resources[0], rows)
        finally:
            await storage.close()

    with pytest.raises(RejectedRow) as caught:
        asyncio.run(load())
    assert (caught.value.resource, caught.value.id, caught.value.field) == ("notes", 2, "text")
    assert dump_all(target, "notes", NARROW) == []


def test_verify_only_exits_1_on_a_changed_row(fresh: Fresh) -> None:
    source, target = fresh("sqlite"), fresh("mysql")
    asyncio.run(load_items(source, 40))
    bundled = deployment(source, example.resources), deployment(target, example.resources)
    _, checks = asyncio.run(transfer.copy(*bundled))
    assert all(c.ok for c in checks)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OMNICRUD, "copy", "--from", source, "--to", target, "--verify-only"],
            env=cli_env(source),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert verify().returncode == 0
    with client(target, example.resources) as c:
        assert c.patch("/items/17", json={"price": 1.25}).status_code == 200
    run = verify()
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    items = next(line for line in lines if line.startswith("items"))
    assert items.split()[1] == items.split()[3] == "40"  # same count, other checksum
    assert items.endswith("MISMATCH")
    assert lines[-1] == "verification FAILED for items"


def test_reference_the_target_lacks_names_the_row(
    source: Callable[[str], tuple[str, Reads]], fresh: Fresh
) -> None:
    """Copying ``posts`` alone into PostgreSQL: their users are not there, the database
    refuses the batch, and the copy names the first post and its reference field."""
    source_url, _ = source("sqlite")
    target = fresh("postgresql")
    with pytest.raises(RejectedRow) as caught:
        asyncio.run(transfer.copy(deployment(source_url), deployment(target), resources=["posts"]))
    assert (caught.value.resource, caught.value.id, caught.value.field) == ("posts", 1, "owner_id")
    assert dump_all(target, "posts") == []
