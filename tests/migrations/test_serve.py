"""``omnicrud serve`` and the schema: several processes starting together on a fresh database
all come up and the schema is applied once; with auto-migrate off, a database that is behind
is refused with the command to run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from omnicrud.backends.mongo import _schema as mongo_schema
from tests.processes import START_TIMEOUT, Server, launch, wait_ready

from .support import env, fresh_database, is_sql, omnicrud, sql_versions

pytestmark = pytest.mark.server


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def mongo_schema_records(url: str) -> list[dict[str, object]]:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(url)
    try:
        db = client.get_default_database()
        return list(db[mongo_schema.SCHEMA].find({}))
    finally:
        client.close()


def test_two_servers_on_a_fresh_database_migrate_once(tmp_path: Path) -> None:
    with (
        fresh_database(tmp_path) as url,
        running([launch(url, tmp_path, env=env(url, None, None)) for _ in range(2)]) as servers,
    ):
        for server in servers:
            wait_ready(server)
        for server in servers:
            output = server.output()
            assert "Traceback" not in output, output
            assert "ERROR" not in output, output
        if is_sql(url):
            assert sql_versions(url) == ["0001"]
            # auto-migration says what it applied, step by step (exactly one server did it)
            outputs = [server.output() for server in servers]
            assert sum("applied 0001" in out for out in outputs) == 1, outputs
            assert sum("migrated to 0001" in out for out in outputs) == 1, outputs
        else:
            records = mongo_schema_records(url)
            assert sorted(str(r["_id"]) for r in records) == ["v1", "version"], records
        current = omnicrud(["db", "current"], url, tmp_path, None, None)
        assert current.returncode == 0, current.stderr
        assert "up to date" in current.stdout or "(head)" in current.stdout, current.stdout


def test_auto_migrate_off_refuses_a_database_that_is_behind(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        server = launch(url, tmp_path, env=env(url, None, None, OMNICRUD_AUTO_MIGRATE="false"))
        try:
            code = server.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            raise AssertionError(f"serve did not refuse:\n{server.output()}") from None
        assert code != 0
        assert "omnicrud db upgrade" in server.output(), server.output()

        run = omnicrud(["db", "upgrade"], url, tmp_path, None, None)
        assert run.returncode == 0, run.stdout + run.stderr
        with running(
            [launch(url, tmp_path, env=env(url, None, None, OMNICRUD_AUTO_MIGRATE="false"))]
        ) as (ready,):
            wait_ready(ready)
