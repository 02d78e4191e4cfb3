"""The per-parent top-N behind to-many expansions: one statement for a whole page.

``ROW_NUMBER() OVER (PARTITION BY field ORDER BY id)`` numbers each parent's rows; the outer
query keeps the first ``limit`` of each (SQLite >= 3.25, MariaDB >= 10.2, MySQL 8 and every
supported PostgreSQL have window functions). With an index on ``(field, id)`` (every
reference has one) the database reads each parent's rows in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from omnicrud.core.query import And, Cond, Expr, ListQuery
from omnicrud.core.resources import Resource

from ._statements import Plan, Statements

_RANK = "omnicrud_rank"


def children_where(field: str, parent_ids: Sequence[int], where: Expr | None) -> Expr:
    among: Expr = Cond(field, "in", tuple(parent_ids))
    return among if where is None else And((among, where))


def children_plan(
    sql: Statements, res: Resource, field: str, expr: Expr, columns: tuple[str, ...]
) -> Plan:
    """Arguments: ``sql.where_args(res, expr, [])``, then the per-parent limit."""

    def build() -> Plan:
        t = sql.tables[res.name]
        names: list[str] = []
        rank = sa.func.row_number().over(partition_by=t.c[field], order_by=t.c.id)
        inner = (
            sa.select(*[t.c[n] for n in columns], rank.label(_RANK))
            .where(sql._clause(res, t, expr, names))
            .subquery("ranked")
        )
        names.append("limit")
        limit: Any = sa.bindparam("limit", type_=sa.Integer())
        stmt = (
            sa.select(*[inner.c[n] for n in columns])
            .where(inner.c[_RANK] <= limit)
            .order_by(inner.c[field], inner.c.id)
        )
        return sql._compile(stmt, names)

    key = ("children", res.name, field, ListQuery(expr, (), columns, 0).filter_shape())
    return sql._cached(key, build)  # type: ignore[no-any-return]
