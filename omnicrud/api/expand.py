"""Embedding related rows into a page (CONTRACT §8) without N+1: one statement per embed.

A to-one embed reads its targets with one ``id IN (...)`` list (one ``id = ANY($1)`` array
on PostgreSQL) of the distinct references on the page; a to-many embed reads every
parent's first rows with one ``Storage.children`` (a per-parent top-N). Both go through the
*target's* service (``RelatedReads``), the same calls its own routes make, so whatever that
service restricts (scopes, owner scoping) is restricted in embeds too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

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

    async def _embed(
        self, storage: Storage, rows: Sequence[Row], out: Sequence[Row], embed: Embed
    ) -> None:
        """Set ``out[i][name]`` to row ``i``'s embedded value (``out[i]`` may be ``rows[i]``)."""
        rel = embed.relation
        name = rel.name
        target = self.services[rel.target]
        if not rel.many:
            key = rel.field
            ids = _distinct(rows, key)
            found = await self._lookup(storage, target, ids, embed.fetch) if ids else []
            shaped = await self.shape(storage, found, embed.shown, embed.nested)
            by_id = {r["id"]: s for r, s in zip(found, shaped, strict=True)}
            for row, shown in zip(rows, out, strict=True):
                shown[name] = by_id.get(row[key])
            return
        ids = _distinct(rows, "id")
        kids = await self._children(storage, target, embed, ids) if ids else []
        groups: dict[int, list[Row]] = {}
        for kid in kids:
            groups.setdefault(kid[rel.field], []).append(kid)
        kept = [kid for group in groups.values() for kid in group[: self.limit]]
        shaped = await self.shape(storage, kept, embed.shown, embed.nested)
        shaped_by_kid = {id(kid): s for kid, s in zip(kept, shaped, strict=True)}
        for row, shown in zip(rows, out, strict=True):
            group = groups.get(row["id"], [])
            page = group[: self.limit]
            more = len(group) > self.limit
            shown[name] = {
                "items": [shaped_by_kid[id(kid)] for kid in page],
                "next_cursor": target.codec.encode(target.res, ID_ORDER, page[-1])
                if more
                else None,
            }

    async def shape(
        self,
        storage: Storage,
        rows: Sequence[Row],
        shown: tuple[str, ...],
        embeds: Sequence[Embed],
    ) -> list[Row]:
        """``rows`` as shown: the fields in ``shown``, then each embed's value. Rows come
        fresh from Storage, in ``shown`` order plus extra columns: a row without extra
        columns is completed in place, others are copied (the embeds still read the
        originals, which hold the reference fields)."""
        width = len(shown)
        out = [row if len(row) == width else {k: row[k] for k in shown} for row in rows]
        for embed in embeds:
            await self._embed(storage, rows, out, embed)
        return out

    async def page(self, storage: Storage, rows: Sequence[Row], expansion: Expansion) -> list[Row]:
        return await self.shape(storage, rows, expansion.shown, expansion.embeds)
