"""A plain-Python evaluation of CONTRACT §4 over rows as the API returns them.

Deliberately independent of ``omnicrud.core.query``: filters are ``(field, op, text)`` triples
exactly as sent in the query string, parsed here by the field's kind.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omnicrud.core.resources import Resource

Row = dict[str, Any]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    text: str

    @property
    def param(self) -> str:
        return self.field if self.op == "eq" else f"{self.field}__{self.op}"


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.field


def parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None
    return value


def _parse(kind: str, text: str) -> Any:
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "datetime":
        return parse_datetime(text)
    return text


class Reference:
    def __init__(self, res: Resource) -> None:
        self.res = res

    def value(self, row: Row, field: str) -> Any:
        """The row's value in a form Python compares the way the contract orders it."""
        value = row[field]
        if value is not None and self.res.by_name[field].kind == "datetime":
            return parse_datetime(value)
        return value

    def matches(self, row: Row, f: Filter) -> bool:
        value = self.value(row, f.field)
        kind = self.res.by_name[f.field].kind
        if f.op == "isnull":
            return (value is None) == (f.text == "true")
        if value is None:  # SQL NULL semantics: null matches nothing else
            return False
        if f.op == "contains":
            return f.text in value
        if f.op == "startswith":
            return bool(value.startswith(f.text))
        if f.op == "icontains":
            return ascii_lower(f.text) in ascii_lower(value)
        if f.op == "in":
            return value in [_parse(kind, part) for part in f.text.split(",")]
        other = _parse(kind, f.text)
        return bool(
            {
                "eq": value == other,
                "ne": value != other,
                "gt": value > other,
                "gte": value >= other,
                "lt": value < other,
                "lte": value <= other,
            }[f.op]
        )

    def compare(self, a: Row, b: Row, sort: Sequence[Sort]) -> int:
        """Nulls first ascending, last descending; strings by code point; id breaks ties."""
        for key in (*sort, Sort("id", False)):
            x, y = self.value(a, key.field), self.value(b, key.field)
            if x == y:
                continue
            if x is None:
                result = -1
            elif y is None:
                result = 1
            else:
                result = -1 if x < y else 1
            return -result if key.descending else result
        return 0

    def order(self, rows: Sequence[Row], sort: Sequence[Sort]) -> list[Row]:
        def cmp(a: Row, b: Row) -> int:
            return self.compare(a, b, sort)

        return sorted(rows, key=functools.cmp_to_key(cmp))

    def select(
        self, rows: Sequence[Row], filters: Sequence[Filter], sort: Sequence[Sort]
    ) -> list[Row]:
        kept = [r for r in rows if all(self.matches(r, f) for f in filters)]
        return self.order(kept, sort)

    def project(self, row: Row, fields: Sequence[str] | None) -> Row:
        names = (
            self.res.readable if fields is None else [n for n in self.res.readable if n in fields]
        )
        return {n: row[n] for n in names}
