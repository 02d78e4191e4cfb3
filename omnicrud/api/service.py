"""``CrudService``: what a write means, decided once for every backend and every caller.

Timestamps, secret hashing, If-Match, merge-patch retries and naming the unique field a
write collides on live here; the router only turns HTTP into calls of this class and its
results back into HTTP. Rows come back with the ``VERSION`` key (the ETag source).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from omnicrud.auth import require
from omnicrud.config import Settings
from omnicrud.core.errors import BadQuery, Conflict, NotFound, PreconditionFailed
from omnicrud.core.keys import DeploymentKeys
from omnicrud.core.query import (
    And,
    Cond,
    CursorCodec,
    Expr,
    ListQuery,
    parse_fields,
    parse_filters,
    parse_sort,
)
from omnicrud.core.relations import Relations, parse_expansion, related_filters
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row, Storage
from omnicrud.core.values import now

from .conditional import IfMatch
from .expand import ID_ORDER, Expander
from .inputs import check, check_fields, fields_independent, hash_secrets, validate
from .problems import Problem, validation_problem
from .security import EMBEDDING, OPEN, Caller, caller_for, embedding_for

PATCH_ATTEMPTS = 8
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """List parameters other than the filters."""

    limit: int
    offset: int | None = None
    skip: int | None = None
    cursor: str | None = None
    sort: str | None = None
    fields: str | None = None
    count: bool = False
    expand: str | None = None


class CrudService:
    """``auth``: whether authentication is on; then the ``Owner()`` field is set by the
    server from the caller's subject (a body sending it is 422), and every statement
    carries the caller's owner condition (``Caller.owner``)."""

    def __init__(
        self,
        res: Resource,
        settings: Settings,
        auth: bool = False,
        keys: DeploymentKeys | None = None,
        relations: Relations | None = None,
        expander: Expander | None = None,
    ) -> None:
        self.res = res
        self.auth = auth
        owner = res.owner.name if auth and res.owner is not None else None
        self.owner = owner
        self.server_set: tuple[str, ...] = (owner,) if owner else ()
        self.placeholder: Any = 1 if res.owner is None or res.owner.kind == "int" else "-"
        self.codec = CursorCodec(keys or DeploymentKeys(settings.cursor_secret))
        self.relations = relations or Relations([res])
        self.expander = expander or Expander({}, settings.expand_limit)
        self.writable = frozenset(f.name for f in res.user_fields)
        self.independent = fields_independent(res.create_model)
        self.unique = tuple(f.name for f in res.user_fields if f.unique)

    # ---- conflicts and conditions

    async def _first_taken(
        self, storage: Storage, rows: Sequence[Row], exclude: int | None, exc: Conflict
    ) -> Conflict:
        """The first declared unique field the write collides on.

        The backend names the field of the unique index it hit. Only when unique fields
        declared before that one are also set does it matter which index the database
        checked first: then those are looked up (error path only, usually no query).
        """
        for name in self.unique:
            if name == exc.field:
                return exc
            values = [row[name] for row in rows if row.get(name) is not None]
            if len(set(values)) < len(values):
                return Conflict(name)
            for value in values:
                where: Expr = Cond(name, "eq", value)
                if exclude is not None:
                    where = And((where, Cond("id", "ne", exclude)))
                if await storage.count(self.res, where):
                    return Conflict(name)
        return exc

    async def _write(
        self, op: Awaitable[T], storage: Storage, rows: Sequence[Row], id: int | None
    ) -> T:
        try:
            return await op
        except Conflict as exc:
            raise await self._first_taken(storage, rows, id, exc) from None

    async def _expected(
        self, storage: Storage, id: int, cond: IfMatch | None, caller: Caller
    ) -> int | None:
        """The version a write must compare-and-set against (None: unconditional)."""
        if cond is None or cond.any_row:
            return None
        if len(cond.versions) == 1:
            return next(iter(cond.versions))
        # No usable tag, or several: compare with the current version here; the write
        # itself still checks it again, atomically.
        row = await storage.get(self.res, id, caller.owner)
        if row is None:
            raise NotFound()
        if row[VERSION] not in cond.versions:
            raise PreconditionFailed()
        return int(row[VERSION])

    # ---- operations

    def _fill(self, caller: Caller) -> dict[str, Any] | None:
        """The owner a create stores: the caller's subject (auth on, owned resource)."""
        if self.owner is None:
            return None
        if caller.stamp is None:
            raise Problem("forbidden", f"the caller's subject cannot own {self.res.name} rows")
        return {self.owner: caller.stamp}

    async def create(
        self, storage: Storage, bodies: Sequence[Any], caller: Caller = OPEN
    ) -> list[Row]:
        """All rows or none; validation errors of every row at once."""
        rows: list[Row] = []
        errors: list[dict[str, Any]] = []
        stamp = now()
        fill = self._fill(caller)
        for i, body in enumerate(bodies):
            values, problems = validate(
                self.res.create_model, body, ("body", i), self.server_set, fill
            )
            errors += problems
            if values is not None:
                rows.append({**values, "created_at": stamp, "updated_at": stamp})
        if errors:
            raise validation_problem(errors)
        await hash_secrets(self.res, rows)
        return await self._write(storage.create(self.res, rows), storage, rows, None)

    async def create_one(self, storage: Storage, body: Any, caller: Caller = OPEN) -> Row:
        model = self.res.create_model
        values = check(model, body, ("body",), self.server_set, self._fill(caller))
        stamp = now()
        row = {**values, "created_at": stamp, "updated_at": stamp}
        await hash_secrets(self.res, [row])
        (created,) = await self._write(storage.create(self.res, [row]), storage, [row], None)
        return created

    async def get(self, storage: Storage, id: int, caller: Caller = OPEN) -> Row:
        if caller.sees_nothing:
            raise NotFound()
        row = await storage.get(self.res, id, caller.owner)
        if row is None:
            raise NotFound()
        return row

    async def list(
        self,
        storage: Storage,
        params: Iterable[tuple[str, str]],
        page: Page,
        caller: Caller = OPEN,
        within: Expr | None = None,
    ) -> dict[str, Any]:
        """A page; ``within`` restricts it further (a nested route's parent)."""
        if page.offset is not None and page.skip is not None:
            raise BadQuery("use offset or skip, not both", "skip")
        start = page.offset if page.offset is not None else (page.skip or 0)
        if page.cursor is not None and (page.offset is not None or page.skip is not None):
            raise BadQuery("cursor and offset cannot be used together", "cursor")
        res = self.res
        params = list(params)
        filters: list[Expr] = [*parse_filters(res, [p for p in params if "." not in p[0]])]
        filters += related_filters(self.relations, res, params)
        if within is not None:
            filters.append(within)
        keys = parse_sort(res, page.sort)
        expansion = parse_expansion(self.relations, res, page.expand, page.fields)
        shown = parse_fields(res, page.fields) if expansion is None else expansion.shown
        needed = {k.field for k in keys} | (expansion.needs if expansion else set())
        columns = tuple(n for n in res.readable if n in shown or n in needed)
        if caller.owner is not None:  # AND-ed into the same statement as the filters
            filters.append(Cond(caller.owner[0], "eq", caller.owner[1]))
        where: Expr | None = None
        if filters:
            where = And(tuple(filters)) if len(filters) > 1 else filters[0]
        if caller.sees_nothing:
            return {"items": [], "next_cursor": None, "total": 0 if page.count else None}
        seek = where
        if page.cursor is not None:
            after = self.codec.decode(res, keys, page.cursor)
            seek = after if where is None else And((where, after))
        rows = await storage.list(res, ListQuery(seek, keys, columns, page.limit + 1, start))
        next_cursor = None
        if len(rows) > page.limit:
            del rows[page.limit :]
            next_cursor = self.codec.encode(res, keys, rows[-1])
        if expansion is not None:
            with embedding_for(caller.principal):
                rows = await self.expander.page(storage, rows, expansion)
        elif columns != shown:
            rows = [{k: row[k] for k in shown} for row in rows]
        total = await storage.count(res, where) if page.count else None
        return {"items": rows, "next_cursor": next_cursor, "total": total}

    async def replace(
        self, storage: Storage, id: int, body: Any, cond: IfMatch | None, caller: Caller = OPEN
    ) -> Row:
        # The owner is validated as the caller's (any valid value for an admin): PUT
        # replaces the user fields, never who owns the row.
        fill = None
        if self.owner is not None:
            kept = caller.stamp if caller.stamp is not None else self.placeholder
            fill = {self.owner: kept}
        values = check(self.res.create_model, body, ("body",), self.server_set, fill)
        if self.owner is not None:
            del values[self.owner]
        if caller.sees_nothing:
            raise NotFound()
        values["updated_at"] = now()
        await hash_secrets(self.res, [values])
        expected = await self._expected(storage, id, cond, caller)
        update = storage.update(self.res, id, values, expected, caller.owner)
        return await self._write(update, storage, [values], id)

    async def patch(
        self,
        storage: Storage,
        id: int,
        changes: dict[str, Any],
        cond: IfMatch | None,
        caller: Caller = OPEN,
    ) -> Row:
        """JSON Merge Patch. Without If-Match, a concurrent write is merged, never lost."""
        if any(name in changes for name in self.server_set):
            check_fields(self.res, changes, self.server_set)  # 422 naming the owner field
        if caller.sees_nothing:
            raise NotFound()
        if self.independent:  # one UPDATE, no read: the compare-and-set still guards If-Match
            values = check_fields(self.res, changes)
            values["updated_at"] = now()
            await hash_secrets(self.res, [values])
            expected = await self._expected(storage, id, cond, caller)
            update = storage.update(self.res, id, values, expected, caller.owner)
            return await self._write(update, storage, [values], id)
        for attempt in range(PATCH_ATTEMPTS):
            current = await self.get(storage, id, caller)
            version = current.pop(VERSION)
            if cond is not None and not cond.any_row and version not in cond.versions:
                raise PreconditionFailed()
            merged = {k: current[k] for k in self.writable if k in current}
            merged.update(changes)
            validated = check(self.res.update_model, merged)
            values = {k: validated[k] for k in changes if k in self.writable}
            values["updated_at"] = now()
            await hash_secrets(self.res, [values])
            try:
                update = storage.update(self.res, id, values, version, caller.owner)
                return await self._write(update, storage, [values], id)
            except PreconditionFailed:
                # Someone wrote between our read and our write: without If-Match, merge the
                # patch onto their version instead of losing either update.
                if cond is not None or attempt == PATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def delete(
        self, storage: Storage, id: int, cond: IfMatch | None, caller: Caller = OPEN
    ) -> None:
        if caller.sees_nothing:
            raise NotFound()
        expected = await self._expected(storage, id, cond, caller)
        await storage.delete(self.res, id, expected, caller.owner)

    # ---- relations (api.expand): embeds read through these, the target's own service

    async def get_expanded(
        self, storage: Storage, id: int, expand: str, caller: Caller = OPEN
    ) -> Row:
        """GET one with ``?expand=``: the row (no version) with its embeds."""
        expansion = parse_expansion(self.relations, self.res, expand, None)
        row = await self.get(storage, id, caller)
        del row[VERSION]
        if expansion is None:
            return row
        with embedding_for(caller.principal):
            (shaped,) = await self.expander.page(storage, [row], expansion)
        return shaped

    def _embedded(self) -> Expr | None:
        """Embedded rows obey the scope and owner scoping of their own routes: the embedding
        request's principal needs ``R:read`` here, and sees only its own rows."""
        if not self.auth:
            return None
        principal = EMBEDDING.get()
        require(principal, self.res.name, "read")
        who = caller_for(self.res, principal)
        if who.sees_nothing:
            return Cond("id", "lt", 1)  # ids start at 1: no row
        if who.owner is not None:
            return Cond(who.owner[0], "eq", who.owner[1])
        return None

    async def lookup(
        self, storage: Storage, ids: Sequence[int], columns: tuple[str, ...]
    ) -> builtins.list[Row]:
        """The rows with these ids (to-one embeds): one statement."""
        where: Expr = Cond("id", "in", tuple(ids))
        if (scoped := self._embedded()) is not None:
            where = And((where, scoped))
        query = ListQuery(where, ID_ORDER, columns, len(ids))
        return await storage.list(self.res, query)

    async def children(
        self,
        storage: Storage,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
    ) -> builtins.list[Row]:
        """The first ``limit`` rows of each parent (to-many embeds): one statement."""
        scoped = self._embedded()
        return await storage.children(self.res, field, parent_ids, limit, columns, scoped)
