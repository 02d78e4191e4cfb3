"""Per-resource document layout: field <-> key mapping, value encoding, row decoding.

Documents hold ``_id`` (the integer id), every user field (null when unset, never
missing), ``created_at``, ``updated_at`` and ``_version``. Rows come out in the key order
the Storage protocol promises, with values in wire form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from omnicrud.core.resources import VERSION, FieldSpec, Resource
from omnicrud.core.storage import Row
from omnicrud.core.values import format_datetime

ValueDecoder = Callable[[Any], Any] | None

_DECODERS: dict[str, ValueDecoder] = {
    "int": int,  # int64 values decode as bson.Int64, an int subclass
    "float": float,  # a double even if someone stored an integral number
    "str": None,
    "bool": None,
    "datetime": format_datetime,  # naive UTC (tz_aware=False) or aware: same text
}


def key_of(name: str) -> str:
    return "_id" if name == "id" else name


def encode_value(f: FieldSpec, value: Any) -> Any:
    """A typed scalar for ``f`` as stored; anything else is a programming error.

    This is also what keeps user input from ever becoming a query operator: only plain
    scalars of the field's kind pass.
    """
    if value is None:
        if not f.nullable and not f.server:
            raise TypeError(f"{f.name}: null is not allowed")
        return None
    kind = f.kind
    if kind == "float" and type(value) in (int, float):
        return float(value)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if kind == "str" and isinstance(value, str):
        return str(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "datetime" and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    raise TypeError(f"{f.name}: {type(value).__name__} is not a {kind} value")


def index_specs(res: Resource) -> list[tuple[str, FieldSpec, bool]]:
    """(index name, field, unique) for every index the resource's markers ask for."""
    specs: list[tuple[str, FieldSpec, bool]] = []
    for f in res.user_fields:
        if f.unique:
            specs.append((f"omnicrud_unique_{f.name}", f, True))
        # A nullable unique field's index is partial (see _schema): the planner
        # cannot use it for most filters and sorts, so it gets a plain one as well.
        # Reference fields are indexed for the delete-time check.
        if (f.unique and f.nullable) or (not f.unique and (f.indexed or f.references)):
            specs.append((f"omnicrud_index_{f.name}", f, False))
    return specs


class Layout:
    """Everything about one resource's collection that can be computed once."""

    def __init__(self, res: Resource) -> None:
        self.res = res
        self.name = res.name
        self._fields = res.by_name
        self.decoders: tuple[tuple[str, str, ValueDecoder], ...] = tuple(
            (f.name, key_of(f.name), _DECODERS[f.kind]) for f in res.fields if not f.secret
        )
        self.projection: dict[str, int] | None = {s: 0 for s in res.secrets} or None
        """For single-row reads: everything but the secrets."""
        self._list_decoders: dict[tuple[str, ...], tuple[tuple[str, str, ValueDecoder], ...]] = {}
        self.unique_by_index: dict[str, str] = {}
        """Index name -> field, for naming the field of a duplicate-key error."""

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Stored form of ``values`` (user fields and timestamps; never id or version)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            f = self._fields[name]
            if name == "id":
                raise KeyError("id is assigned by the storage")
            out[name] = encode_value(f, value)
        return out

    def row(self, doc: Mapping[str, Any]) -> Row:
        """A single-row result: readable fields in canonical order, then ``_version``."""
        row: Row = {}
        for name, key, decode in self.decoders:
            value = doc.get(key)
            row[name] = value if value is None or decode is None else decode(value)
        row[VERSION] = int(doc[VERSION])
        return row

    def list_decoders(self, columns: tuple[str, ...]) -> tuple[tuple[str, str, ValueDecoder], ...]:
        found = self._list_decoders.get(columns)
        if found is None:
            by_name = {d[0]: d for d in self.decoders}
            found = tuple(by_name[c] for c in columns)
            if len(self._list_decoders) < 256:
                self._list_decoders[columns] = found
        return found

    @staticmethod
    def list_row(
        doc: Mapping[str, Any], decoders: tuple[tuple[str, str, ValueDecoder], ...]
    ) -> Row:
        row: Row = {}
        for name, key, decode in decoders:
            value = doc.get(key)
            row[name] = value if value is None or decode is None else decode(value)
        return row

    @staticmethod
    def projection_for(columns: tuple[str, ...]) -> dict[str, int]:
        projection = {key_of(c): 1 for c in columns}
        if "_id" not in projection:
            projection["_id"] = 0
        return projection
