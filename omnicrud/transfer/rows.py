"""Raw rows as data: canonical JSON (for export and checksums), back from JSON (import),
the checks a target applies before loading, and the order resources are copied in."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from omnicrud.core.errors import ConfigError
from omnicrud.core.resources import INT64, VERSION, FieldSpec, Resource
from omnicrud.core.storage import Row
from omnicrud.core.transfer import RejectedRow
from omnicrud.core.values import parse_datetime

MOD = 2**64


JSON_OPTIONS = orjson.OPT_UTC_Z
"""Datetimes as RFC 3339 in UTC with ``Z`` (microsecond digits: rows hold milliseconds)."""


def dumps(row: Row) -> bytes:
    """A raw row's JSON: every value JSON-native, datetimes as RFC 3339 UTC."""
    return orjson.dumps(row, option=JSON_OPTIONS)


def row_digest(row: Row) -> int:
    """64 bits of the SHA-256 of the row's canonical JSON (keys sorted)."""
    data = orjson.dumps(row, option=JSON_OPTIONS | orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


class Tally:
    """Row count and an order-independent checksum: the sum of the row digests mod 2^64."""

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.count += 1
            self.total = (self.total + row_digest(row)) % MOD

    @property
    def checksum(self) -> str:
        return f"{self.total:016x}"


def from_json(res: Resource, data: Any, line: int) -> Row:
    """A raw row from its canonical JSON (an exported line's ``row``)."""
    if not isinstance(data, dict):
        raise ConfigError(f"line {line}: row is not an object")
    row: Row = {}
    for f in res.fields:
        if f.name not in data:
            raise ConfigError(f"line {line}: {res.name} row has no {f.name!r}")
        value = data[f.name]
        if f.kind == "datetime" and isinstance(value, str):
            try:
                value = parse_datetime(value)
            except ValueError:
                raise ConfigError(f"line {line}: {res.name}.{f.name} is not a datetime") from None
        elif f.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # 5 in a hand-written file is the float 5.0 once stored
        row[f.name] = value
    version = data.get(VERSION)
    if not isinstance(version, int):
        raise ConfigError(f"line {line}: {res.name} row has no {VERSION!r}")
    row[VERSION] = version
    return row


_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "str": (str,),
    "bool": (bool,),
    "datetime": (dt.datetime,),
}


def _first_bad(rows: Sequence[Row], f: FieldSpec) -> tuple[Row, str] | None:
    """The first row whose value of ``f`` the target cannot hold, and why (column-wise:
    one tight loop per field is what keeps this cheap on large batches)."""
    name = f.name
    types = _KIND_TYPES[f.kind]
    for row in rows:
        value = row[name]
        if value is None:
            if not f.nullable:
                return row, "is null"
        elif not isinstance(value, types) or (f.kind != "bool" and value.__class__ is bool):
            return row, f"is not a {f.kind}"
    max_length = None if f.secret else f.max_length
    if f.kind == "str" and max_length is not None:
        for row in rows:
            value = row[name]
            if value is not None and len(value) > max_length:
                return row, (
                    f"is {len(value)} characters long, the target holds at most {max_length}"
                )
    if f.kind == "int":
        low, high = INT64
        for row in rows:
            value = row[name]
            if value is not None and not low <= value <= high:
                return row, "does not fit in 64 bits"
    return None


def check_rows(res: Resource, rows: Sequence[Row]) -> None:
    """RejectedRow for the first value the target's declaration cannot hold (type, null,
    length, 64-bit range): every backend refuses it the same way, SQLite and MongoDB too,
    which would otherwise store what a declaration forbids."""
    found = [bad[0] for f in res.fields if (bad := _first_bad(rows, f)) is not None]
    if not found:
        return
    row = min(found, key=lambda r: int(r["id"]))
    for f in res.fields:
        bad = _first_bad([row], f)
        if bad is not None:
            raise RejectedRow(res.name, row["id"], f.name, bad[1])


def reference_order(resources: Sequence[Resource]) -> list[Resource]:
    """Referenced resources before those that reference them (declaration order otherwise)."""
    by_name = {r.name: r for r in resources}
    done: dict[str, Resource] = {}

    def visit(res: Resource, path: tuple[str, ...]) -> None:
        if res.name in done:
            return
        if res.name in path:
            cycle = " -> ".join((*path, res.name))
            raise ConfigError(f"references form a cycle ({cycle}): no order to copy them in")
        for f in res.references:
            target = by_name.get(f.references or "")
            if target is not None and target.name != res.name:
                visit(target, (*path, res.name))
        done[res.name] = res

    for res in resources:
        visit(res, ())
    return list(done.values())


def select(resources: Sequence[Resource], names: Sequence[str] | None) -> list[Resource]:
    """The resources named (all when None), in reference order; ConfigError for unknown."""
    if names is None:
        return reference_order(resources)
    known = {r.name for r in resources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown resource {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return [r for r in reference_order(resources) if r.name in names]
