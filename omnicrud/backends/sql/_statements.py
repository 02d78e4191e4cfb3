"""SQL built with SQLAlchemy Core, compiled once per statement shape, run as plain strings.

A ``Plan`` is the compiled SQL text plus the order in which the positional parameters are
taken from the argument list that the run-time code collects (``where_args``). Building and
collecting walk an ``Expr`` tree in the same order, so one compiled plan serves every query
of the same shape (``ListQuery.filter_shape()``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from omnicrud.core.query import And, Cond, Expr, ListQuery, Or, Related
from omnicrud.core.resources import VERSION, FieldSpec, Resource
from omnicrud.core.values import UTC, format_datetime

from .schema import build_metadata

Convert = Callable[[Any], Any]
Decoder = Callable[[Sequence[Any]], dict[str, Any]]

_LIKE_ESCAPE = "!"  # not "\": MySQL also treats backslash as a string-literal escape
_CACHE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    order: tuple[int, ...]

    def params(self, args: Sequence[Any]) -> list[Any]:
        return [args[i] for i in self.order]


def like_escape(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def successor(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (code-point order);
    None when there is none (empty prefix, or only U+10FFFF)."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    code = ord(stem[-1]) + 1
    return stem[:-1] + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)


def _sqlite_datetime(value: dt.datetime) -> str:
    return format_datetime(value)


def _mysql_datetime(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(tzinfo=None)  # DATETIME(3) holds naive UTC


def _to_bool(value: Any) -> bool:
    return bool(value)


def _implied_bound(expr: Or, parts: list[Any]) -> Any:
    """``f > v OR (f = v AND ...) OR ...`` implies ``f >= v``: said explicitly, it lets
    PostgreSQL range-scan an index on ``(f, id)`` for keyset pages (``seek_after``'s shape)
    instead of filtering from the index's start. Same bind parameter, no new argument."""
    first = expr.parts[0]
    if not isinstance(first, Cond) or first.op not in ("gt", "lt") or len(expr.parts) < 2:
        return None
    for part in expr.parts[1:]:
        lead = part.parts[0] if isinstance(part, And) else None
        if not (isinstance(lead, Cond) and lead.field == first.field and lead.op == "eq"):
            return None
        if lead.value != first.value:
            return None
    column, bind = parts[0].left, parts[0].right
    return column >= bind if first.op == "gt" else column <= bind


class Statements:
    """Compiled statements and row decoders for one dialect and one set of resources.

    ``dialect_name`` is ``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``; ``dialect`` the
    SQLAlchemy dialect whose paramstyle matches the driver (qmark, numeric_dollar, format).
    """

    def __init__(
        self,
        resources: Sequence[Resource],
        dialect_name: str,
        dialect: sa.engine.Dialect,
        *,
        returning: bool = True,
        icu: bool = True,
    ) -> None:
        self.dialect_name = dialect_name
        self.dialect = dialect
        self.returning = returning
        self.metadata = build_metadata(resources, dialect_name)
        self.tables = {r.name: self.metadata.tables[r.name] for r in resources}
        self.resources = {r.name: r for r in resources}
        self._cache: dict[Any, Any] = {}
        self._sqlite = dialect_name == "sqlite"
        self._pg = dialect_name == "postgresql"
        self._mysql = dialect_name in ("mysql", "mariadb")
        to_db: dict[str, Convert] = {}
        from_db: dict[str, Convert] = {}
        if self._sqlite:
            to_db["datetime"] = _sqlite_datetime
            # REAL columns store 2.0 as the integer 2, and RETURNING hands back that integer.
            from_db["float"] = float
        elif self._pg:
            from_db["datetime"] = format_datetime
        else:
            to_db["datetime"] = _mysql_datetime
            from_db["datetime"] = format_datetime
        if not self._pg:
            from_db["bool"] = _to_bool
        self._to_db = to_db
        self._from_db = from_db
        # icontains folds case beyond ASCII on every backend: under the "C" collation
        # PostgreSQL's lower() folds ASCII only, so it lowers through ICU when available.
        self._lower: Callable[[Any], Any] = (
            (lambda c: sa.func.lower(c.collate("und-x-icu"))) if self._pg and icu else sa.func.lower
        )

    # ---- values

    def to_db(self, f: FieldSpec, value: Any) -> Any:
        convert = self._to_db.get(f.kind)
        return value if convert is None or value is None else convert(value)

    def row_args(self, res: Resource, row: dict[str, Any], names: Sequence[str]) -> list[Any]:
        by_name = res.by_name
        return [self.to_db(by_name[n], row[n]) for n in names]

    def _cond_args(self, res: Resource, cond: Cond) -> list[Any]:
        op = cond.op
        if op == "isnull":
            return []
        f = res.by_name[cond.field]
        if op == "in":
            if self._pg and f.kind == "int":
                return [list(cond.value)]
            values = list(cond.value)
            return [self.to_db(f, v) for v in values] if f.kind in self._to_db else values
        if op == "startswith" and self._mysql:
            return [cond.value, successor(cond.value)]
        if op in ("contains", "startswith"):
            lead = "" if op == "startswith" else ("*" if self._sqlite else "%")
            if self._sqlite:
                return [f"{lead}{glob_escape(cond.value)}*"]
            return [f"{lead}{like_escape(cond.value)}%"]
        if op == "icontains":
            return [f"%{like_escape(cond.value)}%"]
        return [self.to_db(f, cond.value)]

    def where_args(self, res: Resource, expr: Expr | None, out: list[Any]) -> list[Any]:
        if expr is None:
            return out
        if isinstance(expr, Cond):
            out.extend(self._cond_args(res, expr))
        elif isinstance(expr, Related):
            self.where_args(self.resources[expr.target], expr.where, out)
        else:
            for part in expr.parts:
                self.where_args(res, part, out)
        return out

    # ---- clauses

    def _clause(self, res: Resource, table: sa.FromClause, expr: Expr, names: list[str]) -> Any:
        if isinstance(expr, Related):  # a semi-join: field IN (SELECT id FROM target WHERE ...)
            inner = self.tables[expr.target].alias()  # aliased: a self-reference stays apart
            target = self.resources[expr.target]
            sub = sa.select(inner.c.id).where(self._clause(target, inner, expr.where, names))
            return table.c[expr.field].in_(sub)
        if not isinstance(expr, Cond):
            parts = [self._clause(res, table, p, names) for p in expr.parts]
            if isinstance(expr, And):
                return sa.and_(*parts)
            bound = _implied_bound(expr, parts)
            return sa.or_(*parts) if bound is None else sa.and_(bound, sa.or_(*parts))
        col = table.c[expr.field]
        op = expr.op
        if op == "isnull":
            return col.is_(None) if expr.value else col.is_not(None)
        # A PostgreSQL int IN list is one array: one text for every length, prepared once.
        array = op == "in" and self._pg and res.by_name[expr.field].kind == "int"
        binds = []
        for _ in self._cond_args(res, expr):
            names.append(f"p{len(names)}")
            binds.append(sa.bindparam(names[-1], type_=sa.ARRAY(col.type) if array else col.type))
        if array:
            return col == sa.any_(binds[0])
        if op == "in":
            return col.in_(binds) if binds else sa.false()
        if op == "startswith" and self._mysql:
            # A code-point range, not LIKE: MariaDB's LIKE range optimization misses rows
            # whose next character is beyond U+FFFF (an emoji after the prefix).
            low, high = binds
            return sa.and_(col >= low, sa.or_(col < high, high.is_(None)))
        (bind,) = binds
        if op in ("contains", "startswith"):
            if self._sqlite:
                return col.op("GLOB")(bind)
            return col.like(bind, escape=_LIKE_ESCAPE)
        if op == "icontains":
            return self._lower(col).like(self._lower(bind), escape=_LIKE_ESCAPE)
        return {
            "eq": col.__eq__,
            "ne": col.__ne__,
            "gt": col.__gt__,
            "gte": col.__ge__,
            "lt": col.__lt__,
            "lte": col.__le__,
        }[op](bind)

    def _compile(self, stmt: Any, names: Sequence[str]) -> Plan:
        compiled = stmt.compile(dialect=self.dialect)
        index = {n: i for i, n in enumerate(names)}
        order = tuple(index[n] for n in (compiled.positiontup or ()))
        return Plan(str(compiled), order)

    def _cached(self, key: Any, build: Callable[[], Any]) -> Any:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = build()
        return found

    # ---- statements

    def _single_columns(self, table: sa.Table, res: Resource) -> list[sa.Column[Any]]:
        return [table.c[n] for n in (*res.readable, VERSION)]

    def _by_id(self, t: sa.Table, checked: bool, owner: str | None) -> Any:
        """``id = :id`` [AND version = :expected] [AND owner = :owner], in one statement."""
        cond = t.c.id == sa.bindparam("id")
        if checked:
            cond = sa.and_(cond, t.c[VERSION] == sa.bindparam("expected"))
        if owner is not None:
            cond = sa.and_(cond, t.c[owner] == sa.bindparam("owner", type_=t.c[owner].type))
        return cond

    def get(self, res: Resource, owner: str | None = None) -> Plan:
        """Arguments: the id, then (owned) a placeholder and the owner value."""

        def build() -> Plan:
            t = self.tables[res.name]
            stmt = sa.select(*self._single_columns(t, res)).where(self._by_id(t, False, owner))
            return self._compile(stmt, ["id", "expected", "owner"])

        return self._cached(("get", res.name, owner), build)  # type: ignore[no-any-return]

    def version(self, res: Resource, owner: str | None = None) -> Plan:
        """Arguments: as ``get``."""

        def build() -> Plan:
            t = self.tables[res.name]
            stmt = sa.select(t.c[VERSION]).where(self._by_id(t, False, owner))
            return self._compile(stmt, ["id", "expected", "owner"])

        return self._cached(("version", res.name, owner), build)  # type: ignore[no-any-return]

    def exists(self, res: Resource, field: str) -> Plan:
        """``SELECT EXISTS (... WHERE field = ?)``: finds the row an FK error is about."""

        def build() -> Plan:
            t = self.tables[res.name]
            stmt = sa.select(sa.exists().where(t.c[field] == sa.bindparam("v")))
            return self._compile(stmt, ["v"])

        return self._cached(("exists", res.name, field), build)  # type: ignore[no-any-return]

    def list(self, res: Resource, query: ListQuery) -> Plan:
        """Arguments: ``where_args(...)``, limit, offset."""

        def build() -> Plan:
            t = self.tables[res.name]
            names: list[str] = []
            stmt = sa.select(*[t.c[n] for n in query.columns])
            if query.where is not None:
                stmt = stmt.where(self._clause(res, t, query.where, names))
            order = []
            for key in query.sort:
                col = t.c[key.field]
                term = col.desc() if key.descending else col.asc()
                if self._pg and res.by_name[key.field].nullable:
                    term = term.nulls_last() if key.descending else term.nulls_first()
                order.append(term)
            names.extend(("limit", "offset"))
            stmt = stmt.order_by(*order).limit(sa.bindparam("limit", type_=sa.Integer()))
            if query.offset > 0 or self._sqlite:  # SQLite renders LIMIT ? OFFSET ? anyway
                stmt = stmt.offset(sa.bindparam("offset", type_=sa.Integer()))
            return self._compile(stmt, names)

        key = ("list", res.name, query.filter_shape())
        return self._cached(key, build)  # type: ignore[no-any-return]

    def count(self, res: Resource, where: Expr | None) -> Plan:
        def build() -> Plan:
            t = self.tables[res.name]
            names: list[str] = []
            stmt = sa.select(sa.func.count()).select_from(t)
            if where is not None:
                stmt = stmt.where(self._clause(res, t, where, names))
            return self._compile(stmt, names)

        key = ("count", res.name, ListQuery(where, (), (), 0).filter_shape())
        return self._cached(key, build)  # type: ignore[no-any-return]

    def insert_names(self, res: Resource) -> tuple[str, ...]:
        return tuple(f.name for f in res.fields[1:])

    def insert(self, res: Resource) -> Plan:
        """Arguments: the values of ``insert_names(res)``, then the version (1)."""

        def build() -> Plan:
            t = self.tables[res.name]
            names = [*self.insert_names(res), VERSION]
            stmt = sa.insert(t).values({n: sa.bindparam(n, type_=t.c[n].type) for n in names})
            if self.returning:
                stmt = stmt.returning(*self._single_columns(t, res))
            return self._compile(stmt, names)

        return self._cached(("insert", res.name), build)  # type: ignore[no-any-return]

    def update(
        self, res: Resource, fields: tuple[str, ...], checked: bool, owner: str | None = None
    ) -> Plan:
        """Arguments: the values of ``fields``, the id, the expected version (or a
        placeholder), then the owner value when owned."""

        def build() -> Plan:
            t = self.tables[res.name]
            values: dict[str, Any] = {n: sa.bindparam(n, type_=t.c[n].type) for n in fields}
            values[VERSION] = t.c[VERSION] + sa.literal_column("1")
            stmt = sa.update(t).values(values).where(self._by_id(t, checked, owner))
            if self.returning and self.dialect_name != "mariadb":
                stmt = stmt.returning(*self._single_columns(t, res))
            return self._compile(stmt, [*fields, "id", "expected", "owner"])

        key = ("update", res.name, fields, checked, owner)
        return self._cached(key, build)  # type: ignore[no-any-return]

    def delete(self, res: Resource, checked: bool, owner: str | None = None) -> Plan:
        """Arguments: the id, the expected version (or a placeholder), the owner value."""

        def build() -> Plan:
            t = self.tables[res.name]
            stmt = sa.delete(t).where(self._by_id(t, checked, owner))
            return self._compile(stmt, ["id", "expected", "owner"])

        return self._cached(("delete", res.name, checked, owner), build)  # type: ignore[no-any-return]

    # ---- decoding

    def decoder(self, res: Resource, columns: tuple[str, ...] | None = None) -> Decoder:
        """Database row -> wire-ready dict with keys ``columns`` (default: one full row)."""
        key = ("decoder", res.name, columns)

        def build() -> Decoder:
            names = columns if columns is not None else (*res.readable, VERSION)
            converts = [
                (n, c)
                for n in names
                if n != VERSION and (c := self._from_db.get(res.by_name[n].kind)) is not None
            ]

            if not converts:

                def plain(row: Sequence[Any]) -> dict[str, Any]:
                    return dict(zip(names, row, strict=True))

                return plain

            def decode(row: Sequence[Any]) -> dict[str, Any]:
                out = dict(zip(names, row, strict=True))
                for name, convert in converts:
                    value = out[name]
                    if value is not None:
                        out[name] = convert(value)
                return out

            return decode

        return self._cached(key, build)  # type: ignore[no-any-return]
