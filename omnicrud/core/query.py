"""The list query as plain data, parsed from query parameters, plus keyset cursors.

Backends translate ``Cond``/``And``/``Or`` trees with SQL NULL semantics: a null field
matches only ``isnull`` — never ``ne``, ``gt``, ``in``, ``contains``...
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from .errors import BadQuery
from .keys import DeploymentKeys
from .resources import INT64, FieldSpec, Kind, Resource
from .values import parse_datetime

Op = Literal[
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "icontains", "startswith", "isnull"
]

_ORDERED: tuple[Op, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in")
OPS_BY_KIND: dict[Kind, tuple[Op, ...]] = {
    "int": _ORDERED,
    "float": _ORDERED,
    "datetime": _ORDERED,
    "str": (*_ORDERED, "contains", "icontains", "startswith"),
    "bool": ("eq", "ne"),
}
RESERVED_PARAMS = frozenset(
    {"limit", "offset", "skip", "cursor", "sort", "fields", "count", "expand"}
)
MAX_IN_VALUES = 1000
MAX_FILTERS = 100
MAX_PATTERN_CHARS = 500
"""Longest ``contains``/``icontains``/``startswith`` value: escaped, it stays within every
backend's pattern limits (MongoDB caps regular expressions), so the answer is the same
everywhere."""
"""Most filter conditions one request may combine (each is one node of the expression tree)."""
MAX_OFFSET = 2**31 - 1
"""Largest ``offset``/``skip``: every backend's integer type holds it (PostgreSQL binds int4)."""


@dataclass(frozen=True, slots=True)
class Cond:
    """``field op value``; ``value`` has the field's Python type (tuple for ``in``,
    bool for ``isnull``)."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Related:
    """Rows whose ``field`` references a row of resource ``target`` matching ``where``.

    A semi-join the database runs (SQL: ``field IN (SELECT id FROM target WHERE ...)``,
    MongoDB: ``$lookup``); a null ``field`` never matches.
    """

    field: str
    target: str
    where: Expr


Expr = Cond | And | Or | Related


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a backend runs. ``columns`` are the keys each returned row must have, in order."""

    where: Expr | None
    sort: tuple[SortKey, ...]
    columns: tuple[str, ...]
    limit: int
    offset: int = 0

    def __post_init__(self) -> None:
        check_offset(self.offset, "offset")

    def filter_shape(self) -> Any:
        """A hashable key for 'same statement but other values' (statement caches)."""
        return (_shape(self.where), self.sort, self.columns, self.offset > 0)


def _shape(expr: Expr | None) -> Any:
    if expr is None:
        return None
    if isinstance(expr, Cond):
        n = len(expr.value) if expr.op == "in" else (expr.value if expr.op == "isnull" else 0)
        return (expr.field, expr.op, n)
    if isinstance(expr, Related):
        return ("Related", expr.field, expr.target, _shape(expr.where))
    return (type(expr).__name__, tuple(_shape(p) for p in expr.parts))


def check_offset(value: int, param: str) -> int:
    """``value`` when it is a usable offset; BadQuery (400) naming ``param`` otherwise."""
    if not 0 <= value <= MAX_OFFSET:
        raise BadQuery(f"{param}: must be between 0 and {MAX_OFFSET}", param)
    return value


def ops_for(f: FieldSpec) -> tuple[Op, ...]:
    """The filter operators a field accepts (``isnull`` only where null can occur)."""
    if f.secret:
        return ()
    ops = OPS_BY_KIND[f.kind]
    return (*ops, "isnull") if f.nullable else ops


def parse_value(f: FieldSpec, text: str, param: str) -> Any:
    """A query-string value parsed by the field's type; BadQuery (400) when it does not fit."""
    try:
        if f.kind == "int":
            if not re.fullmatch(r"-?[0-9]{1,19}", text) or not INT64[0] <= int(text) <= INT64[1]:
                raise ValueError
            return int(text)
        if f.kind == "float":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        if f.kind == "bool":
            return {"true": True, "false": False}[text]
        if f.kind == "datetime":
            return parse_datetime(text)
        if "\x00" in text:
            raise ValueError
    except (ValueError, KeyError, OverflowError):
        expected = {
            "int": "an integer",
            "float": "a finite number",
            "bool": "true or false",
            "datetime": "an RFC 3339 timestamp with a timezone offset",
            "str": "a string without U+0000",
        }[f.kind]
        raise BadQuery(f"{param}: {text!r} is not {expected}", param) from None
    return text


def _field(res: Resource, name: str, param: str, what: str) -> FieldSpec:
    f = res.by_name.get(name)
    if f is None or f.secret:
        raise BadQuery(f"unknown field {name!r} in {what}", param)
    return f


