"""OpenAPI for routes whose bodies the router reads itself: schemas, parameters, errors.

Request bodies and responses reference component schemas (``<Res>Create``, ``<Res>Row``,
``<Res>Patch``, ``<Res>Page`` of ``<Res>ListRow``, ``Problem``) that ``components()`` renders
from the resource models.

Declared so that generated clients work (openapi-python-client is tested): PATCH declares only
``application/merge-patch+json`` (the server also accepts ``application/json``; two media types
for one body break generators), ``If-Match``/``If-None-Match`` are header parameters, and list
rows have no required fields because ``?fields=`` may leave any of them out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from omnicrud.core.query import ops_for
from omnicrud.core.relations import Relations
from omnicrud.core.resources import Resource

from .openapi_params import filter_schema, nested_bodies, tighten_bodies, tighten_list_params
from .problems import PROBLEM_JSON, PROBLEM_SCHEMA, TITLES

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


# -- names and pieces for generated clients -------------------------------------------------


def page_name(res: Resource) -> str:
    """The list response schema: ``{"items": [<Res>ListRow], "next_cursor", "total"}``."""
    return f"{res.read_model.__name__.removesuffix('Row')}Page"


def list_row_name(res: Resource) -> str:
    """One row of a list: the row's fields, none required (``?fields=`` picks them)."""
    return f"{res.read_model.__name__.removesuffix('Row')}ListRow"


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


def _if_match() -> dict[str, Any]:
    return _header(
        "If-Match",
        "Write only if the row's ETag is one of these (or `*`): 412 otherwise, nothing "
        "changed. 428 without it when the server requires it (OMNICRUD_REQUIRE_IF_MATCH).",
    )


def _if_none_match() -> dict[str, Any]:
    return _header("If-None-Match", "304 without a body when the row's ETag is one of these.")


MERGE_PATCH = "application/merge-patch+json"
MERGE_PATCH_BODY = (
    "A JSON Merge Patch (RFC 7396): fields set to a value are replaced, null removes an "
    "optional value, absent fields stay. Sent as application/merge-patch+json; "
    "application/json is accepted too."
)


def _list_schemas(res: Resource, row: dict[str, Any]) -> dict[str, Any]:
    """``<Res>ListRow`` (``row`` without ``required``) and ``<Res>Page``."""
    list_row = {k: v for k, v in row.items() if k != "required"}
    list_row["title"] = list_row_name(res)
    page = {
        "title": page_name(res),
        "type": "object",
        "required": ["items", "next_cursor", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref(list_row_name(res))},
            "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "total": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    }
    return {list_row_name(res): list_row, page_name(res): page}


# -- end of the client-facing pieces ---------------------------------------------------------


def _errors(*slugs: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for slug in slugs:
        status, title = TITLES[slug]
        entry = out.setdefault(
            str(status),
            {"description": title, "content": {PROBLEM_JSON: {"schema": _ref("Problem")}}},
        )
        if title not in entry["description"]:
            entry["description"] += f"; {title}"
    return out


problem_responses = _errors
"""OpenAPI responses for problem slugs (``problem_responses("not-found")``)."""

COMMON = ("unavailable", "internal-error")
BODY = ("malformed-json", "payload-too-large", "unsupported-media-type", "validation-error")


class RouteDocs:
    """Keyword arguments for each route decorator of one resource."""

    def __init__(self, res: Resource, relations: Relations | None = None) -> None:
        self.res = res
        self.relations = relations
        self.read_name = res.read_model.__name__
        self.create_name = res.create_model.__name__
        self.patch_name = res.patch_model.__name__

    def _op(
        self,
        op_id: str,
        summary: str,
        responses: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "operation_id": f"{op_id}_{self.res.name}",
            "summary": summary,
            "openapi_extra": {"responses": responses, **(extra or {})},
        }

    def _row(self, description: str, etag: bool = True) -> dict[str, Any]:
        headers = {"ETag": {"schema": {"type": "string"}}} if etag else {}
        return {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": _ref(self.read_name)}},
        }

    def _body(
        self, name: str, media: Sequence[str], bulk: bool = False, description: str = ""
    ) -> dict[str, Any]:
        schema: dict[str, Any] = _ref(name)
        if bulk:
            schema = {"anyOf": [schema, {"type": "array", "items": _ref(name), "minItems": 1}]}
        body: dict[str, Any] = {"required": True, "content": {m: {"schema": schema} for m in media}}
        if description:
            body["description"] = description
        return {"requestBody": body}

    def create(self) -> dict[str, Any]:
        created = self._row("Created; a JSON array in, an array of rows out.")
        created["headers"]["Location"] = {"schema": {"type": "string"}}
        created["content"]["application/json"]["schema"] = {
            "anyOf": [_ref(self.read_name), {"type": "array", "items": _ref(self.read_name)}]
        }
        return self._op(
            "create",
            f"Create one {self.res.name} row, or many from an array",
            {"201": created, **_errors(*BODY, "unique-conflict", "reference-conflict", *COMMON)},
            self._body(self.create_name, ["application/json"], bulk=True),
        )

    def _list_params(self) -> dict[str, Any]:
        params = []
        fields = [("", f) for f in self.res.fields]
        if self.relations is not None:
            params += expand_params(self.relations, self.res)
            for rel in self.relations.of[self.res.name].values():
                if not rel.many:
                    target = self.relations.resources[rel.target]
                    fields += [(f"{rel.name}.", f) for f in target.fields]
        for prefix, f in fields:
            for op in ops_for(f):
                name = prefix + (f.name if op == "eq" else f"{f.name}__{op}")
                schema = filter_schema(f, op)
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "schema": schema,
                        "description": f"{prefix}{f.name} {op}",
                    }
                )
        return {"parameters": params}

    def list(self) -> dict[str, Any]:
        page = {
            "description": "A page of rows",
            "content": {"application/json": {"schema": _ref(page_name(self.res))}},
        }
        return self._op(
            "list",
            f"List {self.res.name}: filters, sort, fields, pages",
            {"200": page, **_errors("bad-query", "validation-error", *COMMON)},
            self._list_params(),
        )

    def head_list(self) -> dict[str, Any]:
        return self._op(
            "head_list",
            "Headers of the list",
            {"200": {"description": "OK"}, **_errors("bad-query", "validation-error", *COMMON)},
        )

    def read(self) -> dict[str, Any]:
        expand = expand_params(self.relations, self.res) if self.relations else []
        return self._op(
            "read",
            f"Read one {self.res.name} row",
            {
                "200": self._row("The row"),
                "304": {"description": "Not modified"},
                **_errors("not-found", "bad-query", *COMMON),
            },
            {"parameters": [_if_none_match(), *expand]},
        )

    def head_one(self) -> dict[str, Any]:
        return self._op(
            "head",
            "Headers of one row",
            {
                "200": {"description": "OK"},
                "304": {"description": "Not modified"},
                **_errors("not-found", *COMMON),
            },
            {"parameters": [_if_none_match()]},
        )

    def _write_errors(self) -> dict[str, Any]:
        return _errors(
            *BODY,
            "not-found",
            "unique-conflict",
            "reference-conflict",
            "precondition-failed",
            "precondition-required",
            *COMMON,
        )

    def replace(self) -> dict[str, Any]:
        return self._op(
            "replace",
            f"Replace one {self.res.name} row",
            {"200": self._row("The row as stored"), **self._write_errors()},
            {**self._body(self.create_name, ["application/json"]), "parameters": [_if_match()]},
        )

    def patch(self) -> dict[str, Any]:
        return self._op(
            "patch",
            f"JSON Merge Patch one {self.res.name} row",
            {"200": self._row("The row as stored"), **self._write_errors()},
            {
                **self._body(self.patch_name, [MERGE_PATCH], description=MERGE_PATCH_BODY),
                "parameters": [_if_match()],
            },
        )

    def delete(self) -> dict[str, Any]:
        return self._op(
            "delete",
            f"Delete one {self.res.name} row",
            {
                "204": {"description": "Deleted"},
                **_errors(
                    "not-found",
                    "reference-conflict",
                    "precondition-failed",
                    "precondition-required",
                    *COMMON,
                ),
            },
            {"parameters": [_if_match()]},
        )


