"""The SQL the scale-out work relies on, verified against the real clusters (each fact that
the final report states is asserted here)."""

from __future__ import annotations

import secrets

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
from tests.cluster.postgres import PgCluster


def test_pg_commit_lsn_and_replay_check(pg_cluster: PgCluster) -> None:
    primary, fast = pg_cluster.primary_url, pg_cluster.replica_urls[0]
    pg_execute(primary, "CREATE TABLE IF NOT EXISTS facts (v TEXT)")
    pg_execute(primary, "INSERT INTO facts VALUES ('x')")
    insert_lsn = pg_fetchval(primary, "SELECT pg_current_wal_insert_lsn()::text")
    write_lsn = pg_fetchval(primary, "SELECT pg_current_wal_lsn()::text")
    # The insert position is never behind the write position: either is a safe token.
    assert pg_fetchval(
        primary, "SELECT $1::text::pg_lsn >= $2::text::pg_lsn", insert_lsn, write_lsn
    )
    check = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    wait_until(lambda: bool(pg_fetchval(fast, check, insert_lsn)), 5, "replica replayed")
    assert pg_fetchval(primary, "SELECT pg_last_wal_replay_lsn()") is None  # NULL on a primary
    REPORT.append(f"PG tokens: insert_lsn={insert_lsn} lsn={write_lsn}")


def _lock_table(conn: object) -> None:
    my_all(conn, "CREATE TABLE IF NOT EXISTS locks (name VARCHAR(20) PRIMARY KEY, n INT)")
    my_all(conn, "INSERT IGNORE INTO locks VALUES ('m', 0)")


def test_galera_gtid_position_and_waits(galera_cluster: GaleraCluster) -> None:
    n1, n2 = (my_connect(node) for node in galera_cluster.nodes[:2])
    my_all(n1, "CREATE TABLE IF NOT EXISTS facts (v VARCHAR(20))")
    my_all(n1, "INSERT INTO facts VALUES ('x')")
    last, binlog = my_all(n1, "SELECT @@last_gtid, @@gtid_binlog_pos")[0]
    assert last == binlog  # no other writer: the session's GTID is the binlog position
    assert last.startswith("100-")  # wsrep_gtid_domain_id, the same on every node
    assert my_one(n1, "SELECT WSREP_LAST_WRITTEN_GTID()").decode() == last  # a binary string
    # On another Galera node: WSREP_SYNC_WAIT_UPTO_GTID waits for it (1 = reached) ...
    assert my_one(n2, "SELECT WSREP_SYNC_WAIT_UPTO_GTID(%s, 5)", last) == "1"  # a string
    assert my_one(n2, "SELECT @@gtid_binlog_pos") == last
    # ... while MASTER_GTID_WAIT only follows async replication (@@gtid_slave_pos): -1.
    assert my_one(n2, "SELECT @@gtid_slave_pos") == ""
    assert my_one(n2, "SELECT MASTER_GTID_WAIT(%s, 0.5)", last) == -1
    committed = {my_all(c, "SHOW STATUS LIKE 'wsrep_last_committed'")[0][1] for c in (n1, n2)}
    assert len(committed) == 1
    assert my_one(n2, "SELECT @@wsrep_sync_wait") == 0  # default: reads may be stale
    REPORT.append(f"Galera GTID after write: {last}; wsrep_last_committed {committed}")
    n1.close()
    n2.close()


def test_galera_get_lock_is_node_local(galera_cluster: GaleraCluster) -> None:
    name = f"omni_{secrets.token_hex(4)}"
    n1, n2 = (my_connect(node) for node in galera_cluster.nodes[:2])
    assert my_one(n1, "SELECT GET_LOCK(%s, 0)", name) == 1
    assert my_one(n2, "SELECT GET_LOCK(%s, 0)", name) == 1  # both hold it: not cluster-wide
    my_all(n1, "SELECT RELEASE_LOCK(%s)", name)
    my_all(n2, "SELECT RELEASE_LOCK(%s)", name)
    n1.close()
    n2.close()


def _update_and_commit(conn: object) -> None:
    my_all(conn, "UPDATE locks SET n = n + 10 WHERE name = 'm'")
    my_all(conn, "COMMIT")


def test_galera_for_update_on_two_nodes_first_committer_wins(
    galera_cluster: GaleraCluster,
) -> None:
    n1, n2 = (my_connect(node) for node in galera_cluster.nodes[:2])
    _lock_table(n1)
    my_all(n2, "SET SESSION wsrep_sync_wait = 1")
    my_all(n1, "BEGIN")
    my_all(n1, "SELECT * FROM locks WHERE name = 'm' FOR UPDATE")
    my_all(n2, "BEGIN")
    my_all(n2, "SELECT * FROM locks WHERE name = 'm' FOR UPDATE")  # does not block
    my_all(n2, "UPDATE locks SET n = n + 1 WHERE name = 'm'")
    my_all(n2, "COMMIT")
    with pytest.raises(MySQLError) as caught:  # on the UPDATE or at the latest on COMMIT
        _update_and_commit(n1)
    assert my_error_code(caught.value) == 1213
    n1.close()
    n2.close()


def test_galera_unique_conflict_across_nodes_is_1213(galera_cluster: GaleraCluster) -> None:
    n1, n2 = (my_connect(node) for node in galera_cluster.nodes[:2])
    my_all(
        n1,
        "CREATE TABLE IF NOT EXISTS uniq (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32) UNIQUE)",
    )
    my_all(n2, "SET SESSION wsrep_sync_wait = 1")
    my_all(n2, "SELECT count(*) FROM uniq")
    value = secrets.token_hex(8)
    my_all(n1, "BEGIN")
    my_all(n2, "BEGIN")
    my_all(n1, "INSERT INTO uniq (v) VALUES (%s)", value)
    my_all(n2, "INSERT INTO uniq (v) VALUES (%s)", value)
    my_all(n1, "COMMIT")
    with pytest.raises(MySQLError) as caught:
        my_all(n2, "COMMIT")
    assert my_error_code(caught.value) == 1213
    assert my_one(n2, "SELECT count(*) FROM uniq WHERE v = %s", value) == 1
    n1.close()
    n2.close()
