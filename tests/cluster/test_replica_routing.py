"""CONTRACT §9 on a real PostgreSQL primary with two streaming replicas (replica 2 applies
WAL 2 s late): reads on replicas, read-your-writes across processes with the
Omnicrud-Consistency token, replicas and the primary killed under load."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.nodes import REPORT, wait_until
from tests.cluster.postgres import PgCluster
from tests.processes import Server, cli_env, launch, wait_ready

ROOT = Path(__file__).resolve().parents[2]
LAG = 5.0
HEADER = "Omnicrud-Consistency"


def serve(pg: PgCluster, tmp: Path, replicas: list[str], secret: str = "s" * 32) -> Server:
    env = cli_env(
        pg.primary_url,
        {
            "OMNICRUD_READ_URLS": ",".join(replicas),
            "OMNICRUD_MAX_REPLICA_LAG": str(LAG),
            "OMNICRUD_CONNECT_TIMEOUT": "2",
            "OMNICRUD_POOL_TIMEOUT": "2",
            "OMNICRUD_QUERY_TIMEOUT": "3",
        },
    )
    server = launch(pg.primary_url, tmp, env=env)
    wait_ready(server)
    return server


@pytest.fixture(scope="module")
def pair(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Process A (writes) and process B (reads), both reading from the delayed replica."""
    tmp = tmp_path_factory.mktemp("ryw")
    delayed = pg_cluster.replica_urls[1]
    servers = [serve(pg_cluster, tmp, [delayed])]
    servers.append(serve(pg_cluster, tmp, [delayed]))
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_conformance_suite_with_reads_on_a_replica(pg_cluster: PgCluster) -> None:
    """The unchanged conformance suite, its reads routed to replica 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNICRUD_")}
    env |= {
        "DATABASE_URL": pg_cluster.primary_url,
        "OMNICRUD_TEST_READ_URLS": pg_cluster.replica_urls[0],
    }
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/conformance"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    REPORT.append(
        f"conformance with reads on replica 1: {done.stdout.strip().splitlines()[-1]} "
        f"({time.monotonic() - began:.0f}s)"
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_read_your_writes_across_processes_on_the_delayed_replica(pair: list[Server]) -> None:
    a, b = pair
    with httpx.Client(timeout=10) as http:
        created = http.post(f"{a.url}/items", json={"name": "ryw", "price": 1})
        assert created.status_code == 201
        token = created.headers[HEADER]
        item = created.json()["id"]
        for round_ in range(10):
            changed = http.patch(f"{a.url}/items/{item}", json={"price": round_ + 2})
            assert changed.status_code == 200
            token = changed.headers[HEADER]
            read = http.get(f"{b.url}/items/{item}", headers={HEADER: token})
            assert read.status_code == 200
            assert read.json()["price"] == round_ + 2
            assert read.headers["ETag"] == changed.headers["ETag"]
        listed = http.get(
            f"{b.url}/items", params={"name": "ryw", "id": item}, headers={HEADER: token}
        )
        assert [row["price"] for row in listed.json()["items"]] == [11]


def test_read_your_writes_under_concurrent_writes(pg_cluster: PgCluster, tmp_path: Path) -> None:
    """Concurrent writes share position probes (``_positions``); each token still brings
    its own write back from the other process. (That every position covers its commit
    record is checked exactly, in the WAL, by tests/backends/test_sql_positions.py.)"""
    fast = pg_cluster.replica_urls[0]
    a, b = serve(pg_cluster, tmp_path, [fast]), serve(pg_cluster, tmp_path, [fast])
    stale: list[tuple[int, int, int, str]] = []
    done: list[int] = []

    def writer(n: int) -> None:
        with httpx.Client(timeout=10) as http:
            item = http.post(f"{a.url}/items", json={"name": f"c{n}", "price": 0}).json()["id"]
            for round_ in range(1, 16):
                changed = http.patch(f"{a.url}/items/{item}", json={"price": round_})
                token = changed.headers.get(HEADER, "")
                read = http.get(f"{b.url}/items/{item}", headers={HEADER: token})
                if changed.status_code != 200 or read.json()["price"] != round_:
                    stale.append((item, round_, changed.status_code, read.text))
        done.append(n)

    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        a.stop()
        b.stop()
    assert stale == []
    assert len(done) == 16


def test_a_forged_token_is_ignored(pair: list[Server]) -> None:
    a, b = pair
    with httpx.Client(timeout=10) as http:
        created = http.post(f"{a.url}/items", json={"name": "forged", "price": 1})
        item = created.json()["id"]
        began = time.monotonic()
        read = http.get(
            f"{b.url}/items/{item}", headers={HEADER: "RkYvRkZGRkZGRkZ4eHh4eHh4eHh4eHg"}
        )
        assert read.status_code in (200, 404)
        assert time.monotonic() - began < 1.0


def test_without_the_token_reads_are_stale_at_most_the_lag(pair: list[Server]) -> None:
    a, b = pair
    stale_for = []
    with httpx.Client(timeout=10) as http:
        for _ in range(3):
            created = http.post(f"{a.url}/items", json={"name": "stale", "price": 1})
            assert created.status_code == 201
            written = time.monotonic()
            item = created.json()["id"]
            first = http.get(f"{b.url}/items/{item}")
            assert first.status_code in (200, 404)

            def seen(item: int = item) -> bool:
                return http.get(f"{b.url}/items/{item}").status_code == 200

            wait_until(seen, LAG + 2, "the row on process B without a token", 0.05)
            stale_for.append((first.status_code, time.monotonic() - written))
    REPORT.append(
        f"PG reads without token via the delayed replica: (first status, stale s) {stale_for}"
    )
    assert any(status == 404 for status, _ in stale_for), "reads never went to the replica"
    assert all(seconds <= LAG + 1 for _, seconds in stale_for)


def test_metrics_show_each_replica_lag_and_where_reads_ran(pair: list[Server]) -> None:
    _, b = pair
    with httpx.Client(timeout=10) as http:
        for _ in range(5):
            assert http.get(f"{b.url}/items?limit=1").status_code == 200
        text = http.get(f"{b.url}/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    lags = {
        dict(k)["replica"]: v
        for (n, k), v in samples.items()
        if n == "omnicrud_replica_lag_seconds"
    }
    reads = {
        dict(k)["target"]: v for (n, k), v in samples.items() if n == "omnicrud_replica_reads_total"
    }
    REPORT.append(f"PG /metrics replica lag {lags}, reads {reads}")
    assert len(lags) == 1, lags
    (replica, lag) = next(iter(lags.items()))
    assert "127.0.0.1" in replica, lags
    assert 0 <= lag <= LAG, lags
    assert reads.get(replica, 0) >= 1, reads


class Load:
    """GETs of one row in a loop from a thread; every failure kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.errors: list[str] = []
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                try:
                    status = http.get(self.url).status_code
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    continue
                self.count += 1
                if status != 200:
                    self.errors.append(str(status))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def test_replica_killed_under_load_and_primary_killed(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    server = serve(pg_cluster, tmp_path, pg_cluster.replica_urls[:1])
    try:
        with httpx.Client(timeout=10) as http:
            item = http.post(f"{server.url}/items", json={"name": "load", "price": 1}).json()["id"]
            wait_until(lambda: http.get(f"{server.url}/items/{item}").status_code == 200, 5, "row")
            replica = pg_cluster.replicas[0]
            with Load(f"{server.url}/items/{item}") as load:
                time.sleep(0.5)
                pg_cluster.stop(replica, kill=True)
                time.sleep(1.5)
                pg_cluster.start(replica)
                time.sleep(1.0)
            assert load.errors == []
            assert load.count > 50
            pg_cluster.wait_streaming()
            wait_until(lambda: http.get(f"{server.url}/readyz").status_code == 200, 10, "ready")
            time.sleep(1.0)  # the replica is back in the rotation

            pg_cluster.stop(pg_cluster.primary, kill=True)
            try:
                began = time.monotonic()
                reads = [http.get(f"{server.url}/items/{item}").status_code for _ in range(20)]
                write = http.post(f"{server.url}/items", json={"name": "down", "price": 1})
                listed = http.get(f"{server.url}/items", params={"name": "load"})
                REPORT.append(
                    f"PG primary killed: 20 reads {set(reads)}, write {write.status_code}, "
                    f"in {time.monotonic() - began:.2f}s"
                )
                assert reads == [200] * 20
                assert listed.status_code == 200
                assert listed.json()["items"]
                assert write.status_code == 503
                assert "Retry-After" in write.headers
            finally:
                pg_cluster.start(pg_cluster.primary)
            pg_cluster.wait_streaming()

            def writes() -> bool:
                made = http.post(f"{server.url}/items", json={"name": "back", "price": 1})
                return made.status_code == 201

            recovered = wait_until(writes, 30, "writes after the primary's restart", 0.2)
            REPORT.append(f"PG writes back {recovered:.2f}s after the primary restarted")
    finally:
        server.stop()
