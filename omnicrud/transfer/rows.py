"""Raw rows as data: canonical JSON (for export and checksums), back from JSON (import),
the checks a target applies before loading, and the order resources are copied in."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from omnicrud.core.errors import ConfigError
from omnicrud.core.resources import INT64, VERSION, Resource
from omnicrud.core.storage import Row
from omnicrud.core.transfer import RejectedRow
from omnicrud.core.values import format_datetime, parse_datetime

MOD = 2**64


def canonical(row: Row) -> Row:
    """JSON-native values: datetimes in the API's wire form, the rest as they are."""
    return {k: format_datetime(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}


def row_digest(row: Row) -> int:
    """64 bits of the SHA-256 of the row's canonical JSON (keys sorted)."""
    data = orjson.dumps(canonical(row), option=orjson.OPT_SORT_KEYS)
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


def _of_kind(value: Any, types: tuple[type, ...], kind: str) -> bool:
    return isinstance(value, types) and (kind == "bool" or not isinstance(value, bool))


def check_rows(res: Resource, rows: Sequence[Row]) -> None:
    """RejectedRow for the first value the target's declaration cannot hold (type, null,
    length, 64-bit range): every backend refuses it the same way, SQLite and MongoDB too,
    which would otherwise store what a declaration forbids."""
    specs = [
        (f.name, f.nullable, _KIND_TYPES[f.kind], f.kind, None if f.secret else f.max_length)
        for f in res.fields
    ]
    low, high = INT64
    for row in rows:
        for name, nullable, types, kind, max_length in specs:
            value: Any = row.get(name)
            if value is None:
                if not nullable:
                    raise RejectedRow(res.name, row["id"], name, "is null")
                continue
            if not _of_kind(value, types, kind):
                raise RejectedRow(res.name, row["id"], name, f"is not a {kind}")
            if max_length is not None and len(value) > max_length:
                raise RejectedRow(
                    res.name,
                    row["id"],
                    name,
                    f"is {len(value)} characters long, the target holds at most {max_length}",
                )
            if kind == "int" and not low <= value <= high:
                raise RejectedRow(res.name, row["id"], name, "does not fit in 64 bits")


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
