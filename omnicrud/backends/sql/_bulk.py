"""BulkStorage on the SQL backends: raw rows read in id order with keyset pages, loaded with
ids, timestamps, versions and hashes kept. Each dialect supplies its fastest load path
(``_bulk_postgres``, ``_bulk_mysql``, ``_bulk_sqlite``); this class turns their failures into
domain errors and, when the database refuses a batch, finds the row and field it refused."""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from omnicrud.core.errors import Conflict, OmnicrudError, StorageError
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row
from omnicrud.core.transfer import RejectedRow
from omnicrud.core.values import UTC

from ._base import SqlStorage
from ._statements import Plan

_COLUMN = re.compile(r"""column[\s"'`]+(\w+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RawPlan:
    """Compiled SQL plus the names of its positional parameters, in order."""

    sql: str
    names: tuple[str, ...]


def raw_columns(res: Resource) -> tuple[str, ...]:
    """Every stored column: id, user fields (secrets too), timestamps, the version."""
    return (*(f.name for f in res.fields), VERSION)


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite stores the wire form, ...Z
        return dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"datetime": _datetime, "bool": bool, "float": float}
"""What a driver may hand back in another form: SQLite's text timestamps, 0/1 booleans and
integral REALs; MySQL's naive DATETIMEs and TINYINT booleans (asyncpg needs none)."""


class BulkSql(SqlStorage):
    """Shared half of the SQL BulkStorage; a dialect class adds ``load_rows``, ``probe``
    and ``reserve_past`` and lists this class before its storage class."""

    def _compile(self, stmt: Any, names: Sequence[str]) -> RawPlan:
        compiled = stmt.compile(dialect=self.sql.dialect)
        order = tuple(compiled.positiontup or ())
        assert set(order) <= set(names), (order, names)
        return RawPlan(str(compiled), order)

    def _bulk_plan(self, kind: str, res: Resource) -> RawPlan:
        # Built on first use, after connect() (which may swap ``self.sql`` for the server).
        cache: dict[tuple[str, str], RawPlan] = self.__dict__.setdefault("_bulk_plans", {})
        found = cache.get((kind, res.name))
        if found is not None:
            return found
        t = self.sql.tables[res.name]
        columns = raw_columns(res)
        if kind == "dump":
            stmt = (
                sa.select(*[t.c[n] for n in columns])
                .where(t.c.id > sa.bindparam("after", type_=sa.BigInteger()))
                .order_by(t.c.id)
                .limit(sa.bindparam("limit", type_=sa.Integer()))
                .offset(sa.bindparam("offset", type_=sa.Integer()))
            )
            plan = self._compile(stmt, ("after", "limit", "offset"))
        elif kind == "insert":
            values = {n: sa.bindparam(n, type_=t.c[n].type) for n in columns}
            plan = self._compile(sa.insert(t).values(values), columns)
        else:
            plan = self._compile(sa.select(sa.func.max(t.c.id)), ())
        cache[(kind, res.name)] = plan
        return plan

    async def _raw(self, plan: RawPlan, values: dict[str, Any]) -> list[Any]:
        args = [values[n] for n in plan.names]
        return await self._read(Plan(plan.sql, tuple(range(len(args)))), args)

    async def dump(self, res: Resource, after_id: int, limit: int) -> builtins.list[Row]:
        plan = self._bulk_plan("dump", res)
        records = await self._raw(plan, {"after": after_id, "limit": limit, "offset": 0})
        names = raw_columns(res)
        converts = [
            (f.name, _CONVERTERS[f.kind])
            for f in res.fields
            if f.kind in _CONVERTERS and self.sql.dialect_name != "postgresql"
        ]
        out = [dict(zip(names, record, strict=True)) for record in records]
        for name, convert in converts:
            for row in out:
                value = row[name]
                if value is not None:
                    row[name] = convert(value)
        return out

    async def max_id(self, res: Resource) -> int | None:
        records = await self._raw(self._bulk_plan("max", res), {})
        value = records[0][0]
        return None if value is None else int(value)

    def insert_args(self, res: Resource, rows: Sequence[Row]) -> builtins.list[Sequence[Any]]:
        """Database values of ``rows`` in the insert plan's parameter order."""
        names = self._bulk_plan("insert", res).names
        to_db = self.sql.to_db
        specs = [None if n == VERSION else res.by_name[n] for n in names]
        return [
            [row[n] if f is None else to_db(f, row[n]) for n, f in zip(names, specs, strict=True)]
            for row in rows
        ]

    def insert_sql(self, res: Resource) -> str:
        return self._bulk_plan("insert", res).sql

    # ---- dialect primitives

    async def load_rows(self, res: Resource, rows: Sequence[Row]) -> None:
        """Insert every row in one transaction."""
        raise NotImplementedError

    async def probe(self, res: Resource, row: Row) -> BaseException | None:
        """Try to insert ``row`` alone and roll back: the database's objection, if any."""
        raise NotImplementedError

    async def reserve_past(self, res: Resource, id: int) -> None:
        raise NotImplementedError

    # ---- errors

    async def load(self, res: Resource, rows: Sequence[Row]) -> None:
        if not rows:
            return
        try:
            await self.load_rows(res, rows)
        except OmnicrudError:
            raise
        except Exception as exc:
            raise await self._load_error(exc, res, rows) from exc

    async def _load_error(
        self, exc: BaseException, res: Resource, rows: Sequence[Row]
    ) -> OmnicrudError:
        failure = self.classify(exc)
        if failure is not None and failure.kind in ("unavailable", "lost"):
            return self._unavailable(exc)
        if failure is not None and failure.kind == "unique":
            return Conflict(self._unique.get(failure.name or "", "id"))
        for row in rows:
            try:
                objection = await self.probe(res, row)
            except Exception as again:
                return self._error(again, self.classify(again))
            if objection is not None:
                refused = self.classify(objection)
                if refused is not None and refused.kind == "fk" and refused.name in self._fk:
                    field = self._fk[refused.name][1]
                    return RejectedRow(
                        res.name, int(row["id"]), field, "references a row the target lacks"
                    )
                return RejectedRow(
                    res.name, int(row["id"]), _field_named(res, objection), "is refused"
                )
        return StorageError(f"the target refused a batch of {res.name}: {type(exc).__name__}")


def _field_named(res: Resource, exc: BaseException) -> str:
    """The field a database error is about, as far as its message says."""
    named = getattr(exc, "column_name", None)
    if isinstance(named, str) and named in res.by_name:
        return named
    text = " ".join(str(p) for p in (exc, getattr(exc, "context", None)) if p)
    for found in _COLUMN.findall(text):
        if found in res.by_name:
            return str(found)
    for f in res.fields:  # e.g. SQLite: "NOT NULL constraint failed: items.name"
        if f"{res.name}.{f.name}" in text:
            return f.name
    return "?"
