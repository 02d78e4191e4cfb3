"""Fresh databases, ``omnicrud`` subprocesses with resource/migration settings, and a look
at what the migrations recorded."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from omnicrud.backends.sql import _locking, _migrations
from omnicrud.bootstrap import BUNDLED_MIGRATIONS
from omnicrud.core.registry import split_scheme
from tests.processes import cli_env
from tests.provision import configured_url, provision

ROOT = Path(__file__).resolve().parents[2]
OMNICRUD = str(Path(sys.executable).with_name("omnicrud"))
CHANGED = "tests.migrations.changed:resources"
REQUIRED = "tests.migrations.required:resources"


def is_sql(url: str) -> bool:
    return split_scheme(url)[0] in ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


@contextmanager
def fresh_database(tmp: Path) -> Iterator[str]:
    """A second fresh database on the server under test (the session's one stays as is)."""
    place = tmp / "db"
    place.mkdir()
    with provision(configured_url(), place) as url:
        yield url


def copy_example(tmp: Path) -> Path:
    """A deployment's migrations directory: a copy of the bundled example's scripts."""
    target = tmp / "migrations"
    shutil.copytree(BUNDLED_MIGRATIONS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def env(url: str, resources: str | None, migrations: Path | None, **extra: str) -> dict[str, str]:
    out = cli_env(url)
    if resources is not None:
        out["OMNICRUD_RESOURCES"] = resources
    if migrations is not None:
        out["OMNICRUD_MIGRATIONS"] = str(migrations)
    out["PYTHONPATH"] = str(ROOT)
    out.update(extra)
    return out


def omnicrud(
    args: list[str], url: str, cwd: Path, resources: str | None, migrations: Path | None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [OMNICRUD, *args],
        env=env(url, resources, migrations),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"omnicrud {args} hung:\n{out}{err}") from None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def sql_versions(url: str) -> list[str]:
    """The rows of the Alembic version table."""

    def read(conn: sa.Connection) -> list[str]:
        table = _migrations.VERSION_TABLE
        return [r[0] for r in conn.execute(sa.text(f"SELECT version_num FROM {table}"))]

    return asyncio.run(_locking.run(url, read, lock=False))


def sql_columns(url: str, table: str) -> list[str]:
    def read(conn: sa.Connection) -> list[str]:
        return [c["name"] for c in sa.inspect(conn).get_columns(table)]

    return asyncio.run(_locking.run(url, read, lock=False))


def sql_indexes(url: str, table: str) -> set[str]:
    def read(conn: sa.Connection) -> set[str]:
        return {str(i["name"]) for i in sa.inspect(conn).get_indexes(table)}

    return asyncio.run(_locking.run(url, read, lock=False))


def sql_collation(url: str, table: str, column: str) -> str | None:
    """The collation the database reports for a string column (None: the default)."""

    def read(conn: sa.Connection) -> str | None:
        for found in sa.inspect(conn).get_columns(table):
            if found["name"] == column:
                return getattr(found["type"], "collation", None)
        raise AssertionError(f"no column {table}.{column}")

    return asyncio.run(_locking.run(url, read, lock=False))


def sql_execute(url: str, statement: str) -> None:
    def run(conn: sa.Connection) -> None:
        conn.execute(sa.text(statement))
        conn.commit()

    asyncio.run(_locking.run(url, run, lock=False))


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "error" in line.lower()]
