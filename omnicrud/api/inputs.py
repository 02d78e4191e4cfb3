"""Turning a validated-by-us JSON body into the values handed to Storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ValidationError

from omnicrud.core.resources import SERVER_FIELDS, Resource
from omnicrud.core.secrets import hash_secret

from .problems import Problem, validation_problem

Loc = tuple[str | int, ...]


def _read_only(
    body: Mapping[str, Any], loc: Loc, server_set: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    return [
        {"loc": [*loc, name], "msg": "Field is read-only", "type": "read_only"}
        for name in (*SERVER_FIELDS, *server_set)
        if name in body
    ]


def _nul_errors(values: Mapping[str, Any], loc: Loc) -> list[dict[str, Any]]:
    """U+0000 cannot be stored in PostgreSQL text: refused everywhere, for one behaviour."""
    return [
        {"loc": [*loc, name], "msg": "String should not contain U+0000", "type": "string_nul"}
        for name, value in values.items()
        if isinstance(value, str) and "\x00" in value
    ]


def validate(
    model: type[BaseModel],
    body: Any,
    loc: Loc,
    server_set: tuple[str, ...] = (),
    fill: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(values, []) or (None, errors); errors carry ``loc`` prefixed with ``loc``.
    ``server_set``: fields a body may not send besides the server fields (the owner with
    auth on); ``fill``: values the server sets, validated with the body."""
    if not isinstance(body, dict):
        return None, [{"loc": list(loc), "msg": "Input should be an object", "type": "dict_type"}]
    errors = _read_only(body, loc, server_set)
    if errors:
        body = {k: v for k, v in body.items() if k not in SERVER_FIELDS and k not in server_set}
    if fill:
        body = {**body, **fill}
    try:
        values = model.model_validate(body).model_dump()
    except ValidationError as exc:
        errors += [
            {"loc": [*loc, *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        return None, errors
    errors += _nul_errors(values, loc)
    return (None, errors) if errors else (values, [])


def fields_independent(model: type[BaseModel]) -> bool:
    """True when no validator looks at more than one field: then each field of a merge
    patch can be validated on its own, and the merged row need not be read first."""
    decorators = model.__pydantic_decorators__
    return not (decorators.model_validators or decorators.field_validators)


def check_fields(
    res: Resource, changes: Mapping[str, Any], server_set: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate only the fields a merge patch sets (see ``fields_independent``)."""
    errors = _read_only(changes, ("body",), server_set)
    model = res.create_model
    target = model.model_construct()
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in SERVER_FIELDS or name in server_set:
            continue
        if name not in model.model_fields:
            errors.append(
                {
                    "loc": ["body", name],
                    "msg": "Extra inputs are not permitted",
                    "type": "extra_forbidden",
                }
            )
            continue
        try:
            model.__pydantic_validator__.validate_assignment(target, name, value)
        except ValidationError as exc:
            errors += [
                {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            continue
        values[name] = target.__dict__[name]
    errors += _nul_errors(values, ("body",))
    if errors:
        raise validation_problem(errors)
    return values


def check(
    model: type[BaseModel],
    body: Any,
    loc: Loc = ("body",),
    server_set: tuple[str, ...] = (),
    fill: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    values, errors = validate(model, body, loc, server_set, fill)
    if values is None:
        raise validation_problem(errors)
    return values


async def hash_secrets(res: Resource, rows: list[dict[str, Any]]) -> None:
    """Replace secrets by their hash, off the event loop (Argon2 is slow on purpose)."""
    if not res.secrets:
        return

    def work() -> None:
        for row in rows:
            for name in res.secrets:
                if row.get(name) is not None:
                    row[name] = hash_secret(row[name])

    await anyio.to_thread.run_sync(work)


def check_bulk(rows: list[Any], max_bulk: int) -> None:
    """A bulk create's list: not empty (422), at most ``max_bulk`` rows (413)."""
    if not rows:
        raise validation_problem(
            [{"loc": ["body"], "msg": "List should not be empty", "type": "too_short"}]
        )
    if len(rows) > max_bulk:
        raise Problem("payload-too-large", f"at most {max_bulk} rows per request")


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_problem(
            [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]
        )
    return body


__all__ = ["Problem", "check", "check_bulk", "hash_secrets", "require_object", "validate"]
