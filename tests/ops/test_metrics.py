"""CONTRACT §10 metrics: /metrics parsed with prometheus-client's own parser after a scripted
run counts exactly the requests made, per route template and status, with 1 and 2 workers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .support import serving

pytestmark = pytest.mark.server

Key = tuple[str, str, str]


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append((sample.labels, sample.value))
    return families


def requests_total(families: dict[str, list[tuple[dict[str, str], float]]]) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    for labels, value in families.get("omnicrud_http_requests_total", []):
        counts[(labels["method"], labels["route"], labels["status"])] += int(value)
    return counts


@pytest.mark.parametrize("workers", [1, 2])
def test_counts_equal_the_requests_made(workers: int, database_url: str, tmp_path: Path) -> None:
    made: Counter[Key] = Counter()
    with serving(database_url, tmp_path, "--workers", str(workers)) as server:
        # fresh connections, so that both workers take a share
        for i in range(12):
            r = httpx.post(f"{server.url}/items", json={"name": f"m{i}", "price": 1.0})
            assert r.status_code == 201
            made[("POST", "/items", "201")] += 1
            r = httpx.get(server.url + r.headers["location"])
            made[("GET", "/items/{id}", str(r.status_code))] += 1
        for _ in range(5):
            assert httpx.get(f"{server.url}/items/999999999").status_code == 404
            made[("GET", "/items/{id}", "404")] += 1
            assert httpx.get(f"{server.url}/nowhere/{_}").status_code == 404
            made[("GET", "unmatched", "404")] += 1
            assert httpx.post(f"{server.url}/items", json={"price": -1}).status_code == 422
            made[("POST", "/items", "422")] += 1
            assert httpx.delete(f"{server.url}/items").status_code == 405
            made[("DELETE", "/items", "405")] += 1
        families = scrape(server.url)
    counts = requests_total(families)
    ours = {k: v for k, v in counts.items() if k[1] not in ("/readyz", "/metrics")}
    assert ours == dict(made)
    assert counts[("GET", "/readyz", "200")] >= 1
    assert all(k[1] != "/nowhere/0" for k in counts)  # templates only: bounded labels
    durations = {
        (labels["method"], labels["route"]): value
        for labels, value in families["omnicrud_http_request_duration_seconds_count"]
    }
    assert durations[("POST", "/items")] == 17
    assert durations[("GET", "/items/{id}")] == 17
    if workers == 1:
        assert "process_cpu_seconds_total" in families