def parse_filters(res: Resource, params: Iterable[tuple[str, str]]) -> list[Cond]:
    conds: list[Cond] = []
    for key, text in params:
        if key in RESERVED_PARAMS:
            continue
        name, sep, op_name = key.partition("__")
        f = _field(res, name, key, "filter")
        if sep and not op_name:
            raise BadQuery(f"filter {key!r}: the operator after '__' is missing", key)
        if len(conds) == MAX_FILTERS:
            raise BadQuery(f"at most {MAX_FILTERS} filter conditions per request", key)
        op = op_name or "eq"
        if op not in ops_for(f):
            allowed = ", ".join(ops_for(f))
            raise BadQuery(f"filter {key!r}: operator {op!r} does not apply (use {allowed})", key)
        if op == "isnull":
            if text not in ("true", "false"):
                raise BadQuery(f"{key}: {text!r} is not true or false", key)
            conds.append(Cond(name, "isnull", text == "true"))
        elif op == "in":
            parts = text.split(",")
            if len(parts) > MAX_IN_VALUES:
                raise BadQuery(f"{key}: at most {MAX_IN_VALUES} values", key)
            values = tuple(dict.fromkeys(parse_value(f, p, key) for p in parts))
            conds.append(Cond(name, "in", values))
        else:
            if op in ("contains", "icontains", "startswith") and len(text) > MAX_PATTERN_CHARS:
                raise BadQuery(f"{key}: at most {MAX_PATTERN_CHARS} characters", key)
            conds.append(Cond(name, op, parse_value(f, text, key)))
    return conds


def parse_sort(res: Resource, text: str | None) -> tuple[SortKey, ...]:
    """``-price,name`` -> keys, always ending with ``id`` (the total-order tie-breaker)."""
    keys: list[SortKey] = []
    if text:
        for part in text.split(","):
            name = part[1:] if part.startswith("-") else part
            _field(res, name, "sort", "sort")
            if any(k.field == name for k in keys):
                continue  # a later key on the same field cannot change the order (as in SQL)
            keys.append(SortKey(name, part.startswith("-")))
            if name == "id":
                break
    if not keys or keys[-1].field != "id":
        keys.append(SortKey("id"))
    return tuple(keys)


def parse_fields(res: Resource, text: str | None) -> tuple[str, ...]:
    if text is None:
        return res.readable
    wanted = {name for name in text.split(",")}
    for name in wanted:
        _field(res, name, "fields", "fields")
    return tuple(n for n in res.readable if n in wanted)


def sort_signature(sort: Sequence[SortKey]) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in sort)


def seek_after(res: Resource, sort: Sequence[SortKey], last: Sequence[Any]) -> Expr:
    """Rows strictly after ``last`` in ``sort`` order (nulls first ascending, last descending)."""
    branches: list[Expr] = []
    equal: list[Expr] = []
    for key, value in zip(sort, last, strict=True):
        nullable = res.by_name[key.field].nullable
        after: Expr | None
        if value is None:
            after = None if key.descending else Cond(key.field, "isnull", False)
        elif key.descending:
            lower = Cond(key.field, "lt", value)
            after = Or((lower, Cond(key.field, "isnull", True))) if nullable else lower
        else:
            after = Cond(key.field, "gt", value)
        if after is not None:
            branches.append(And((*equal, after)) if equal else after)
        equal.append(
            Cond(key.field, "isnull", True) if value is None else Cond(key.field, "eq", value)
        )
    return branches[0] if len(branches) == 1 else Or(tuple(branches))


class CursorCodec:
    """Opaque, tamper-evident keyset cursors: the last row's sort values, signed.

    The key is shared by every process serving one database (a setting), so a cursor made
    by one process is good on another.
    """

    def __init__(self, secret: str | DeploymentKeys) -> None:
        self._keys = secret if isinstance(secret, DeploymentKeys) else DeploymentKeys(secret)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._keys.key("cursor"), payload, hashlib.sha256).digest()[:16]

    def encode(self, res: Resource, sort: Sequence[SortKey], row: Mapping[str, Any]) -> str:
        body = orjson.dumps([res.name, sort_signature(sort), [row[k.field] for k in sort]])
        token = body + self._sign(body)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode(self, res: Resource, sort: Sequence[SortKey], token: str) -> Expr:
        """The seek predicate a cursor stands for; BadQuery when tampered or made elsewhere."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body, tag = raw[:-16], raw[-16:]
            if len(raw) <= 16 or not hmac.compare_digest(tag, self._sign(body)):
                raise ValueError
            payload = orjson.loads(body)
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise BadQuery("cursor is not valid", "cursor") from None
        if not isinstance(payload, list) or len(payload) != 3:
            raise BadQuery("cursor is not valid", "cursor")
        name, signature, values = payload
        if name != res.name or signature != sort_signature(sort):
            raise BadQuery("cursor was made for another resource or sort", "cursor")
        if not isinstance(values, list) or len(values) != len(sort):
            raise BadQuery("cursor is not valid", "cursor")
        last = [_cursor_value(res.by_name[k.field], v) for k, v in zip(sort, values, strict=True)]
        return seek_after(res, sort, last)


def _fits(f: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return f.kind == "bool"
    if isinstance(value, int) and f.kind in ("int", "float"):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, float):
        return f.kind == "float" and math.isfinite(value)
    return isinstance(value, str) and f.kind == "str" and "\x00" not in value


def _cursor_value(f: FieldSpec, value: Any) -> Any:
    """A sort value read back from a cursor, checked against the field's type: a signed
    cursor can still carry anything if the secret leaked, and a value of the wrong type
    must be a bad query, never a database error."""
    if value is None and f.nullable:
        return None
    if f.kind == "datetime" and isinstance(value, str):
        return parse_value(f, value, "cursor")
    if value is not None and _fits(f, value):
        return value
    raise BadQuery("cursor is not valid", "cursor")
