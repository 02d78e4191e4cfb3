"""CONTRACT §5: a database that is unreachable or times out is 503 with Retry-After, never a
500 and never a hang; the service recovers by itself once the database is back."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from tests.conformance.support import problem, uid
from tests.outage import outage


def test_outage_is_503_with_retry_after_then_recovers(settings: Settings) -> None:
    with outage(settings.database_url) as (url, cut, mend):
        fast = settings.model_copy(
            update={
                "database_url": url,
                "connect_timeout": 1.0,
                "query_timeout": 1.0,
                "pool_timeout": 1.0,
            }
        )
        with TestClient(create_app(fast), raise_server_exceptions=False) as client:
            body = {"name": uid(), "price": 1}
            assert client.post("/items", json=body).status_code == 201
            cut()
            try:
                started = time.monotonic()
                response = client.post("/items", json={"name": uid(), "price": 2})
                assert time.monotonic() - started < 8
                problem(response, 503, "unavailable")
                assert response.headers["retry-after"].isdigit()
            finally:
                mend()
            deadline = time.monotonic() + 15
            while (response := client.post("/items", json=body)).status_code != 201:
                assert response.status_code == 503, response.text
                assert time.monotonic() < deadline, "no recovery after the outage"
                time.sleep(0.2)


def test_starts_while_the_database_is_down_then_serves(settings: Settings) -> None:
    """CONTRACT §6: up while the database is down (/livez 200, the rest 503 with
    Retry-After, /readyz within 2 s), serving by itself once the database answers."""
    with outage(settings.database_url) as (url, cut, mend):
        fast = settings.model_copy(
            update={
                "database_url": url,
                "connect_timeout": 0.5,
                "query_timeout": 1.0,
                "pool_timeout": 0.5,
            }
        )
        cut()
        mended: list[bool] = []

        def mend_once() -> None:
            if not mended:
                mended.append(True)
                mend()

        try:
            with TestClient(create_app(fast), raise_server_exceptions=False) as client:
                assert client.get("/livez").status_code == 200
                started = time.monotonic()
                problem(client.get("/readyz"), 503, "unavailable")
                assert time.monotonic() - started < 2
                response = client.post("/items", json={"name": uid(), "price": 1})
                problem(response, 503, "unavailable")
                assert response.headers["retry-after"].isdigit()
                mend_once()
                deadline = time.monotonic() + 15
                while client.get("/readyz").status_code != 200:
                    assert time.monotonic() < deadline, "not serving after the database came back"
                    time.sleep(0.1)
                assert client.post("/items", json={"name": uid(), "price": 1}).status_code == 201
        finally:
            mend_once()
