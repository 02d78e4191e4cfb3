"""The OpenAPI document tells the truth: what it declares valid is accepted, what its patterns
exclude is refused (what schemathesis's positive and negative checks rely on)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import invalid, make_item, make_user, names, problem, uid


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def _param(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    params = document["paths"][path]["get"]["parameters"]
    found: dict[str, Any] = next(p for p in params if p["name"] == name)
    return found


def _matches(pattern: str, text: str) -> bool:
    return re.search(pattern.replace("\\u0000", "\\x00"), text) is not None


def test_merge_patch_nulls_only_nullable_fields(document: dict[str, Any]) -> None:
    props = document["components"]["schemas"]["ItemsPatch"]["properties"]
    assert "required" not in document["components"]["schemas"]["ItemsPatch"]
    assert {"type": "null"} in props["description"]["anyOf"]
    for name in ("name", "price"):
        assert "anyOf" not in props[name], props[name]
        assert "default" not in props[name], props[name]


def test_nul_is_declared_and_refused(document: dict[str, Any], client: TestClient) -> None:
    pattern = document["components"]["schemas"]["ItemsCreate"]["properties"]["name"]["pattern"]
    assert _matches(pattern, "ok")
    assert not _matches(pattern, "a\x00b")
    invalid(client.post("/items", json={"name": "a\x00b", "price": 1.0}), "body", "name")
    name_eq = _param(document, "/items", "name")["schema"]["pattern"]
    assert not _matches(name_eq, "a\x00b")
    problem(client.get("/items", params={"name": "a\x00b"}), 400, "bad-query")


@pytest.mark.parametrize("email", ["ada@example.test", "ada@localhost", "ada@x.INVALID"])
def test_special_use_email_domains_declared_and_refused(
    document: dict[str, Any], client: TestClient, email: str
) -> None:
    pattern = document["components"]["schemas"]["UsersCreate"]["properties"]["email"]["pattern"]
    assert not _matches(pattern, email)
    p = uid()
    body = {"username": p, "email": email, "password": "long-enough-secret"}
    invalid(client.post("/users", json=body), "body", "email")


def test_ordinary_email_matches_the_pattern(document: dict[str, Any]) -> None:
    pattern = document["components"]["schemas"]["UsersCreate"]["properties"]["email"]["pattern"]
    assert _matches(pattern, "ada@example.com")
    assert _matches(pattern, "ada@tests.org")


def test_integers_are_64_bit_and_integral_floats_count(
    document: dict[str, Any], client: TestClient
) -> None:
    owner = document["components"]["schemas"]["PostsCreate"]["properties"]["owner_id"]
    assert (owner["minimum"], owner["maximum"]) == (-(2**63), 2**63 - 1)
    user = make_user(client, uid())
    made = client.post("/posts", json={"title": uid(), "owner_id": float(user["id"])})
    assert made.status_code == 201, made.text
    assert made.json()["owner_id"] == user["id"]
    invalid(client.post("/posts", json={"title": uid(), "owner_id": 1.5}), "body", "owner_id")
    invalid(client.post("/posts", json={"title": uid(), "owner_id": "1"}), "body", "owner_id")


def test_list_parameter_syntax_is_declared(document: dict[str, Any], client: TestClient) -> None:
    names_ = {p["name"] for p in document["paths"]["/items"]["get"]["parameters"]}
    assert "skip" not in names_  # still accepted (an alias of offset), not declared
    sort = _param(document, "/items", "sort")["schema"]["pattern"]
    fields = _param(document, "/items", "fields")["schema"]["pattern"]
    id_in = _param(document, "/items", "id__in")["schema"]["pattern"]
    assert _matches(sort, "-price,name")
    assert _matches(sort, "")
    assert not _matches(sort, "nope")
    assert not _matches(sort, "name,")
    assert _matches(fields, "id,name")
    assert not _matches(fields, "")
    assert _matches(id_in, "1,-2,3")
    assert not _matches(id_in, "1,,2")
    assert client.get("/items", params={"fields": "id,name", "sort": ""}).status_code == 200
    problem(client.get("/items", params={"fields": ""}), 400, "bad-query")
    problem(client.get("/items", params={"id__in": "1,,2"}), 400, "bad-query")


def test_a_repeated_sort_key_is_ignored(client: TestClient) -> None:
    p = uid()
    for name in ("b", "a", "c"):
        make_item(client, f"{p}-{name}")
    assert names(client, p, sort="name,-name") == ["-a", "-b", "-c"]
