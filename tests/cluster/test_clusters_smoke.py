"""The cluster infrastructure works: replication reaches replicas (the delayed one only after
its 2 s delay), Galera replicates in every direction with per-node auto-increment, and nodes
stopped, killed or isolated come back Synced."""

from __future__ import annotations

import functools
import secrets
import time
from typing import Any

import asyncpg
import pytest

from tests.cluster.clients import (
    MySQLError,
    my_all,
    my_connect,
    my_error_code,
    my_one,
    pg_execute,
    pg_fetchval,
)
from tests.cluster.galera import GaleraCluster
from tests.cluster.nodes import REPORT, wait_until
from tests.cluster.postgres import REPLICA_DELAY, PgCluster

REPLAYED = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
TABLE = "CREATE TABLE IF NOT EXISTS smoke (id BIGSERIAL PRIMARY KEY, v TEXT UNIQUE NOT NULL)"


@pytest.fixture(scope="module")
def pg(pg_cluster: PgCluster) -> PgCluster:
    pg_execute(pg_cluster.primary_url, TABLE)
    lsn = pg_fetchval(pg_cluster.primary_url, "SELECT pg_current_wal_lsn()::text")
    for url in pg_cluster.replica_urls:  # the table exists everywhere before any test
        wait_until(
            functools.partial(pg_fetchval, url, REPLAYED, lsn),
            10,
            "replicas have the smoke table",
        )
    return pg_cluster


def visible(url: str, value: str) -> bool:
    return bool(pg_fetchval(url, "SELECT count(*) FROM smoke WHERE v = $1", value))


def test_pg_write_reaches_replica_fast_and_delayed_replica_after_delay(pg: PgCluster) -> None:
    value = secrets.token_hex(8)
    pg_execute(pg.primary_url, "INSERT INTO smoke (v) VALUES ($1)", value)
    committed = time.monotonic()
    fast = wait_until(lambda: visible(pg.replica_urls[0], value), 5, "replica 1 has the row")
    assert not visible(pg.replica_urls[1], value)
    wait_until(lambda: visible(pg.replica_urls[1], value), 10, "replica 2 has the row", 0.05)
    delayed = time.monotonic() - committed
    REPORT.append(
        f"PG: row on replica 1 after {fast:.3f}s, on delayed replica 2 after {delayed:.2f}s"
    )
    assert fast < 1.0
    assert delayed >= REPLICA_DELAY - 0.1


def test_pg_replay_lsn_against_primary_lsn(pg: PgCluster) -> None:
    value = secrets.token_hex(8)
    pg_execute(pg.primary_url, "INSERT INTO smoke (v) VALUES ($1)", value)
    lsn = pg_fetchval(pg.primary_url, "SELECT pg_current_wal_lsn()::text")
    replayed = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    wait_until(lambda: pg_fetchval(pg.replica_urls[0], replayed, lsn), 5, "replica 1 replayed")
    assert visible(pg.replica_urls[0], value)
    assert pg_fetchval(pg.replica_urls[1], replayed, lsn) is False
    lag = pg_fetchval(pg.replica_urls[1], "SELECT now() - pg_last_xact_replay_timestamp()")
    wait_until(lambda: pg_fetchval(pg.replica_urls[1], replayed, lsn), 10, "replica 2 replayed")
    assert visible(pg.replica_urls[1], value)
    REPORT.append(f"PG: primary LSN {lsn}; delayed replica lag before replay {lag}")


def test_pg_standby_rejects_writes_with_25006(pg: PgCluster) -> None:
    assert pg_fetchval(pg.replica_urls[0], "SELECT pg_is_in_recovery()") is True
    with pytest.raises(asyncpg.PostgresError) as caught:
        pg_execute(pg.replica_urls[0], "INSERT INTO smoke (v) VALUES ('nope')")
    assert caught.value.sqlstate == "25006"
    assert isinstance(caught.value, asyncpg.ReadOnlySQLTransactionError)


@pytest.mark.parametrize("kill", [True, False], ids=["kill-9", "fast-stop"])
def test_pg_replica_stopped_and_restarted_catches_up(pg: PgCluster, kill: bool) -> None:
    replica = pg.replicas[0]
    pg.stop(replica, kill=kill)
    value = secrets.token_hex(8)
    pg_execute(pg.primary_url, "INSERT INTO smoke (v) VALUES ($1)", value)
    began = time.monotonic()
    pg.start(replica)
    wait_until(lambda: visible(replica.url, value), 15, "restarted replica caught up")
    pg.wait_streaming()
    REPORT.append(
        f"PG: replica restart after {'kill -9' if kill else 'fast stop'}: "
        f"caught up in {time.monotonic() - began:.2f}s"
    )


