"""A PostgreSQL 15 primary with two streaming replicas, from the Debian binaries, on loopback.

``start_pg_cluster()`` runs ``initdb`` for the primary (as the ``postgres`` OS user, data under a
fresh temp dir it owns), creates database ``test``, clones two replicas with
``pg_basebackup -R`` (replica 2 applies WAL with ``recovery_min_apply_delay = '2s'``) and
waits until both stream from the primary. Each node listens on 127.0.0.1 only, on its own
free port, with its unix socket in the temp dir. ``PgCluster.stop`` / ``start`` take one node
down (fast shutdown or kill -9 of its process group) and back up; ``close`` stops everything
and removes the directory.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.nodes import (
    NodeExited,
    free_ports,
    kill_group,
    owned_tempdir,
    run,
    signal_group,
    spawn,
    tail,
    terminate,
    wait_until,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
DATABASE = "test"
REPLICA_DELAY = 2.0
START_TIMEOUT = 60.0

PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = '1s'
fsync = off
full_page_writes = on
max_connections = 100
shared_buffers = '32MB'
logging_collector = off
log_min_messages = warning
"""

PG_HBA = """
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


@dataclass
class PgNode:
    name: str
    port: int
    datadir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class PgCluster:
    root: Path
    primary: PgNode
    replicas: list[PgNode]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def primary_url(self) -> str:
        return self.primary.url

    @property
    def replica_urls(self) -> list[str]:
        return [node.url for node in self.replicas]

    @property
    def nodes(self) -> list[PgNode]:
        return [self.primary, *self.replicas]

    def start(self, node: PgNode, timeout: float = START_TIMEOUT) -> None:
        """Start ``node`` (again) and wait until it accepts connections."""
        if node.running:
            return
        node.proc = spawn([str(PG_BIN / "postgres"), "-D", str(node.datadir)], OS_USER, node.log)
        wait_ready(node, timeout)

    def stop(self, node: PgNode, *, kill: bool = False, timeout: float = 30.0) -> None:
        """Fast shutdown of ``node`` (SIGINT to the postmaster), or kill -9 of its process
        group with ``kill=True`` (a crash: the next start runs recovery)."""
        if node.proc is None:
            return
        if kill:
            kill_group(node.proc)
        else:
            terminate(node.proc, signal.SIGINT, timeout)
        node.proc = None

    def pause(self, node: PgNode) -> None:
        """SIGSTOP the node's process group: it keeps its port but answers nothing."""
        if node.proc is not None:
            signal_group(node.proc, signal.SIGSTOP)

    def resume(self, node: PgNode) -> None:
        if node.proc is not None:
            signal_group(node.proc, signal.SIGCONT)

    def query(self, node: PgNode, sql: str, database: str = DATABASE) -> str:
        """One statement through ``psql -At`` (tuples only, ``|``-separated)."""
        return psql(node, sql, database)

    def wait_streaming(self, count: int | None = None, timeout: float = START_TIMEOUT) -> float:
        """Wait until ``count`` (default: all) replicas stream from the primary."""
        want = len(self.replicas) if count is None else count
        sql = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        return wait_until(
            lambda: int(psql(self.primary, sql, "postgres")) >= want,
            timeout,
            f"{want} replicas streaming",
        )

    def close(self) -> None:
        """Stop every node (fast, then kill -9 after 15 s) and remove the directory."""
        for node in reversed(self.nodes):
            self.stop(node, timeout=15.0)
        shutil.rmtree(self.root, ignore_errors=True)


def psql(node: PgNode, sql: str, database: str = DATABASE) -> str:
    out = run(
        [
            str(PG_BIN / "psql"),
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(node.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        ],
        OS_USER,
        timeout=30,
    )
    return out.strip()


def is_ready(node: PgNode) -> bool:
    done = subprocess.run(
        [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(node.port), "-t", "1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=10,
        check=False,
    )
    return done.returncode == 0


def wait_ready(node: PgNode, timeout: float = START_TIMEOUT) -> float:
    def ready() -> bool:
        if node.proc is not None and node.proc.poll() is not None:
            raise NodeExited(f"{node.name} exited ({node.proc.returncode}):\n{tail(node.log)}")
        return is_ready(node)

    try:
        return wait_until(ready, timeout, f"PostgreSQL {node.name} on port {node.port}")
    except (TimeoutError, RuntimeError) as exc:
        raise RuntimeError(f"{exc}\n--- {node.log}:\n{tail(node.log)}") from exc


def _append(path: Path, text: str) -> None:
    with path.open("a") as conf:
        conf.write(text)


def _init_primary(node: PgNode, sockets: Path) -> None:
    run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(node.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        OS_USER,
        timeout=120,
    )
    _append(node.datadir / "postgresql.conf", PRIMARY_CONF.format(port=node.port, sockets=sockets))
    (node.datadir / "pg_hba.conf").write_text(PG_HBA)


def _clone_replica(primary: PgNode, node: PgNode, delay: float) -> None:
    run(
        [
            str(PG_BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(node.datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ],
        OS_USER,
        timeout=120,
    )
    extra = f"\nport = {node.port}\n"
    extra += f"cluster_name = '{node.name}'\n"
    if delay:
        extra += f"recovery_min_apply_delay = '{int(delay * 1000)}ms'\n"
    _append(node.datadir / "postgresql.conf", extra)


def start_pg_cluster(replicas: int = 2, timeout: float = START_TIMEOUT) -> PgCluster:
    """Start the primary and ``replicas`` streaming replicas (the last one delayed by
    ``REPLICA_DELAY`` seconds when there are two or more); all torn down again on failure."""
    began = time.monotonic()
    root = owned_tempdir("omnicrud-pg-", OS_USER)
    ports = free_ports(1 + replicas)
    names = ["primary", *(f"replica{i}" for i in range(1, replicas + 1))]
    nodes = [PgNode(n, p, root / n, root / f"{n}.log") for n, p in zip(names, ports, strict=True)]
    cluster = PgCluster(root, nodes[0], nodes[1:])
    try:
        _init_primary(cluster.primary, root)
        cluster.timings["initdb"] = time.monotonic() - began
        cluster.start(cluster.primary, timeout)
        psql(cluster.primary, f"CREATE DATABASE {DATABASE}", "postgres")
        for i, replica in enumerate(cluster.replicas, start=1):
            delayed = replicas >= 2 and i == replicas
            _clone_replica(cluster.primary, replica, REPLICA_DELAY if delayed else 0.0)
        for replica in cluster.replicas:
            cluster.start(replica, timeout)
        cluster.wait_streaming(timeout=timeout)
    except BaseException:
        cluster.close()
        raise
    cluster.timings["start"] = time.monotonic() - began
    return cluster
