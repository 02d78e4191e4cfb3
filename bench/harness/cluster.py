"""The postgres-replica backend: a private PostgreSQL primary and one streaming replica.

Both from this machine's Debian binaries, run as the ``postgres`` OS user (initdb, then
``pg_basebackup -R``), listening on free loopback ports with data in a fresh temp dir;
``close`` stops both (fast shutdown, then SIGKILL of their process groups) and removes it.
The shared server on 5432 is never touched.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import procs
from .dbs import DB_NAME, Postgres

USER = "postgres"
CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = '1s'
fsync = off
synchronous_commit = off
max_connections = 150
shared_buffers = '128MB'
logging_collector = off
log_min_messages = warning
"""
HBA = """
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


def _as_user() -> dict[str, Any]:
    """Popen arguments dropping to the postgres user (initdb refuses to run as root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **_as_user(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return str(done.stdout)


class Node:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.port = procs.free_port()
        self.datadir = root / name
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, pg_bin: Path) -> None:
        with self.log.open("ab") as sink:
            if os.geteuid() == 0:
                shutil.chown(self.log, USER, USER)
            self.proc = subprocess.Popen(
                [str(pg_bin / "postgres"), "-D", str(self.datadir)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **_as_user(),
            )
        deadline = time.monotonic() + 60
        ready = [str(pg_bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        while subprocess.run(ready, check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL {self.name} did not start:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def pids(self) -> list[int]:
        return procs.tree(self.proc.pid) if self.proc else []

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


class PostgresReplica(Postgres):
    """A private primary + streaming replica; ``url`` is the primary, ``read_url`` the
    replica (the same ``omnicrud_bench`` database, streamed)."""

    name = "postgres-replica"

    def __init__(self) -> None:
        started = time.monotonic()
        self.bin = _bin()
        self.root = Path(tempfile.mkdtemp(prefix="omnicrud-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, USER, USER)
        self.primary = Node("primary", self.root)
        self.replica = Node("replica", self.root)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self.admin_url = self.primary.url("postgres")
        self.url = self.primary.url(DB_NAME)
        self.read_url = self.replica.url(DB_NAME)
        print(
            f"  primary :{self.primary.port} + replica :{self.replica.port} streaming "
            f"after {time.monotonic() - started:.1f} s",
            flush=True,
        )

    def _start(self) -> None:
        p = self.primary
        _run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(p.datadir),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        with (p.datadir / "postgresql.conf").open("a") as conf:
            conf.write(CONF.format(port=p.port, sockets=self.root))
        (p.datadir / "pg_hba.conf").write_text(HBA)
        p.start(self.bin)
        r = self.replica
        _run(
            [
                str(self.bin / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(p.port),
                "-U",
                USER,
                "-D",
                str(r.datadir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
        )
        with (r.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {r.port}\ncluster_name = 'replica'\n")
        r.start(self.bin)
        self._wait(
            "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming'",
            "the replica streaming",
        )

    def _wait(self, sql: str, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self._run(self.primary.url("postgres"), sql)[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {timeout} s\n{self.replica.tail()}")
            time.sleep(0.2)

    def analyze(self) -> None:
        super().analyze()
        self.caught_up()

    def trim(self, rows: int) -> None:
        super().trim(rows)
        self.caught_up()

    def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary wrote."""
        self._wait(
            "SELECT bool_and(replay_lsn >= pg_current_wal_lsn()) FROM pg_stat_replication",
            "the replica caught up",
        )

    def pids(self) -> list[int]:
        return [*self.primary.pids(), *self.replica.pids()]

    def split(self) -> dict[str, float]:
        """Cumulative CPU µs of each node's processes (the harness's split per request)."""
        tick_us = 1e6 / procs.TICK
        return {
            "primary_cpu_us": procs.cpu_ticks(self.primary.pids()) * tick_us,
            "replica_cpu_us": procs.cpu_ticks(self.replica.pids()) * tick_us,
        }

    def version(self) -> str:
        return super().version() + " (primary + 1 streaming replica)"

    def close(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)
