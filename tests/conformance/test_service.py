"""Service routes and the OpenAPI description (CONTRACT §3, §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import problem

OPS_ORDERED = ["", "__ne", "__gt", "__gte", "__lt", "__lte", "__in"]
OPS_TEXT = [*OPS_ORDERED, "__contains", "__icontains", "__startswith"]


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def objects(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a schema can stand for (through $ref, anyOf/oneOf/allOf, items)."""
    schema = resolve(spec, schema)
    found = [schema] if "properties" in schema else []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += objects(spec, sub)
    if "items" in schema and isinstance(schema["items"], dict):
        found += objects(spec, schema["items"])
    return found


def properties(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    return {name for obj in objects(spec, schema) for name in obj["properties"]}


def the_object(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    found = objects(spec, schema)
    assert found, schema
    assert all(f == found[0] for f in found), f"several object schemas: {found}"
    return found[0]


def one_path(spec: dict[str, Any], resource: str) -> str:
    # The row's path, not the nested routes below it (/users/{id}/posts).
    paths = [p for p in spec["paths"] if p.startswith(f"/{resource}/{{") and p.count("/") == 2]
    assert len(paths) == 1, paths
    path: str = paths[0]
    return path


def request_schema(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["requestBody"]["content"]
    media = "application/json" if "application/json" in content else next(iter(content))
    schema: dict[str, Any] = content[media]["schema"]
    return schema


def response_schemas(spec: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    schemas = []
    for path in (f"/{resource}", one_path(spec, resource)):
        for operation in spec["paths"][path].values():
            for response in operation["responses"].values():
                for media in response.get("content", {}).values():
                    if "schema" in media:
                        schemas.append(media["schema"])
    return schemas


def test_livez(client: TestClient) -> None:
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_readyz(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_docs(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "openapi.json" in response.text


def test_resources_listed(spec: dict[str, Any]) -> None:
    for resource in ("items", "users", "posts"):
        assert set(spec["paths"][f"/{resource}"]) >= {"get", "post"}
        item_path = one_path(spec, resource)
        assert set(spec["paths"][item_path]) >= {"get", "put", "patch", "delete"}
    assert "/livez" in spec["paths"]
    assert "/readyz" in spec["paths"]


def test_create_read_patch_schemas_distinct(spec: dict[str, Any]) -> None:
    item_path = one_path(spec, "items")
    create = the_object(spec, request_schema(spec["paths"]["/items"]["post"]))
    replace = the_object(spec, request_schema(spec["paths"][item_path]["put"]))
    patch = the_object(spec, request_schema(spec["paths"][item_path]["patch"]))
    read = the_object(
        spec,
        spec["paths"][item_path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    assert set(create["properties"]) == {"name", "description", "price"}
    assert set(create["required"]) == {"name", "price"}
    assert set(replace["properties"]) == {"name", "description", "price"}
    assert set(replace["required"]) == {"name", "price"}
    assert set(patch["properties"]) == {"name", "description", "price"}
    assert not patch.get("required")
    assert list(read["properties"]) == [
        "id",
        "name",
        "description",
        "price",
        "created_at",
        "updated_at",
    ]
    assert create != patch
    assert create != read


def test_password_only_in_input_schemas(spec: dict[str, Any]) -> None:
    user_path = one_path(spec, "users")
    assert "password" in properties(spec, request_schema(spec["paths"]["/users"]["post"]))
    assert "password" in properties(spec, request_schema(spec["paths"][user_path]["put"]))
    outputs = response_schemas(spec, "users")
    assert outputs
    for schema in outputs:
        assert "password" not in properties(spec, schema), schema
    listed = [p["name"] for p in spec["paths"]["/users"]["get"]["parameters"]]
    assert not [name for name in listed if name.startswith("password")]


def test_bulk_create_declared(spec: dict[str, Any]) -> None:
    schema = resolve(spec, request_schema(spec["paths"]["/items"]["post"]))
    kinds = [resolve(spec, s).get("type") for s in schema.get("anyOf", schema.get("oneOf", []))]
    assert "array" in kinds, schema


def test_every_filter_op_is_a_parameter(spec: dict[str, Any]) -> None:
    declared = {p["name"] for p in spec["paths"]["/items"]["get"]["parameters"]}
    expected = {"limit", "offset", "cursor", "sort", "fields", "count"}  # skip: an alias
    expected |= {f"id{op}" for op in OPS_ORDERED}
    expected |= {f"name{op}" for op in OPS_TEXT}
    expected |= {f"description{op}" for op in [*OPS_TEXT, "__isnull"]}
    expected |= {f"price{op}" for op in OPS_ORDERED}
    expected |= {f"{field}{op}" for field in ("created_at", "updated_at") for op in OPS_ORDERED}
    assert expected <= declared, sorted(expected - declared)
    # Operators that do not fit a field's type are not offered.
    assert not {"price__contains", "name__isnull", "price__isnull", "id__startswith"} & declared
    users = {p["name"] for p in spec["paths"]["/users"]["get"]["parameters"]}
    assert {"is_active", "is_active__ne", "full_name__isnull", "email__icontains"} <= users
    assert not {"is_active__gt", "is_active__contains"} & users


def test_error_responses_declared(spec: dict[str, Any]) -> None:
    def statuses(path: str, method: str) -> set[str]:
        responses = spec["paths"][path][method]["responses"]
        for code, response in responses.items():
            if code.startswith("4"):
                assert "application/problem+json" in response.get("content", {}), (path, code)
        return set(responses)

    item = one_path(spec, "items")
    assert {"400", "422"} <= statuses("/items", "get")
    assert {"400", "413", "415", "422"} <= statuses("/items", "post")
    assert {"404"} <= statuses(item, "get")
    assert {"404", "412", "415", "422"} <= statuses(item, "put")
    assert {"404", "412", "415", "422"} <= statuses(item, "patch")
    assert {"404", "412"} <= statuses(item, "delete")
    assert {"409"} <= statuses("/users", "post")
    assert {"409"} <= statuses(one_path(spec, "users"), "delete")


def test_unknown_route_is_problem(client: TestClient) -> None:
    problem(client.get("/nope"), 404, "not-found")
