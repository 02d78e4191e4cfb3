"""Private database servers for fault tests, on free loopback ports, owned by the test.

Each server runs its real binary as its own OS user in a directory the test made, in its own
process group, so the test can ``kill -9``, ``SIGSTOP``, ``SIGCONT`` and restart it without
going near the machine's shared servers. ``url`` is the omnicrud ``DATABASE_URL`` for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiomysql
import asyncpg
import pymongo
import pymongo.errors

from tests.secantus import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0


def _chown(path: Path, user: str) -> None:
    shutil.chown(path, user, user)
    for child in path.rglob("*"):
        shutil.chown(child, user, user)


def _as(user: str) -> list[str]:
    """Prefix running a command as ``user``: setpriv execs, so the pid is the server's."""
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


def _children(parent: int) -> list[int]:
    """Pids whose parent is ``parent`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def port_open(port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout):
        return True
    return False


class DbServer:
    """A database server process the test started: start, signal, restart, stop."""

    name = "db"

    def __init__(self) -> None:
        # Not pytest's tmp_path: the server's OS user must be able to reach its directory.
        self.root = Path(tempfile.mkdtemp(prefix=f"omnicrud-{self.name}-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / f"{self.name}.log"

    # ---- what each server supplies

    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    # ---- lifecycle

    def start(self, wait: bool = True) -> None:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_answering()

    def wait_answering(self, timeout: float = START_TIMEOUT) -> float:
        """Seconds until the server answered a query; raises if it exits or never does."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if self.answers():
                return time.monotonic() - began
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the server's process group and every child of the server
        (PostgreSQL backends leave the postmaster's group with ``setsid``)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        for pid in _children(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=15)

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)

    def restart(self) -> None:
        self.kill9()
        self.start()

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
        shutil.rmtree(self.root, ignore_errors=True)


class Postgres(DbServer):
    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.data = self.root / "pgdata"
        self.data.mkdir(parents=True)
        _chown(self.root, "postgres")
        subprocess.run(
            [
                *_as("postgres"),
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        return [
            *_as("postgres"),
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def answers(self) -> bool:
        return asyncio.run(self._query("SELECT 1")) is not None

    async def _query(self, sql: str) -> object:
        try:
            conn = await asyncpg.connect(self.url, timeout=1)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return None
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    def terminate_backends(self) -> int:
        """``pg_terminate_backend`` every other connection (omnicrud's pool); how many."""
        rows = asyncio.run(
            self._query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
        assert isinstance(rows, list)
        return len(rows)


class MariaDB(DbServer):
    name = "mariadb"

    def __init__(self) -> None:
        super().__init__()
        self.data = self.root / "data"
        self.data.mkdir(parents=True)
        _chown(self.root, "mysql")
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.data}",
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        return [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.data}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.root / 'mysqld.sock'}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            "--user=mysql",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
        ]

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/omnicrud"

    def answers(self) -> bool:
        return port_open(self.port) and asyncio.run(self._ping())

    async def _ping(self) -> bool:
        try:
            conn = await aiomysql.connect(
                host="127.0.0.1", port=self.port, user="root", connect_timeout=1, autocommit=True
            )
        except Exception:  # aiomysql wraps connection failures in several types
            return False
        try:
            async with conn.cursor() as cur:
                await cur.execute("CREATE DATABASE IF NOT EXISTS omnicrud CHARACTER SET utf8mb4")
        finally:
            conn.close()
        return True


class Secantus(DbServer):
    name = "secantus"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.root / "data"),
            "--log-level",
            "WARNING",
        ]

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/omnicrud?retryWrites=false&directConnection=true"

    def answers(self) -> bool:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()


SERVERS: dict[str, type[DbServer]] = {
    "postgres": Postgres,
    "mariadb": MariaDB,
    "secantus": Secantus,
}


class Blackhole:
    """A TCP server that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never read from or written to

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for conn in self.held:
            conn.close()
