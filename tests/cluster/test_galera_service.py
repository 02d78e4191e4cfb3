"""CONTRACT §9 on a 3-node MariaDB Galera cluster: one omnicrud process per node, writing
at once; two processes migrating a fresh database through different nodes; a node cut off
from the cluster is not ready, and is again once it rejoins."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.clients import my_all, my_connect
from tests.cluster.galera import GaleraCluster
from tests.cluster.nodes import REPORT, wait_until
from tests.processes import Server, cli_env, launch, wait_ready
from tests.provision import with_database

SECRET = "g" * 32


def database(galera: GaleraCluster, name: str) -> list[str]:
    conn = my_connect(galera.nodes[0])
    my_all(conn, f"CREATE DATABASE {name}")
    conn.close()
    return [with_database(url, name) for url in galera.urls]


def start(urls: list[str], tmp: Path, wait: bool = True) -> list[Server]:
    servers = []
    for url in urls:
        env = cli_env(url, {"OMNICRUD_CONNECT_TIMEOUT": "2", "OMNICRUD_POOL_TIMEOUT": "3"})
        servers.append(launch(url, tmp, env=env))
    if wait:
        for server in servers:
            wait_ready(server, 120)
    return servers


@pytest.fixture(scope="module")
def per_node(
    galera_cluster: GaleraCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Server], list[str]]]:
    """Three processes, one per node, on a fresh database they all migrate at once."""
    urls = database(galera_cluster, f"svc_{secrets.token_hex(4)}")
    servers = start(urls, tmp_path_factory.mktemp("galera"))
    try:
        yield servers, urls
    finally:
        for server in servers:
            server.stop()


def test_two_processes_migrate_a_fresh_database_through_different_nodes(
    galera_cluster: GaleraCluster, tmp_path: Path
) -> None:
    for _ in range(2):
        urls = database(galera_cluster, f"mig_{secrets.token_hex(4)}")
        servers = start(urls[:2], tmp_path, wait=False)
        try:
            for server in servers:
                wait_ready(server, 120)
                assert server.proc.poll() is None
        finally:
            for server in servers:
                server.stop()
        for server in servers:
            assert "migration failed" not in server.output()


def test_three_processes_write_on_three_nodes_at_once(
    galera_cluster: GaleraCluster, per_node: tuple[list[Server], list[str]]
) -> None:
    servers, urls = per_node
    names = [f"u{secrets.token_hex(3)}" for _ in range(25)]
    results: list[tuple[int, int, str, int | None]] = []  # (server, status, name, id)
    lock = threading.Lock()

    def writer(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            for name in names:  # every process tries every username: most must be 409
                body = {
                    "username": name,
                    "email": f"{name}{index}@example.com",
                    "password": "password1",
                }
                made = http.post(f"{servers[index].url}/users", json=body)
                item = http.post(f"{servers[index].url}/items", json={"name": name, "price": index})
                with lock:
                    got = made.json().get("id") if made.status_code == 201 else None
                    results.append((index, made.status_code, name, got))
                    iid = item.json().get("id") if item.status_code == 201 else None
                    results.append((index, item.status_code, "item", iid))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    statuses = sorted({status for _, status, _, _ in results})
    REPORT.append(f"Galera 3 writers: statuses {statuses}, {len(results)} requests")
    assert set(statuses) <= {201, 409, 503}, results
    users = [(name, id) for _, status, name, id in results if status == 201 and name != "item"]
    assert sorted(n for n, _ in users) == sorted(set(n for n, _ in users)), "duplicate username"
    assert {n for n, _ in users} == set(names) or 503 in statuses
    ids = [id for _, status, name, id in results if status == 201 and name == "item"]
    assert len(ids) == len(set(ids)), "duplicate item id"
    # Every acknowledged write is on every node.
    for node in galera_cluster.nodes:
        conn = my_connect(node)
        db = urls[0].rpartition("/")[2]
        my_all(conn, "SET SESSION wsrep_sync_wait = 1")
        have_users = {r[0] for r in my_all(conn, f"SELECT username FROM {db}.users")}
        have_items = {r[0] for r in my_all(conn, f"SELECT id FROM {db}.items")}
        conn.close()
        assert {n for n, _ in users} <= have_users
        assert set(ids) <= have_items


def test_an_isolated_node_is_not_ready_then_recovers(
    galera_cluster: GaleraCluster, per_node: tuple[list[Server], list[str]]
) -> None:
    servers, _ = per_node
    node, server = galera_cluster.nodes[2], servers[2]
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{server.url}/readyz").status_code == 200
        galera_cluster.isolate(node, True)
        try:
            wait_until(
                lambda: http.get(f"{server.url}/readyz").status_code == 503, 15, "503 isolated"
            )
            made = http.post(f"{server.url}/items", json={"name": "isolated", "price": 1})
            listed = http.get(f"{server.url}/items")
            assert made.status_code == 503
            assert listed.status_code == 503
        finally:
            galera_cluster.isolate(node, False)
        began = time.monotonic()
        galera_cluster.wait_synced(node)
        wait_until(lambda: http.get(f"{server.url}/readyz").status_code == 200, 30, "ready again")
        made = http.post(f"{server.url}/items", json={"name": "rejoined", "price": 1})
        assert made.status_code == 201
        assert made.headers["Omnicrud-Consistency"]  # the write's GTID, signed
        REPORT.append(
            f"Galera isolated node ready again {time.monotonic() - began:.1f}s after rejoin"
        )


def test_other_galera_nodes_as_read_replicas_with_the_token(
    galera_cluster: GaleraCluster, per_node: tuple[list[Server], list[str]], tmp_path: Path
) -> None:
    """A process writing through node 1 and reading from nodes 2 and 3
    (``OMNICRUD_READ_URLS``); another process reads with the token: always the new row."""
    servers, urls = per_node
    env = cli_env(urls[0], {"OMNICRUD_READ_URLS": ",".join(urls[1:])})
    reader = launch(urls[0], tmp_path, env=env)
    try:
        wait_ready(reader, 60)
        with httpx.Client(timeout=10) as http:
            for round_ in range(10):
                made = http.post(f"{servers[0].url}/items", json={"name": "gryw", "price": round_})
                assert made.status_code == 201
                token = made.headers["Omnicrud-Consistency"]
                read = http.get(
                    f"{reader.url}/items/{made.json()['id']}",
                    headers={"Omnicrud-Consistency": token},
                )
                assert read.status_code == 200
                assert read.json()["price"] == round_
            listed = http.get(f"{reader.url}/items", params={"name": "gryw", "count": "true"})
            assert listed.status_code == 200
    finally:
        reader.stop()
