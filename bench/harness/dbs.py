"""The database of each backend: a fresh ``omnicrud_bench``, ANALYZE, trimming, CPU pids."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import procs

DB_NAME = os.environ.get("BENCH_DB", "omnicrud_bench")
"""Another name lets two harnesses share one PostgreSQL/MariaDB server."""
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class Database:
    """What the harness needs of one backend's database server."""

    name = ""
    url = ""
    """DATABASE_URL of the bench database (omnicrud's form; apps adapt it)."""
    read_url = ""
    """A streaming replica of ``url`` (postgres-replica only)."""

    def prepare(self) -> None:
        """An empty bench database (dropped and created again)."""

    def analyze(self) -> None: ...

    def trim(self, rows: int) -> None:
        """Delete rows beyond the loaded ``rows`` (POST runs add some), then tidy up."""

    def pids(self) -> list[int]:
        """Processes whose CPU time is the database's (none for embedded SQLite)."""
        return []

    def version(self) -> str:
        return ""

    def close(self) -> None: ...


class Postgres(Database):
    name = "postgres"

    def __init__(self) -> None:
        self.admin_url = POSTGRES_URL
        self.url = _with_db(POSTGRES_URL, DB_NAME)
        self._postmaster: int | None = None

    def _run(self, url: str, *statements: str) -> Any:
        import asyncpg

        async def go() -> Any:
            conn = await asyncpg.connect(url)
            try:
                result = None
                for sql in statements:
                    result = await conn.fetch(sql)
                return result
            finally:
                await conn.close()

        return asyncio.run(go())

    def prepare(self) -> None:
        self._run(
            self.admin_url,
            f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)",
            f"CREATE DATABASE {DB_NAME}",
        )

    def analyze(self) -> None:
        self._run(self.url, "VACUUM ANALYZE items")

    def trim(self, rows: int) -> None:
        self._run(self.url, f"DELETE FROM items WHERE id > {int(rows)}", "VACUUM ANALYZE items")

    def postmaster(self) -> int:
        """The server's postmaster: the parent of our own backend (other PostgreSQL
        servers on this machine, such as the tests' private ones, are not counted)."""
        if self._postmaster is None:
            import asyncpg

            async def go() -> int:
                conn = await asyncpg.connect(self.admin_url)
                try:
                    return procs.parent(await conn.fetchval("SELECT pg_backend_pid()"))
                finally:
                    await conn.close()

            self._postmaster = asyncio.run(go())
        return self._postmaster

    def pids(self) -> list[int]:
        """The postmaster, its helpers, and the client backends of the bench database only."""
        found = []
        for pid in procs.tree(self.postmaster()):
            cmd = procs.cmdline(pid)
            if not cmd.startswith("postgres:") or "(" not in cmd or f" {DB_NAME} " in cmd:
                found.append(pid)
        return found

    def version(self) -> str:
        text: str = self._run(self.url, "SHOW server_version")[0][0]
        return "PostgreSQL " + text.split()[0]


class Mysql(Database):
    name = "mysql"

    def __init__(self) -> None:
        self.admin_url = MYSQL_URL
        self.url = _with_db(MYSQL_URL, DB_NAME)
        self._server: int | None = None

    def _run(self, url: str, *statements: str) -> Any:
        import aiomysql

        parts = urlsplit(url)

        async def go() -> Any:
            conn = await aiomysql.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=parts.username or "root",
                password=parts.password or "",
                db=parts.path.lstrip("/") or None,
                autocommit=True,
            )
            try:
                result = None
                async with conn.cursor() as cur:
                    for sql in statements:
                        await cur.execute(sql)
                        result = await cur.fetchall()
                return result
            finally:
                conn.close()

        return asyncio.run(go())

    def prepare(self) -> None:
        self._run(
            self.admin_url,
            f"DROP DATABASE IF EXISTS {DB_NAME}",
            f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4",
        )

    def analyze(self) -> None:
        self._run(self.url, "ANALYZE TABLE items")

    def trim(self, rows: int) -> None:
        self._run(self.url, f"DELETE FROM items WHERE id > {int(rows)}", "ANALYZE TABLE items")

    def pids(self) -> list[int]:
        """The server listening on MYSQL_URL's port (not the tests' Galera nodes)."""
        if self._server is None:
            self._server = procs.listener(urlsplit(self.url).port or 3306)
        return [self._server] if self._server else []

    def version(self) -> str:
        text = self._run(self.url, "SELECT VERSION()")[0][0]
        kind = "MariaDB" if "mariadb" in text.lower() else "MySQL"
        return f"{kind} {text.split('-')[0]}"


class Sqlite(Database):
    name = "sqlite"

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="omnicrud-bench-")
        self.path = Path(self.dir) / f"{DB_NAME}.db"
        self.url = f"sqlite:///{self.path}"

    def _run(self, *statements: str) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for sql in statements:
                conn.execute(sql)
        finally:
            conn.close()

    def prepare(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def analyze(self) -> None:
        self._run("ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)")

    def trim(self, rows: int) -> None:
        self._run(
            f"DELETE FROM items WHERE id > {int(rows)}",
            "ANALYZE",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        )

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def close(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        Path(self.dir).rmdir()


class Mongo(Database):
    """SecantusDB started here (or the server at env MONGO_URL)."""

    name = "mongo"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        external = os.environ.get("MONGO_URL")
        if external:
            parts = urlsplit(external)
            self.url = urlunsplit(parts._replace(path="/" + DB_NAME))
            return
        port = procs.free_port()
        self.dir = tempfile.mkdtemp(prefix="omnicrud-bench-secantus-")
        self.log = open(Path(self.dir) / "server.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                str(Path(self.dir) / "data"),
                "--log-level",
                "WARNING",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.url = f"mongodb://127.0.0.1:{port}/{DB_NAME}?retryWrites=false"
        self._wait()

    def _client(self) -> Any:
        import pymongo

        return pymongo.MongoClient(self.url, serverSelectionTimeoutMS=2000)

    def _wait(self) -> None:
        import pymongo.errors

        deadline = time.monotonic() + 30
        while True:
            try:
                with self._client() as client:
                    client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                    raise RuntimeError("SecantusDB did not start") from None
                time.sleep(0.2)

    def prepare(self) -> None:
        with self._client() as client:
            client.drop_database(DB_NAME)

    def trim(self, rows: int) -> None:
        with self._client() as client:
            client[DB_NAME]["items"].delete_many({"_id": {"$gt": rows}})

    def pids(self) -> list[int]:
        return procs.tree(self.proc.pid) if self.proc else []

    def version(self) -> str:
        with self._client() as client:
            info = client.admin.command("buildInfo")
        return (
            f"MongoDB wire {info.get('version', '?')} (SecantusDB)"
            if self.proc
            else (f"MongoDB {info.get('version', '?')}")
        )

    def close(self) -> None:
        if self.proc is not None:
            import shutil
            import signal

            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def open_database(backend: str) -> Database:
    if backend == "postgres-replica":
        from .cluster import PostgresReplica

        return PostgresReplica()
    kinds: dict[str, type[Database]] = {
        "postgres": Postgres,
        "mysql": Mysql,
        "sqlite": Sqlite,
        "mongo": Mongo,
    }
    return kinds[backend]()
