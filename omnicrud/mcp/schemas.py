"""JSON Schemas of the tools' inputs, derived from the same field specs and filter operators
as the OpenAPI parameters (``omnicrud.api.openapi``), and the ``describe_resources`` answer.

A list filter is an object whose keys are the REST query names (``price``,
``price__gte``, ``name__icontains``...), each typed by its field. Values are turned back
into query-string text (``filter_params``), so the list tool goes through exactly the
parsing the REST route does: a value that does not fit is the same 400 problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from omnicrud.config import Settings
from omnicrud.core.query import MAX_IN_VALUES, MAX_OFFSET, ops_for
from omnicrud.core.resources import FieldSpec, Resource

TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
}
ROW_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
IF_MATCH: dict[str, Any] = {
    "type": "string",
    "description": "Write only if the row's etag is one of these (or *); otherwise a 412 "
    "problem and nothing changed.",
}


def filter_name(f: FieldSpec, op: str) -> str:
    return f.name if op == "eq" else f"{f.name}__{op}"


def _filter_schema(f: FieldSpec, op: str) -> dict[str, Any]:
    if op == "isnull":
        return {"type": "boolean", "description": f"{f.name} is (not) null"}
    value = dict(TYPES[f.kind])
    if op == "in":
        return {
            "anyOf": [
                {"type": "array", "items": value, "minItems": 1, "maxItems": MAX_IN_VALUES},
                {"type": "string", "description": "comma-separated values"},
            ],
            "description": f"{f.name} is one of these",
        }
    return {**value, "description": f"{f.name} {op}"}


def filters_schema(res: Resource) -> dict[str, Any]:
    properties = {
        filter_name(f, op): _filter_schema(f, op) for f in res.fields for op in ops_for(f)
    }
    return {
        "type": "object",
        "description": "Conditions AND-ed together; keys are field or field__op.",
        "properties": properties,
        "additionalProperties": False,
    }


def list_schema(
    res: Resource, settings: Settings, expansions: Sequence[str] = ()
) -> dict[str, Any]:
    """``expansions``: the resource's relation paths (``expand`` is offered when any)."""
    expand: dict[str, Any] = {}
    if expansions:
        expand["expand"] = {
            "type": "string",
            "description": "Comma-separated relations to embed in each row: "
            + ", ".join(expansions),
        }
    return {
        "type": "object",
        "properties": {
            **expand,
            "filter": filters_schema(res),
            "sort": {"type": "string", "description": "e.g. -price,name (- descending)"},
            "fields": {"type": "string", "description": "e.g. id,name: only these fields"},
            "cursor": {"type": "string", "description": "next_cursor of a previous page"},
            "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_limit,
                "default": settings.default_limit,
            },
            "count": {"type": "boolean", "description": "Count all matching rows (total)."},
        },
        "additionalProperties": False,
    }


def _model_schema(res: Resource, patch: bool) -> dict[str, Any]:
    model = res.patch_model if patch else res.create_model
    schema = model.model_json_schema(mode="validation")
    schema.pop("title", None)
    return schema


def create_schema(res: Resource) -> dict[str, Any]:
    """The tool's arguments are the row itself: the create model's schema."""
    return _model_schema(res, patch=False)


def get_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"id": ROW_ID},
        "required": ["id"],
        "additionalProperties": False,
    }


def update_schema(res: Resource) -> dict[str, Any]:
    patch = _model_schema(res, patch=True)
    patch["description"] = (
        "A JSON Merge Patch (RFC 7396): fields set to a value are replaced, null removes an "
        "optional value, absent fields stay."
    )
    return {
        "type": "object",
        "properties": {"id": ROW_ID, "patch": patch, "if_match": IF_MATCH},
        "required": ["id", "patch"],
        "additionalProperties": False,
    }


def delete_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"id": ROW_ID, "if_match": IF_MATCH},
        "required": ["id"],
        "additionalProperties": False,
    }


def describe_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": False}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def filter_params(filters: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The filter object as the (key, value) text pairs a query string would give."""
    for key, value in filters.items():
        if isinstance(value, list):
            yield key, ",".join(_text(v) for v in value)
        elif value is not None:
            yield key, _text(value)


def _field(f: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": f.kind,
        "nullable": f.nullable,
        "required": f.required,
        "read_only": f.server,
        "unique": f.unique,
        "filters": [filter_name(f, op) for op in ops_for(f)],
    }
    if f.secret:
        out["write_only"] = True
    if f.references:
        out["references"] = f.references
    return out


def describe(res: Resource, tools: list[str]) -> dict[str, Any]:
    """One resource as an agent needs it: fields, types, filter names, relations, tools."""
    relations = [
        {"name": f.name.removesuffix("_id"), "field": f.name, "to": f.references}
        for f in res.references
    ]
    return {
        "name": res.name,
        "fields": [_field(f) for f in res.fields],
        "sortable": [f.name for f in res.fields if not f.secret],
        "relations": relations,
        "tools": tools,
    }
