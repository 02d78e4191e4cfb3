"""What the server accepts, said precisely enough for property-based testers (schemathesis).

Every value the document calls valid must be accepted, and what it calls invalid refused:

- strings (in bodies and queries) never hold U+0000 (PostgreSQL text cannot store it);
- ``format: email`` excludes the special-use domains email-validator refuses (``.test``…);
- integers fit in 64 bits;
- a merge patch may set to null only the fields that are nullable;
- list-valued query parameters (``__in``, ``sort``, ``fields``, ``cursor``) are strings with
  their syntax as a ``pattern``: comma-separated, as the server parses them (generated
  clients keep a plain ``str``).

``skip`` (an alias of ``offset``, still accepted) is left out of the document: both together
is a 400 that OpenAPI cannot express.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from omnicrud.core.query import MAX_IN_VALUES
from omnicrud.core.relations import Relations
from omnicrud.core.resources import INT64, FieldSpec, Resource

NO_NUL = "^[^\\u0000]*$"
"""A string without U+0000 (an ECMA-262 pattern, as JSON Schema uses)."""

_INT = "-?[0-9]{1,18}"  # every 18-digit integer fits in 64 bits
_FLOAT = "-?[0-9]{1,15}(\\.[0-9]{1,15})?([eE][-+]?[0-9]{1,2})?"  # finite, whatever the digits
_DATETIME = (
    "(1[0-9]|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?"
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
_IN_ITEM = {
    "int": _INT,
    "float": _FLOAT,
    "bool": "(true|false)",
    "datetime": _DATETIME,
    "str": "[^\\u0000,]*",
}
_CURSOR = "^[A-Za-z0-9_-]+$"
"""``next_cursor`` of a previous page: URL-safe base64 without padding."""


def _any_case(word: str) -> str:
    """ECMA-262 patterns have no inline ``(?i)``: ``test`` -> ``[tT][eE][sS][tT]``."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


def email_pattern() -> str:
    """Emails as email-validator accepts them: no special-use domain, no U+0000."""
    names = "|".join(_any_case(n) for n in SPECIAL_USE_DOMAIN_NAMES)
    return f"^(?![^@]*@(.*\\.)?({names})\\.?$)[^\\u0000]*$"


def _list_of(item: str) -> str:
    # The server's limit (MAX_IN_VALUES) is in the description, not in the pattern: a bounded
    # repeat makes generators build lists of a thousand values, slowly, for little.
    return f"^{item}(,{item})*$"


def filter_schema(f: FieldSpec, op: str) -> dict[str, Any]:
    """The schema of ``?name__op=`` for a field of this kind."""
    if op == "isnull":
        return {"type": "boolean"}
    if op == "in":
        return {
            "type": "string",
            "pattern": _list_of(_IN_ITEM[f.kind]),
            "description": f"comma-separated values (at most {MAX_IN_VALUES})",
        }
    if f.kind == "int":
        return {"type": "integer", "format": "int64", "minimum": INT64[0], "maximum": INT64[1]}
    if f.kind == "float":
        return {"type": "number"}
    if f.kind == "bool":
        return {"type": "boolean"}
    if f.kind == "datetime":
        return {"type": "string", "format": "date-time"}
    return {"type": "string", "pattern": NO_NUL}


def _names(names: Sequence[str], minus: bool) -> str:
    """``sort`` may be empty (the default order); ``fields`` names at least one field."""
    one = ("-?" if minus else "") + "(" + "|".join(names) + ")"
    return f"^({one}(,{one})*)?$" if minus else f"^{one}(,{one})*$"


def _page_params(res: Resource) -> dict[str, dict[str, Any]]:
    return {
        "sort": {
            "type": "string",
            "pattern": _names(res.readable, minus=True),
            "description": "Comma-separated fields, `-` for descending, e.g. `-price,name`.",
        },
        "fields": {
            "type": "string",
            "pattern": _names(res.readable, minus=False),
            "description": "Comma-separated fields to return, e.g. `id,name`.",
        },
        "cursor": {
            "type": "string",
            "pattern": _CURSOR,
            "description": "`next_cursor` of a previous page (not with `offset`).",
        },
    }


