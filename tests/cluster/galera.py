"""A 3-node MariaDB 10.11 Galera cluster from the Debian binaries, on loopback.

``start_galera_cluster()`` runs ``mariadb-install-db`` once (root with an empty password),
bootstraps node 1 with ``--wsrep-new-cluster`` and joins nodes 2 and 3 by rsync SST. Every
node has its own free ports: SQL, group communication (gmcast), IST receive and SST receive.
The nodes run as the ``mysql`` OS user in directories it owns: ``wsrep_sst_rsync`` starts an
rsync daemon that drops to ``nobody`` when run as root and then cannot write the datadir.

Binary logging with ``wsrep_gtid_mode=ON`` is on, so ``@@gtid_binlog_pos`` and
``MASTER_GTID_WAIT`` mean the same on every node. Failure timeouts are shortened
(suspect 2 s, inactive 4 s) so a killed node leaves the primary component quickly.

``GaleraCluster.stop`` (SIGTERM, or kill -9), ``start`` (rejoin by IST/SST, wait until
Synced), ``isolate`` (``gmcast.isolate=1``: the node leaves the primary component and
answers ER_UNKNOWN_COM_ERROR 1047 to queries) and ``close``.
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
    chown_tree,
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

OS_USER = "mysql"
DATABASE = "test"
START_TIMEOUT = 120.0
CLUSTER_NAME = "omnicrud_test"
PROVIDER_CANDIDATES = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so")
EVS_OPTIONS = (
    "evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;"
    "evs.inactive_timeout=PT4S;evs.install_timeout=PT4S"
)


def galera_provider() -> str:
    """``libgalera_smm.so`` as installed by the ``galera-4`` package (``dpkg -L galera-4``)."""
    done = subprocess.run(
        ["dpkg", "-L", "galera-4"], capture_output=True, text=True, timeout=30, check=False
    )
    listed = [line for line in done.stdout.splitlines() if line.endswith("/libgalera_smm.so")]
    for path in [*listed, *PROVIDER_CANDIDATES]:
        if Path(path).exists():
            return path
    raise RuntimeError("libgalera_smm.so not found: is the galera-4 package installed?")


@dataclass
class GaleraNode:
    name: str
    index: int
    port: int
    gcomm_port: int
    ist_port: int
    sst_port: int
    root: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.root / self.name

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.err"

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class GaleraCluster:
    root: Path
    provider: str
    nodes: list[GaleraNode]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def cluster_address(self) -> str:
        return "gcomm://" + ",".join(f"127.0.0.1:{n.gcomm_port}" for n in self.nodes)

    def argv(self, node: GaleraNode, *, bootstrap: bool) -> list[str]:
        provider_options = (
            f"gmcast.listen_addr=tcp://127.0.0.1:{node.gcomm_port};"
            f"ist.recv_addr=127.0.0.1:{node.ist_port};{EVS_OPTIONS}"
        )
        argv = [
            "/usr/sbin/mariadbd",
            "--no-defaults",
            f"--datadir={node.datadir}",
            f"--socket={self.root / (node.name + '.sock')}",
            f"--pid-file={self.root / (node.name + '.pid')}",
            f"--log-error={node.log}",
            f"--tmpdir={self.root / 'tmp'}",
            f"--port={node.port}",
            "--bind-address=127.0.0.1",
            f"--server-id={node.index}",
            f"--gtid-domain-id={node.index}",
            f"--log-bin={node.datadir / 'mariadb-bin'}",
            "--log-slave-updates=ON",
            "--binlog_format=ROW",
            "--default-storage-engine=InnoDB",
            "--innodb_autoinc_lock_mode=2",
            "--innodb_buffer_pool_size=64M",
            "--innodb_log_file_size=16M",
            "--innodb_flush_log_at_trx_commit=2",
            "--max_connections=200",
            "--wsrep-on=ON",
            f"--wsrep_provider={self.provider}",
            f"--wsrep_cluster_name={CLUSTER_NAME}",
            f"--wsrep_cluster_address={self.cluster_address}",
            f"--wsrep_node_name={node.name}",
            f"--wsrep-node-address=127.0.0.1:{node.gcomm_port}",
            f"--wsrep_node_incoming_address=127.0.0.1:{node.port}",
            f"--wsrep_provider_options={provider_options}",
            "--wsrep_sst_method=rsync",
            f"--wsrep_sst_receive_address=127.0.0.1:{node.sst_port}",
            "--wsrep_gtid_mode=ON",
            "--wsrep_gtid_domain_id=100",
        ]
        if bootstrap:
            argv.append("--wsrep-new-cluster")
        return argv

    def start(self, node: GaleraNode, *, bootstrap: bool = False, wait: bool = True) -> None:
        """Start ``node`` (again): it joins by IST or SST; with ``wait``, until Synced."""
        if node.running:
            return
        node.proc = spawn(self.argv(node, bootstrap=bootstrap), OS_USER, node.log)
        if wait:
            self.wait_synced(node)

    def stop(self, node: GaleraNode, *, kill: bool = False, timeout: float = 60.0) -> None:
        """SIGTERM (clean shutdown, grastate saved: the rejoin is an IST), or kill -9 of the
        node's process group with ``kill=True``."""
        if node.proc is None:
            return
        if kill:
            kill_group(node.proc)
        else:
            terminate(node.proc, signal.SIGTERM, timeout)
        node.proc = None

    def pause(self, node: GaleraNode) -> None:
        """SIGSTOP: the others suspect it after 2 s and evict it after 4 s."""
        if node.proc is not None:
            signal_group(node.proc, signal.SIGSTOP)

    def resume(self, node: GaleraNode) -> None:
        if node.proc is not None:
            signal_group(node.proc, signal.SIGCONT)

    def isolate(self, node: GaleraNode, isolated: bool = True) -> None:
        """Cut ``node`` off the group (``gmcast.isolate=1``): it becomes non-Primary and
        ``wsrep_ready`` OFF while the other two keep quorum. ``False`` lets it rejoin."""
        value = 1 if isolated else 0
        self.query(node, f"SET GLOBAL wsrep_provider_options='gmcast.isolate={value}'")

    def query(self, node: GaleraNode, sql: str, database: str = "") -> str:
        """One statement through the ``mariadb`` client (batch mode, no column names)."""
        return mariadb(node, sql, database)

    def status(self, node: GaleraNode, name: str) -> str:
        out = self.query(node, f"SHOW GLOBAL STATUS LIKE '{name}'")
        return out.partition("\t")[2]

    def is_synced(self, node: GaleraNode) -> bool:
        out = self.query(
            node,
            "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
            "WHERE VARIABLE_NAME IN ('WSREP_LOCAL_STATE_COMMENT', 'WSREP_READY')",
        )
        got = dict(line.split("\t", 1) for line in out.splitlines())
        return got == {"WSREP_LOCAL_STATE_COMMENT": "Synced", "WSREP_READY": "ON"}

    def wait_synced(self, node: GaleraNode, timeout: float = START_TIMEOUT) -> float:
        """Wait until ``wsrep_local_state_comment`` = Synced and ``wsrep_ready`` = ON."""

        def synced() -> bool:
            if node.proc is not None and node.proc.poll() is not None:
                raise NodeExited(f"{node.name} exited ({node.proc.returncode})")
            return self.is_synced(node)

        try:
            return wait_until(synced, timeout, f"Galera {node.name} Synced", interval=0.2)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n--- {node.log}:\n{tail(node.log)}") from exc

    def wait_cluster_size(self, node: GaleraNode, size: int, timeout: float = 30.0) -> float:
        return wait_until(
            lambda: self.status(node, "wsrep_cluster_size") == str(size),
            timeout,
            f"wsrep_cluster_size={size} on {node.name}",
            interval=0.2,
        )

    def close(self) -> None:
        """Stop every node (SIGTERM, kill -9 after 20 s) and remove the directory."""
        for node in reversed(self.nodes):
            if node.proc is not None:
                signal_group(node.proc, signal.SIGCONT)
                node.proc.send_signal(signal.SIGTERM)
        for node in reversed(self.nodes):
            self.stop(node, timeout=20.0)
        shutil.rmtree(self.root, ignore_errors=True)


