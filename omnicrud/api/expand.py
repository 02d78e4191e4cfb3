"""Embedding related rows into a page (CONTRACT §8) without N+1: one statement per embed.

A to-one embed reads its targets with one ``id IN (...)`` list of the distinct references
on the page; a to-many embed reads every parent's first rows with one ``Storage.children``
(a per-parent top-N). Both go through the *target's* service (``RelatedReads``), the same
calls its own routes make, so whatever that service restricts (scopes, owner scoping) is
restricted in embeds too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from omnicrud.core.query import CursorCodec, SortKey
from omnicrud.core.relations import Embed, Expansion
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row, Storage

ID_ORDER = (SortKey("id"),)
CHUNK = 10_000
"""Most ids in one statement (bind-parameter limits: SQLite and PostgreSQL take 32,766)."""


class RelatedReads(Protocol):
    """What an embed reads from the target resource's service."""

    res: Resource
    codec: CursorCodec

    async def lookup(
        self, storage: Storage, ids: Sequence[int], columns: tuple[str, ...]
    ) -> list[Row]: ...

    async def children(
        self,
        storage: Storage,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
    ) -> list[Row]: ...


def padded(ids: Sequence[int]) -> list[int]:
    """``ids`` repeated up to a power of two: ``IN`` lists of a few lengths only, so a
    handful of compiled statements serve every page (duplicates match nothing new)."""
    size = 1
    while size < len(ids):
        size *= 2
    return [*ids, *[ids[-1]] * (size - len(ids))]


def _distinct(rows: Sequence[Row], key: str) -> list[int]:
    return list(dict.fromkeys(r[key] for r in rows if r[key] is not None))


class Expander:
    def __init__(self, services: Mapping[str, RelatedReads], limit: int) -> None:
        self.services = services
        self.limit = limit

    async def _lookup(
        self, storage: Storage, target: RelatedReads, ids: list[int], columns: tuple[str, ...]
    ) -> list[Row]:
        found: list[Row] = []
        for start in range(0, len(ids), CHUNK):
            found += await target.lookup(storage, padded(ids[start : start + CHUNK]), columns)
        return found

    async def _children(
        self, storage: Storage, target: RelatedReads, embed: Embed, ids: list[int]
    ) -> list[Row]:
        found: list[Row] = []
        field = embed.relation.field
        for start in range(0, len(ids), CHUNK):
            chunk = padded(ids[start : start + CHUNK])
            found += await target.children(storage, field, chunk, self.limit + 1, embed.fetch)
        return found

    async def values(
        self, storage: Storage, rows: Sequence[Row], embeds: Sequence[Embed]
    ) -> list[dict[str, Any]]:
        """For each row, the embedded values keyed by relation name (same order as rows)."""
        out: list[dict[str, Any]] = [{} for _ in rows]
        for embed in embeds:
            rel = embed.relation
            target = self.services[rel.target]
            if not rel.many:
                ids = _distinct(rows, rel.field)
                found = await self._lookup(storage, target, ids, embed.fetch) if ids else []
                shaped = await self.shape(storage, found, embed.shown, embed.nested)
                by_id = {r["id"]: s for r, s in zip(found, shaped, strict=True)}
                for row, values in zip(rows, out, strict=True):
                    values[rel.name] = by_id.get(row[rel.field])
                continue
            ids = _distinct(rows, "id")
            kids = await self._children(storage, target, embed, ids) if ids else []
            groups: dict[int, list[Row]] = {}
            for kid in kids:
                groups.setdefault(kid[rel.field], []).append(kid)
            kept = [kid for group in groups.values() for kid in group[: self.limit]]
            shaped = await self.shape(storage, kept, embed.shown, embed.nested)
            shaped_by_kid = {id(kid): s for kid, s in zip(kept, shaped, strict=True)}
            for row, values in zip(rows, out, strict=True):
                group = groups.get(row["id"], [])
                page = group[: self.limit]
                more = len(group) > self.limit
                values[rel.name] = {
                    "items": [shaped_by_kid[id(kid)] for kid in page],
                    "next_cursor": target.codec.encode(target.res, ID_ORDER, page[-1])
                    if more
                    else None,
                }
        return out

    async def shape(
        self,
        storage: Storage,
        rows: Sequence[Row],
        shown: tuple[str, ...],
        embeds: Sequence[Embed],
    ) -> list[Row]:
        """``rows`` as shown: the fields in ``shown``, then each embed's value. Rows come
        fresh from Storage, in ``shown`` order plus extra columns: when there are no extra
        columns the row itself is completed instead of copied."""
        if not embeds:
            return [row if len(row) == len(shown) else {k: row[k] for k in shown} for row in rows]
        extra = await self.values(storage, rows, embeds)
        out = []
        for row, values in zip(rows, extra, strict=True):
            if len(row) != len(shown):
                row = {k: row[k] for k in shown}
            row.update(values)
            out.append(row)
        return out

    async def page(self, storage: Storage, rows: Sequence[Row], expansion: Expansion) -> list[Row]:
        return await self.shape(storage, rows, expansion.shown, expansion.embeds)