def _list_operations(spec: dict[str, Any], res: Resource) -> Iterator[dict[str, Any]]:
    ids = {f"list_{res.name}", f"head_list_{res.name}"}
    for operation in spec.get("paths", {}).get(f"/{res.name}", {}).values():
        if operation.get("operationId") in ids:
            yield operation


def _nested_list_operations(
    spec: dict[str, Any], relations: Relations | None
) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for rel in relations.to_many() if relations is not None else ():
        child = relations.resources[rel.target] if relations is not None else None
        ids = {f"list_{rel.source}_{rel.name}", f"head_{rel.source}_{rel.name}"}
        path = spec.get("paths", {}).get(f"/{rel.source}/{{id}}/{rel.name}", {})
        for operation in path.values():
            if operation.get("operationId") in ids and child is not None:
                yield child, operation


def tighten_list_params(
    spec: dict[str, Any], resources: Sequence[Resource], relations: Relations | None = None
) -> None:
    """Declare the syntax of ``sort``, ``fields`` and ``cursor``; leave out ``skip`` (on the
    resources' own lists and on the nested ones)."""
    pairs = [(res, op) for res in resources for op in _list_operations(spec, res)]
    for res, operation in [*pairs, *_nested_list_operations(spec, relations)]:
        precise = _page_params(res)
        if operation:
            params = [p for p in operation.get("parameters", []) if p.get("name") != "skip"]
            for param in params:
                if param.get("in") == "query" and param.get("name") in precise:
                    schema = precise[param["name"]]
                    param["schema"] = {k: v for k, v in schema.items() if k != "description"}
                    param["description"] = schema["description"]
            operation["parameters"] = params


# -- bodies -----------------------------------------------------------------------------------


def _tighten(schema: Any) -> None:
    """Add the U+0000, email and 64-bit rules to every string and integer in ``schema``."""
    if isinstance(schema, list):
        for item in schema:
            _tighten(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        schema["pattern"] = email_pattern() if schema.get("format") == "email" else NO_NUL
    if schema.get("type") == "integer":
        schema.setdefault("minimum", INT64[0])
        schema.setdefault("maximum", INT64[1])
    for key in ("anyOf", "oneOf", "allOf", "items"):
        if key in schema:
            _tighten(schema[key])
    for value in schema.get("properties", {}).values():
        _tighten(value)


def _patch_of(create: dict[str, Any], title: str) -> dict[str, Any]:
    """A merge patch: the create schema with nothing required and no defaults (an absent
    field stays as it is); null only where the field itself is nullable."""
    patch = copy.deepcopy(create)
    patch.pop("required", None)
    patch["title"] = title
    for prop in patch.get("properties", {}).values():
        prop.pop("default", None)
    return patch


def nested_bodies(spec: dict[str, Any], relations: Relations | None) -> None:
    """A nested create takes its reference from the path: its body schema is the child's
    create schema without that field (a body naming another parent is 422)."""
    schemas = spec.get("components", {}).get("schemas", {})
    for rel in relations.to_many() if relations is not None else ():
        child = relations.resources[rel.target]  # type: ignore[union-attr]
        name = child.create_model.__name__
        operation = spec.get("paths", {}).get(f"/{rel.source}/{{id}}/{rel.name}", {}).get("post")
        if operation is None or name not in schemas:
            continue
        under = f"{name}Under{rel.source.title()}"
        body = copy.deepcopy(schemas[name])
        body["title"] = under
        body.get("properties", {}).pop(rel.field, None)
        if rel.field in body.get("required", []):
            body["required"] = [r for r in body["required"] if r != rel.field]
        schemas[under] = body
        text = json.dumps(operation.get("requestBody", {}))
        text = text.replace(f'"#/components/schemas/{name}"', f'"#/components/schemas/{under}"')
        operation["requestBody"] = json.loads(text)


def tighten_bodies(schemas: dict[str, Any], resources: Sequence[Resource]) -> None:
    for res in resources:
        create = schemas[res.create_model.__name__]
        _tighten(create)
        schemas[res.patch_model.__name__] = _patch_of(create, res.patch_model.__name__)