def mariadb(node: GaleraNode, sql: str, database: str = "") -> str:
    argv = ["/usr/bin/mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(node.port)]
    argv += ["-u", "root", "--batch", "--skip-column-names", "--connect-timeout=5", "-e", sql]
    if database:
        argv.append(database)
    return run(argv, OS_USER, timeout=30).strip()


def _install(datadir: Path, tmpdir: Path) -> None:
    run(
        [
            "/usr/bin/mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            f"--tmpdir={tmpdir}",
            f"--user={OS_USER}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        OS_USER,
        timeout=120,
    )


def start_galera_cluster(size: int = 3, timeout: float = START_TIMEOUT) -> GaleraCluster:
    """Bootstrap node 1, join the others one after the other (SST from a Synced donor),
    create database ``test``; everything is torn down again on failure."""
    began = time.monotonic()
    root = owned_tempdir("omnicrud-galera-", OS_USER)
    ports = free_ports(4 * size)
    nodes = []
    for i in range(size):
        port, gcomm_port, ist_port, sst_port = ports[4 * i : 4 * i + 4]
        nodes.append(GaleraNode(f"node{i + 1}", i + 1, port, gcomm_port, ist_port, sst_port, root))
    cluster = GaleraCluster(root, galera_provider(), nodes)
    try:
        # mariadbd's own temp files go under the cluster dir, not the shared /tmp.
        (root / "tmp").mkdir()
        chown_tree(root / "tmp", OS_USER)
        _install(nodes[0].datadir, root / "tmp")
        for node in nodes[1:]:
            shutil.copytree(nodes[0].datadir, node.datadir, symlinks=True)
            chown_tree(node.datadir, OS_USER)
        cluster.timings["install"] = time.monotonic() - began
        cluster.start(nodes[0], bootstrap=True)
        cluster.timings["bootstrap"] = time.monotonic() - began
        cluster.query(nodes[0], f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        for node in nodes[1:]:
            cluster.start(node, wait=False)
        for node in nodes[1:]:
            cluster.wait_synced(node, timeout)
        cluster.wait_cluster_size(nodes[0], size, timeout)
    except BaseException:
        cluster.close()
        raise
    cluster.timings["start"] = time.monotonic() - began
    return cluster
