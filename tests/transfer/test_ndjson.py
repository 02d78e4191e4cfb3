"""``export`` then ``import`` gives what a direct copy gives: every row read back identical,
counts and checksums equal; the CLI streams through a pipe and refuses a non-empty target."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Callable

import orjson

from omnicrud import transfer
from tests.processes import OMNICRUD, cli_env
from tests.transfer.conftest import Fresh
from tests.transfer.support import Reads, deployment, dump_all, load_items, read_all


def test_export_import_round_trip_equals_a_copy(
    source: Callable[[str], tuple[str, Reads]], fresh: Fresh
) -> None:
    source_url, expected = source("sqlite")
    buffer = io.BytesIO()
    written = asyncio.run(transfer.export(deployment(source_url), buffer, batch=2))
    assert [w.resource for w in written] == ["items", "users", "posts", "probes"]
    lines = buffer.getvalue().splitlines()
    assert len(lines) == sum(len(rows) for rows in expected.values())
    first = orjson.loads(lines[0])
    assert first["resource"] == "items"
    assert set(first["row"]) >= {"id", "created_at", "updated_at", "_version"}

    imported_url, copied_url = fresh("mongodb"), fresh("mysql")
    buffer.seek(0)
    checks = asyncio.run(transfer.import_(deployment(imported_url), buffer, batch=3))
    assert all(c.ok for c in checks), transfer.table(checks)
    _, direct = asyncio.run(transfer.copy(deployment(source_url), deployment(copied_url)))
    assert [(c.resource, c.target.count, c.target.total) for c in checks] == [
        (c.resource, c.target.count, c.target.total) for c in direct
    ]
    assert read_all(imported_url) == expected == read_all(copied_url)
    assert dump_all(imported_url, "users") == dump_all(copied_url, "users")


def test_cli_export_pipe_import_then_refuse(fresh: Fresh) -> None:
    source, target = fresh("sqlite"), fresh("postgresql")
    asyncio.run(load_items(source, 2_500))
    export = subprocess.Popen(
        [OMNICRUD, "export", "--batch", "1000"],
        env=cli_env(source),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    imported = subprocess.run(
        [OMNICRUD, "import", "--batch", "700"],
        env=cli_env(target),
        stdin=export.stdout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert export.stdout is not None
    export.stdout.close()
    assert export.wait(timeout=30) == 0
    assert imported.returncode == 0, imported.stderr
    out = imported.stdout.splitlines()
    assert out[0].split() == [
        "resource", "file", "rows", "file", "checksum", "database", "rows", "database",
        "checksum", "result",
    ]  # fmt: skip
    assert out[1].split()[:2] == ["items", "2,500"]
    assert out[-1] == "verified: every count and checksum matches"

    again = subprocess.run(
        [OMNICRUD, "import"],
        env=cli_env(target),
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert again.returncode == 1
    assert again.stderr.decode().strip() == (
        "omnicrud: error: the target already holds 2500 items rows; "
        "--resume continues an interrupted copy"
    )
