"""The Storage protocol: the one interface every backend implements.

Rows cross this boundary as dicts. Values going *in* are Python values already validated
by the API (``datetime`` aware UTC with millisecond precision, secrets already hashed).
Rows coming *out* are wire-ready: JSON-native values in the key order the caller asked
for, datetimes formatted by ``values.format_datetime``. Single-row results end with the
``VERSION`` key (the ETag source), which the API strips before sending.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Protocol

from .query import Expr, ListQuery
from .resources import Resource

Row = dict[str, Any]
OwnerFilter = tuple[str, Any]
"""``(field, value)``: the statement also requires ``field == value`` (owner scoping,
CONTRACT §7). A row of another owner is then exactly a missing row: None / NotFound,
never PreconditionFailed. List and count get the same condition AND-ed into ``where``."""


class Storage(Protocol):
    async def connect(self) -> None:
        """Open pools/clients. Raises Unavailable when the database cannot be reached."""

    async def close(self) -> None: ...

    async def server_version(self) -> str:
        """A short description of the server, e.g. ``PostgreSQL 15.19``; doubles as a ping."""

    async def create(self, res: Resource, rows: Sequence[Row]) -> list[Row]:
        """Insert all rows or none; return them as read back, in order, ids assigned.

        Input rows hold every user field plus ``created_at``/``updated_at``.
        Raises Conflict, ReferenceConflict.
        """

    async def get(self, res: Resource, id: int, owner: OwnerFilter | None = None) -> Row | None: ...

    async def list(self, res: Resource, query: ListQuery) -> list[Row]:
        """At most ``query.limit`` rows with keys ``query.columns``."""

    async def count(self, res: Resource, where: Expr | None) -> int: ...

    async def children(
        self,
        res: Resource,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
        where: Expr | None = None,
    ) -> builtins.list[Row]:
        """For each id in ``parent_ids``, the first ``limit`` rows (in id order) whose
        ``field`` holds it and that match ``where``: a per-parent top-N in one statement,
        for to-many expansions. Rows have keys ``columns`` (which include ``field``)."""

    async def update(
        self,
        res: Resource,
        id: int,
        values: Row,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> Row:
        """Set ``values`` and bump the version, atomically checking ``expected_version``.

        Raises NotFound, PreconditionFailed (row exists, version differs), Conflict,
        ReferenceConflict.
        """

    async def delete(
        self,
        res: Resource,
        id: int,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> None:
        """Raises NotFound, PreconditionFailed, ReferenceConflict (still referenced)."""
