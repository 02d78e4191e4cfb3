"""A plain-Python evaluation of CONTRACT §8 over teams/members rows as the API returns them:
filters across to-one relations (``squad.name__gt=...``), expansions and ``fields=``.

Independent of ``omnicrud.core.relations``: the relations are spelled out here by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.resources_testing import members, teams

from .reference import Filter, Reference, Row

EXPAND_LIMIT = 3
"""The relation app of this folder runs with OMNICRUD_EXPAND_LIMIT=3."""

REF = {"teams": Reference(teams), "members": Reference(members)}


@dataclass(frozen=True)
class Rel:
    name: str
    source: str
    target: str
    field: str
    many: bool


RELATIONS = {
    "members": {
        "squad": Rel("squad", "members", "teams", "team_id", many=False),
        "mentor": Rel("mentor", "members", "members", "mentor_id", many=False),
        "mentees": Rel("mentees", "members", "members", "mentor_id", many=True),
    },
    "teams": {"roster": Rel("roster", "teams", "members", "team_id", many=True)},
}


@dataclass(frozen=True)
class PathFilter:
    """``hops`` (to-one relation names) then an ordinary filter on the last target."""

    hops: tuple[str, ...]
    filter: Filter

    @property
    def param(self) -> str:
        return ".".join((*self.hops, self.filter.param))


class World:
    def __init__(self, rows: dict[str, list[Row]]) -> None:
        self.rows = rows
        self.by_id = {name: {r["id"]: r for r in rs} for name, rs in rows.items()}

    def follow(self, resource: str, row: Row, hops: Sequence[str]) -> tuple[str, Row | None]:
        for hop in hops:
            rel = RELATIONS[resource][hop]
            ref = row[rel.field]
            found = None if ref is None else self.by_id[rel.target].get(ref)
            if found is None:
                return rel.target, None
            resource, row = rel.target, found
        return resource, row

    def matches(self, resource: str, row: Row, f: PathFilter) -> bool:
        target, found = self.follow(resource, row, f.hops)
        return found is not None and REF[target].matches(found, f.filter)

    def embed(self, resource: str, row: Row, path: dict[str, Any], shown: Any) -> Row:
        """``row`` with ``path`` (relation name -> sub-paths) embedded; ``shown`` is None
        (all fields) or the set of field names to keep."""
        names = REF[resource].res.readable
        out = {n: row[n] for n in names if shown is None or n in shown}
        for name, rel in RELATIONS[resource].items():
            if name not in path:
                continue
            sub, sub_shown = path[name]
            if rel.many:
                kids = sorted(
                    (r for r in self.rows[rel.target] if r[rel.field] == row["id"]),
                    key=lambda r: r["id"],
                )
                out[name] = {
                    "items": [
                        self.embed(rel.target, k, sub, sub_shown) for k in kids[:EXPAND_LIMIT]
                    ],
                    "next_cursor": len(kids) > EXPAND_LIMIT,  # compared as "is not None"
                }
            else:
                ref = row[rel.field]
                found = None if ref is None else self.by_id[rel.target].get(ref)
                out[name] = None if found is None else self.embed(rel.target, found, sub, sub_shown)
        return out


def cursors_to_flags(value: Any) -> Any:
    """An API body with every embedded ``next_cursor`` turned into a bool (is it set)."""
    if isinstance(value, list):
        return [cursors_to_flags(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"items", "next_cursor"}:
            return {
                "items": cursors_to_flags(value["items"]),
                "next_cursor": value["next_cursor"] is not None,
            }
        return {k: cursors_to_flags(v) for k, v in value.items()}
    return value
