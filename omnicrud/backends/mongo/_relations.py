"""Reads across references on MongoDB, inside the database: ``Related`` filters as
``$lookup`` stages, and the per-parent top-N of to-many expansions as one aggregation.

A ``Related(field, target, where)`` node becomes ``$lookup`` from ``target`` on
``field = _id`` whose pipeline keeps only rows matching ``where`` (and only their ``_id``);
the row matches when that lookup found one. No parent ids travel through Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from omnicrud.core.query import And, Cond, Expr, ListQuery, Or, Related
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row

from ._errors import translate
from ._layout import Layout, key_of
from ._query import to_filter, to_sort

Doc = dict[str, Any]
_ALIAS = "_omnicrud_related_{}"


def has_related(expr: Expr | None) -> bool:
    if expr is None or isinstance(expr, Cond):
        return False
    if isinstance(expr, Related):
        return True
    return any(has_related(p) for p in expr.parts)


def related_filter(
    layouts: Mapping[str, Layout], res: Resource, expr: Expr, stages: list[Doc]
) -> Doc:
    """The filter for ``expr`` once ``stages`` (appended here: the lookups) have run."""
    if not has_related(expr):
        return to_filter(res, expr)
    if isinstance(expr, Related):
        target = layouts[expr.target].res
        inner: list[Doc] = []
        match = related_filter(layouts, target, expr.where, inner)
        alias = _ALIAS.format(len(stages))
        lookup = {
            "from": target.name,
            "localField": key_of(expr.field),
            "foreignField": "_id",
            "pipeline": [*inner, {"$match": match}, {"$project": {"_id": 1}}, {"$limit": 1}],
            "as": alias,
        }
        stages.append({"$lookup": lookup})
        return {alias: {"$ne": []}}
    assert isinstance(expr, And | Or)
    parts = [related_filter(layouts, res, p, stages) for p in expr.parts]
    return {"$and" if isinstance(expr, And) else "$or": parts}


def match_stages(layouts: Mapping[str, Layout], res: Resource, expr: Expr | None) -> list[Doc]:
    """``$match``/``$lookup`` stages for ``expr``: plain conditions first (they may use an
    index and spare the lookups most rows), then the lookups and what needs them."""
    if expr is None:
        return []
    parts = expr.parts if isinstance(expr, And) else (expr,)
    plain = [p for p in parts if not has_related(p)]
    related = [p for p in parts if has_related(p)]
    stages: list[Doc] = []
    if plain:
        stages.append(
            {"$match": to_filter(res, plain[0] if len(plain) == 1 else And(tuple(plain)))}
        )
    if related:
        lookups: list[Doc] = []
        rest = related[0] if len(related) == 1 else And(tuple(related))
        match = related_filter(layouts, res, rest, lookups)
        stages += [*lookups, {"$match": match}]
    return stages


class RelatedReads:
    """The part of ``MongoStorage`` that reads across references."""

    _layouts: dict[str, Layout]
    _colls: dict[str, AsyncCollection[Doc]]
    _ms: int

    async def _aggregate(self, layout: Layout, pipeline: list[Doc], batch: int) -> list[Doc]:
        """All results in one reply (``batchSize``): one round trip, no getMore."""
        try:
            coll = self._colls[layout.name]
            cursor = await coll.aggregate(pipeline, maxTimeMS=self._ms, batchSize=max(batch, 1))
            return await cursor.to_list()
        except PyMongoError as exc:
            raise translate(exc, layout) from exc

    async def list_related(self, res: Resource, query: ListQuery) -> list[Row]:
        layout = self._layouts[res.name]
        pipeline = match_stages(self._layouts, res, query.where)
        pipeline.append({"$sort": dict(to_sort(query.sort))})
        if query.offset:
            pipeline.append({"$skip": query.offset})
        pipeline.append({"$limit": query.limit})
        pipeline.append({"$project": layout.projection_for(query.columns)})
        decoders = layout.list_decoders(query.columns)
        docs = await self._aggregate(layout, pipeline, query.limit)
        return [layout.list_row(doc, decoders) for doc in docs]

    async def count_related(self, res: Resource, where: Expr | None) -> int:
        layout = self._layouts[res.name]
        pipeline = [*match_stages(self._layouts, res, where), {"$count": "n"}]
        found = await self._aggregate(layout, pipeline, 1)
        return int(found[0]["n"]) if found else 0

    async def children(
        self,
        res: Resource,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
        where: Expr | None = None,
    ) -> list[Row]:
        """One aggregation: the parents' rows, grouped by parent, the first ``limit`` of
        each by ``_id`` (``$topN``: bounded memory per parent)."""
        layout = self._layouts[res.name]
        among: Expr = Cond(field, "in", tuple(parent_ids))
        key = key_of(field)
        projection = {**layout.projection_for(columns), "_id": 1, key: 1}
        top = {"n": limit, "sortBy": {"_id": 1}, "output": "$$ROOT"}
        pipeline = [
            *match_stages(self._layouts, res, among if where is None else And((among, where))),
            {"$project": projection},
            {"$group": {"_id": f"${key}", "rows": {"$topN": top}}},
        ]
        decoders = layout.list_decoders(columns)
        groups = await self._aggregate(layout, pipeline, len(parent_ids))
        return [layout.list_row(doc, decoders) for g in groups for doc in g["rows"]]