# --- Galera ---------------------------------------------------------------------------------

GTABLE = (
    "CREATE TABLE IF NOT EXISTS smoke (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) UNIQUE)"
)


@pytest.fixture(scope="module")
def galera(galera_cluster: GaleraCluster) -> GaleraCluster:
    conn = my_connect(galera_cluster.nodes[0])
    my_all(conn, GTABLE)
    conn.close()
    return galera_cluster


def g_visible(conn: Any, value: str) -> bool:
    return bool(my_one(conn, "SELECT count(*) FROM smoke WHERE v = %s", value))


def test_galera_row_written_on_node1_readable_on_nodes_2_and_3(galera: GaleraCluster) -> None:
    value = secrets.token_hex(8)
    conns = [my_connect(node) for node in galera.nodes]
    my_all(conns[0], "INSERT INTO smoke (v) VALUES (%s)", value)
    for conn in conns[1:]:
        wait_until(functools.partial(g_visible, conn, value), 5, "row replicated")
        my_all(conn, "SET SESSION wsrep_sync_wait = 1")
        assert g_visible(conn, value)
        conn.close()
    conns[0].close()


def test_galera_auto_increment_per_node(galera: GaleraCluster) -> None:
    settings = []
    for node in galera.nodes:
        conn = my_connect(node)
        step, offset = my_all(conn, "SELECT @@auto_increment_increment, @@auto_increment_offset")[0]
        my_all(conn, "INSERT INTO smoke (v) VALUES (%s)", secrets.token_hex(8))
        new_id = my_one(conn, "SELECT LAST_INSERT_ID()")
        conn.close()
        settings.append((node.name, step, offset, new_id))
        assert step == len(galera.nodes)
        assert new_id % step == offset % step
    assert sorted(offset for _, _, offset, _ in settings) == [1, 2, 3]
    REPORT.append("Galera auto_increment (node, increment, offset, new id): " + str(settings))


def _status(galera: GaleraCluster, index: int) -> dict[str, str]:
    out = galera.query(
        galera.nodes[index],
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment',"
        " 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_connected')",
    )
    return dict(line.split("\t", 1) for line in out.splitlines())


@pytest.mark.parametrize("kill", [True, False], ids=["kill-9", "sigterm"])
def test_galera_node_stopped_and_restarted_rejoins_synced(
    galera: GaleraCluster, kill: bool
) -> None:
    node1, node3 = galera.nodes[0], galera.nodes[2]
    galera.stop(node3, kill=kill)
    gone = galera.wait_cluster_size(node1, 2)
    value = secrets.token_hex(8)
    conn = my_connect(node1)
    my_all(conn, "INSERT INTO smoke (v) VALUES (%s)", value)
    conn.close()
    began = time.monotonic()
    galera.start(node3)
    rejoined = time.monotonic() - began
    galera.wait_cluster_size(node1, 3)
    conn = my_connect(node3)
    assert g_visible(conn, value)
    conn.close()
    REPORT.append(
        f"Galera {'kill -9' if kill else 'SIGTERM'} of node3: left the view after "
        f"{gone:.1f}s, restarted and Synced in {rejoined:.1f}s"
    )


def test_galera_isolated_node_is_not_ready(galera: GaleraCluster) -> None:
    node3 = galera.nodes[2]
    galera.isolate(node3)
    try:
        wait_until(lambda: _status(galera, 2)["wsrep_ready"] == "OFF", 15, "node3 not ready")
        isolated = _status(galera, 2)
        REPORT.append(f"Galera node3 isolated (gmcast.isolate=1): {isolated}")
        assert isolated["wsrep_cluster_status"] == "non-Primary"
        # The others notice a little later (evs suspect/inactive timeouts): they keep quorum.
        galera.wait_cluster_size(galera.nodes[0], 2, timeout=15)
        conn = my_connect(node3)
        codes = []
        for sql in ("SELECT count(*) FROM smoke", "INSERT INTO smoke (v) VALUES ('iso')"):
            with pytest.raises(MySQLError) as caught:
                my_all(conn, sql)
            codes.append(my_error_code(caught.value))
        conn.close()
        REPORT.append(f"Galera non-Primary node: read/write error codes {codes}")
        assert codes == [1047, 1047]
    finally:
        galera.isolate(node3, isolated=False)
    galera.wait_synced(node3)
    galera.wait_cluster_size(galera.nodes[0], 3)
