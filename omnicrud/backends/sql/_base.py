"""The Storage operations shared by the SQL backends; drivers supply a few primitives.

A driver subclass runs compiled ``Plan``s on its own connections and says what kind of
failure a driver exception is (``classify``); this class turns failures into domain errors,
so no driver exception ever leaves the backend.
"""

from __future__ import annotations

import builtins
import logging
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from omnicrud.config import Settings
from omnicrud.core import hooks
from omnicrud.core.errors import (
    Conflict,
    NotFound,
    OmnicrudError,
    PreconditionFailed,
    ReferenceConflict,
    StorageError,
    Unavailable,
)
from omnicrud.core.query import Expr, ListQuery
from omnicrud.core.resources import Resource
from omnicrud.core.storage import OwnerFilter, Row

from . import _shared
from ._children import children_plan, children_where
from ._replicas import ReplicaSet
from ._statements import Plan, Statements
from .schema import constraint_name

log = logging.getLogger("omnicrud.backends.sql")

_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1
Record = Sequence[Any]
FailureKind = Literal["unique", "fk", "unavailable", "lost", "other"]


@dataclass(frozen=True, slots=True)
class Failure:
    """What a driver exception means. ``name`` is a constraint name, ``table.column``
    (SQLite unique violations) or None when the database does not say (SQLite FK errors).
    ``lost`` is a connection lost before or during a statement: a read may be retried."""

    kind: FailureKind
    name: str | None = None