def components(resources: Sequence[Resource]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for res in resources:
        models += [
            (res.read_model, "serialization"),
            (res.create_model, "validation"),
        ]
    _, schema = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = schema.get("$defs", {})
    for res in resources:
        schemas.update(_list_schemas(res, schemas[res.read_model.__name__]))
    tighten_bodies(schemas, resources)  # also renders each <Res>Patch from <Res>Create
    schemas["Problem"] = PROBLEM_SCHEMA
    return schemas


def expand_params(relations: Relations, res: Resource) -> list[dict[str, Any]]:
    """``expand``: a comma-separated list of the resource's relation paths (CONTRACT §8)."""
    paths = relations.paths(res)
    if not paths:
        return []
    one = "|".join(re.escape(path) for path in paths)
    return [
        {
            "name": "expand",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "pattern": f"^({one})(,({one}))*$"},
            "description": f"Comma-separated relation paths to embed ({', '.join(paths)}): "
            "to-one as the row (null when unset), to-many as a page {items, next_cursor}.",
        }
    ]


def embedded_properties(schemas: dict[str, Any], relations: Relations) -> None:
    """Each relation as an optional property of its resource's row schema."""
    for name, rels in relations.of.items():
        row = schemas.get(relations.resources[name].read_model.__name__)
        if row is None:
            continue
        for rel in rels.values():
            target = _ref(relations.resources[rel.target].read_model.__name__)
            if rel.many:
                items = {"type": "array", "items": target}
                cursor = {"anyOf": [{"type": "string"}, {"type": "null"}]}
                schema: dict[str, Any] = {
                    "type": "object",
                    "properties": {"items": items, "next_cursor": cursor},
                    "description": f"With expand={rel.name}: the first rows of "
                    f"/{name}/{{id}}/{rel.name}",
                }
            else:
                schema = {
                    "anyOf": [target, {"type": "null"}],
                    "description": f"With expand={rel.name}",
                }
            row.setdefault("properties", {})[rel.name] = schema


def finalize(
    spec: dict[str, Any], resources: Sequence[Resource], relations: Relations | None = None
) -> dict[str, Any]:
    """Add our component schemas; errors are problem+json only (drop FastAPI's 422 model)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(components(resources))
    if relations is not None:
        embedded_properties(schemas, relations)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    tighten_list_params(spec, resources, relations)
    nested_bodies(spec, relations)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status >= "400" and "content" in response:
                    response["content"] = {PROBLEM_JSON: {"schema": _ref("Problem")}}
    return spec
