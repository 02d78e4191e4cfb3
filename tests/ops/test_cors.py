"""CONTRACT §10 CORS: OMNICRUD_CORS_ORIGINS, preflights answered, the contract's headers exposed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings

ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def cors_client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, cors_origins=f"{ORIGIN}, https://b.example")
    with TestClient(create_app(settings)) as client:
        yield client


def test_preflight_is_answered(cors_client: TestClient) -> None:
    response = cors_client.options(
        "/items/1",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "if-match, content-type",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "if-match" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["x-request-id"]


def test_simple_request_exposes_the_contract_headers(cors_client: TestClient) -> None:
    created = cors_client.post(
        "/items", json={"name": "cors", "price": 1.0}, headers={"Origin": ORIGIN}
    )
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == ORIGIN
    exposed = {
        h.strip().lower() for h in created.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "location", "omnicrud-consistency", "x-request-id"} <= exposed


def test_other_origins_get_no_cors_headers(cors_client: TestClient) -> None:
    response = cors_client.get("/items", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = cors_client.options(
        "/items",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400


def test_cors_is_off_without_origins(client: TestClient) -> None:
    response = client.get("/items", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