def connect_reason(exc: BaseException) -> str:
    """Why a connection could not be made, in words an operator acts on (never the URL's
    password, never the driver's message)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not found"
        if isinstance(seen, TimeoutError):
            return "timed out"
        seen = seen.__cause__ or seen.__context__
    return "cannot be reached"


class SqlStorage:
    """The Storage protocol on top of ``Statements`` and a driver subclass."""

    backend_name = "SQL"
    database_url: str
    """The unmasked URL: migrations open their own connection with it."""
    settings: Settings
    replicas: ReplicaSet[Any] | None = None
    """Read replicas (``OMNICRUD_READ_URLS``): ``_read`` routes to them."""

    def __init__(self, resources: Sequence[Resource], statements: Statements) -> None:
        self.resources = list(resources)
        self.sql = statements
        self._unique: dict[str, str] = {}
        self._fk: dict[str, tuple[Resource, str]] = {}
        self._referrers: dict[str, list[tuple[Resource, str]]] = {}
        for res in self.resources:
            for f in res.user_fields:
                if f.unique:
                    self._unique[constraint_name("uq", res.name, f.name)] = f.name
                    self._unique[f"{res.name}.{f.name}"] = f.name
                if f.references:
                    self._fk[constraint_name("fk", res.name, f.name)] = (res, f.name)
                    self._referrers.setdefault(f.references, []).append((res, f.name))

    @property
    def db_system(self) -> str:
        """OpenTelemetry's ``db.system.name``: sqlite, postgresql, mysql, mariadb."""
        return self.backend_name.lower()

    # ---- driver primitives

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def schema_connection(self) -> Any:
        """The connection migrations must use (an in-memory SQLite database); None: their own."""
        return None

    async def server_version(self) -> str:
        raise NotImplementedError

    def classify(self, exc: BaseException) -> Failure | None:
        """The meaning of a driver exception; None for exceptions that are not the driver's."""
        raise NotImplementedError

    async def fetch(self, plan: Plan, args: Sequence[Any]) -> list[Record]:
        """Run a read on the primary; no transaction round trips."""
        raise NotImplementedError

    async def insert_rows(self, res: Resource, rows: list[list[Any]]) -> list[Record]:
        """Insert ``rows`` (args of ``statements.insert``) atomically; return full rows."""
        raise NotImplementedError

    async def update_row(
        self, res: Resource, plan: Plan, args: list[Any], id: int
    ) -> Record | None:
        """Run the update; the new full row, or None when no row matched."""
        raise NotImplementedError

    async def execute(self, plan: Plan, args: Sequence[Any]) -> int:
        """Run a write; the number of rows it changed."""
        raise NotImplementedError

    async def shared_setting(self, name: str, candidate: str) -> str:
        """The deployment-wide value ``name`` (``core.keys.SharedSettings``)."""
        return await _shared.setting(self, name, candidate)

    # ---- error handling

    def _unavailable(self, exc: BaseException) -> Unavailable:
        log.warning("%s unavailable: %s", self.backend_name, exc.__class__.__name__)
        return Unavailable(f"the {self.backend_name} database is unreachable or timed out")

    def replica_lag(self) -> dict[str, float]:
        """Each replica's lag by masked URL (omnicrud.core.hooks.ReplicaLag, ``/metrics``)."""
        return self.replicas.lags() if self.replicas is not None else {}

    async def _read(self, plan: Plan, args: Sequence[Any]) -> list[Record]:
        """A read, on a replica when one may serve it (``_replicas``), else on the primary;
        retried once (routed again) when the connection was lost (pools reconnect)."""
        for attempt in (1, 2):
            if self.replicas is not None:
                routed: list[Record] | None = await self.replicas.fetch(plan, args)
                if routed is not None:
                    return routed
            try:
                return await self.fetch(plan, args)
            except OmnicrudError:
                raise
            except Exception as exc:
                failure = self.classify(exc)
                if attempt == 2 or failure is None or failure.kind != "lost":
                    raise self._error(exc, failure) from exc
        raise AssertionError("unreachable")

    def _error(self, exc: BaseException, failure: Failure | None) -> OmnicrudError:
        hooks.db_error(failure.kind if failure is not None else "other")
        if failure is not None and failure.kind in ("unavailable", "lost"):
            return self._unavailable(exc)
        if failure is not None and failure.kind == "unique" and failure.name in self._unique:
            return Conflict(self._unique[failure.name])
        log.error("%s error: %r", self.backend_name, exc)
        return StorageError("the database failed to run the statement")

    async def _write_error(
        self, exc: BaseException, res: Resource, rows: Sequence[dict[str, Any]], id: int | None
    ) -> OmnicrudError:
        """The domain error for a failed write; ``id`` is set for a delete."""
        if isinstance(exc, OmnicrudError):
            return exc
        failure = self.classify(exc)
        if failure is None or failure.kind != "fk":
            return self._error(exc, failure)
        if failure.name in self._fk:
            holder, field = self._fk[failure.name]
            return ReferenceConflict(holder.name, field, missing_target=id is None)
        try:  # the database did not say which reference: look for it
            if id is not None:
                for holder, field in self._referrers.get(res.name, []):
                    if (await self.fetch(self.sql.exists(holder, field), [id]))[0][0]:
                        return ReferenceConflict(holder.name, field, missing_target=False)
            else:
                for f in res.references:
                    assert f.references is not None
                    target = self.sql.resources[f.references]
                    for row in rows:
                        value = row.get(f.name)
                        if (
                            value is not None
                            and not (await self.fetch(self.sql.exists(target, "id"), [value]))[0][0]
                        ):
                            return ReferenceConflict(res.name, f.name, missing_target=True)
        except Exception as lookup:
            return self._error(lookup, self.classify(lookup))
        return self._error(exc, None)

    # ---- Storage protocol

    def _owned(
        self, res: Resource, owner: OwnerFilter | None
    ) -> tuple[str | None, builtins.list[Any]]:
        """The owner column of a statement and the arguments after id, expected version."""
        if owner is None:
            return None, []
        return owner[0], [self.sql.to_db(res.by_name[owner[0]], owner[1])]

    async def get(
        self, res: Resource, id: int, owner: OwnerFilter | None = None
    ) -> dict[str, Any] | None:
        if not _ID_MIN <= id <= _ID_MAX:
            return None
        column, extra = self._owned(res, owner)
        with hooks.db_statement(self.db_system, "SELECT", res.name):
            rows = await self._read(self.sql.get(res, column), (id, None, *extra))
        return self.sql.decoder(res)(rows[0]) if rows else None

    async def list(self, res: Resource, query: ListQuery) -> list[dict[str, Any]]:
        args = self.sql.where_args(res, query.where, [])
        args.append(query.limit)
        args.append(query.offset)
        with hooks.db_statement(self.db_system, "SELECT", res.name):
            rows = await self._read(self.sql.list(res, query), args)
        decode = self.sql.decoder(res, query.columns)
        return [decode(r) for r in rows]

    async def count(self, res: Resource, where: Expr | None) -> int:
        with hooks.db_statement(self.db_system, "SELECT", res.name):
            rows = await self._read(self.sql.count(res, where), self.sql.where_args(res, where, []))
        return int(rows[0][0])

    async def children(
        self,
        res: Resource,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
        where: Expr | None = None,
    ) -> builtins.list[Row]:
        expr = children_where(field, [i for i in parent_ids if _ID_MIN <= i <= _ID_MAX], where)
        args = self.sql.where_args(res, expr, [])
        args.append(limit)
        rows = await self._read(children_plan(self.sql, res, field, expr, columns), args)
        decode = self.sql.decoder(res, columns)
        return [decode(r) for r in rows]

    def _check_references(self, res: Resource, rows: Sequence[Row]) -> None:
        """An id beyond int64 names no row: a reference conflict, not a database error."""
        for f in res.references:
            for row in rows:
                value = row.get(f.name)
                if value is not None and not _ID_MIN <= value <= _ID_MAX:
                    raise ReferenceConflict(res.name, f.name, missing_target=True)

    async def create(self, res: Resource, rows: Sequence[Row]) -> builtins.list[Row]:
        self._check_references(res, rows)
        names = self.sql.insert_names(res)
        args = [[*self.sql.row_args(res, row, names), 1] for row in rows]
        try:
            with hooks.db_statement(self.db_system, "INSERT", res.name):
                records = await self.insert_rows(res, args)
        except Exception as exc:
            raise await self._write_error(exc, res, rows, None) from exc
        decode = self.sql.decoder(res)
        return [decode(r) for r in records]

    async def update(
        self,
        res: Resource,
        id: int,
        values: dict[str, Any],
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> dict[str, Any]:
        if not _ID_MIN <= id <= _ID_MAX:
            raise NotFound()
        self._check_references(res, [values])
        fields = tuple(f.name for f in res.fields if f.name in values)
        column, extra = self._owned(res, owner)
        plan = self.sql.update(res, fields, expected_version is not None, column)
        args = self.sql.row_args(res, values, fields)
        args += [id, expected_version, *extra]
        try:
            with hooks.db_statement(self.db_system, "UPDATE", res.name):
                record = await self.update_row(res, plan, args, id)
        except Exception as exc:
            raise await self._write_error(exc, res, [values], None) from exc
        if record is None:
            raise await self._no_match(res, id, column, extra)
        return self.sql.decoder(res)(record)

    async def delete(
        self,
        res: Resource,
        id: int,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> None:
        if not _ID_MIN <= id <= _ID_MAX:
            raise NotFound()
        column, extra = self._owned(res, owner)
        plan = self.sql.delete(res, expected_version is not None, column)
        try:
            with hooks.db_statement(self.db_system, "DELETE", res.name):
                count = await self.execute(plan, [id, expected_version, *extra])
        except Exception as exc:
            raise await self._write_error(exc, res, [], id) from exc
        if count == 0:
            raise await self._no_match(res, id, column, extra)

    async def _no_match(
        self, res: Resource, id: int, column: str | None, extra: builtins.list[Any]
    ) -> OmnicrudError:
        """A write matched nothing: gone (404) or another version (412)? Another owner's
        row is gone: the same owner condition applies to this read."""
        rows = await self._read(self.sql.version(res, column), (id, None, *extra))
        return PreconditionFailed() if rows else NotFound()


__all__ = ["Failure", "SqlStorage"]
