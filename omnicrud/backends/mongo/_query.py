"""``core.query`` trees -> MongoDB filter documents and sort specs, with SQL semantics.

Null and missing fields match only ``isnull=true``: ``$ne``/``$nin`` would match them, so
the null is excluded explicitly. Comparison operators already skip nulls (type bracketing;
values always have the field's type). Strings compare by code point (no collation), and
MongoDB sorts null/missing before every other value, which gives "nulls first ascending,
last descending" by itself. Field names come only from the resource spec; values pass
through ``encode_value``, so no user input can become an operator.
"""

from __future__ import annotations

import re
from typing import Any

from omnicrud.core.query import And, Cond, Expr, Related, SortKey
from omnicrud.core.resources import Resource

from ._layout import encode_value, key_of

_COMPARE = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def to_filter(res: Resource, expr: Expr | None) -> dict[str, Any]:
    if expr is None:
        return {}
    if isinstance(expr, Cond):
        return _cond(res, expr)
    if isinstance(expr, Related):
        raise ValueError("a Related filter needs $lookup stages (see _relations)")
    parts = [to_filter(res, p) for p in expr.parts]
    if len(parts) == 1:
        return parts[0]
    return {"$and": parts} if isinstance(expr, And) else {"$or": parts}


def _cond(res: Resource, cond: Cond) -> dict[str, Any]:
    f = res.by_name[cond.field]
    if f.secret:
        raise ValueError(f"{f.name} is not filterable")
    key = key_of(f.name)
    op = cond.op
    if op == "isnull":
        return {key: None} if cond.value is True else {key: {"$ne": None}}
    if op == "in":
        return {key: {"$in": [encode_value(f, v) for v in cond.value if v is not None]}}
    value = encode_value(f, cond.value)
    if value is None:
        raise ValueError(f"{f.name}: null is only matched by isnull")
    if op == "eq":
        return {key: value}
    if op == "ne":
        return {key: {"$nin": [value, None]}}
    if op in _COMPARE:
        return {key: {_COMPARE[op]: value}}
    if f.kind != "str":
        raise ValueError(f"{op} applies to strings only")
    # re.escape output is literal in PCRE too: it escapes only non-alphanumerics.
    if op == "contains":
        return {key: {"$regex": re.escape(value)}}
    if op == "startswith":
        return {key: {"$regex": "^" + re.escape(value)}}
    if op == "icontains":
        return {key: {"$regex": re.escape(value), "$options": "i"}}
    raise ValueError(f"unknown operator {op!r}")


def to_sort(sort: tuple[SortKey, ...]) -> list[tuple[str, int]]:
    return [(key_of(k.field), -1 if k.descending else 1) for k in sort]
