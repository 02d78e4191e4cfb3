"""A running omnicrud whose private database is killed, frozen or cut off (§5, §6)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import httpx

from tests.faults.load import Load, bad_answers
from tests.faults.servers import DbServer, Postgres
from tests.processes import Server, wait_ready

RECOVERY = 2.0
"""Seconds from the database answering again to omnicrud serving again."""
ANSWER_WITHIN = 4.0
"""Longest a request may wait during a fault: connect + pool + statement timeouts, plus slack."""


def _summary(load: Load) -> str:
    return str(Counter(a.status for a in load.answers))


def _check_durable(server: Server, load: Load) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for id, name in load.acknowledged.items():
            response = client.get(f"/items/{id}")
            assert response.status_code == 200, (id, response.status_code, response.text)
            assert response.json()["name"] == name


def test_kill9_under_load(db: DbServer, serve: Callable[[str], Server]) -> None:
    server = serve(db.url)
    wait_ready(server)
    load = Load(server.url).start()
    try:
        time.sleep(1.0)
        db.kill9()
        killed = time.monotonic()
        time.sleep(2.0)
        db.start(wait=False)
        db.wait_answering()
        answering = time.monotonic()
        time.sleep(RECOVERY + 1.5)
    finally:
        load.stop()
    assert server.proc.poll() is None, server.output()
    fault = load.between(killed, answering + RECOVERY)
    assert not bad_answers(fault), (bad_answers(fault)[:5], _summary(load))
    after = load.between(answering + RECOVERY, time.monotonic())
    assert after, _summary(load)
    assert all(200 <= a.status < 300 or a.status == 404 for a in after), (
        [a for a in after if a.status >= 300][:5],
        _summary(load),
    )
    assert load.acknowledged
    _check_durable(server, load)


def test_sigstop_answers_503_within_timeouts(db: DbServer, serve: Callable[[str], Server]) -> None:
    server = serve(db.url)
    wait_ready(server)
    db.freeze()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for method, path, body in (
                ("GET", "/items?limit=1", None),
                ("POST", "/items", {"name": "frozen", "price": 1.0}),
                ("GET", "/readyz", None),
            ):
                began = time.monotonic()
                response = client.request(method, path, json=body)
                took = time.monotonic() - began
                assert response.status_code == 503, (method, path, response.text)
                assert "retry-after" in response.headers
                limit = 2.0 if path == "/readyz" else ANSWER_WITHIN
                assert took < limit, (method, path, took)
    finally:
        db.thaw()
    assert server.proc.poll() is None, server.output()
    deadline = time.monotonic() + RECOVERY + ANSWER_WITHIN
    while httpx.get(f"{server.url}/items?limit=1", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "no recovery after SIGCONT"
        time.sleep(0.1)


def test_terminated_pool_connections_are_503_not_500(serve: Callable[[str], Server]) -> None:
    db = Postgres()
    db.start()
    try:
        server = serve(db.url)
        wait_ready(server)
        load = Load(server.url).start()
        try:
            for _ in range(5):
                time.sleep(0.4)
                db.terminate_backends()
            time.sleep(RECOVERY)
        finally:
            load.stop()
        assert server.proc.poll() is None, server.output()
        assert not bad_answers(load.answers), (bad_answers(load.answers)[:5], _summary(load))
        _check_durable(server, load)
    finally:
        db.stop()
