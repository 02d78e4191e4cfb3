"""Relations between resources (CONTRACT §8), derived from ``References`` markers, and the
parts of a list request that reach across them: ``expand``, dotted ``fields`` and filters.

``posts.owner_id: References("users")`` defines ``owner`` on posts (to-one) and ``posts`` on
users (to-many). ``References("users", name="author", reverse="articles")`` renames them.
Everything here is plain data; ``api.expand`` runs it and the backends translate
``Related`` filter nodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .errors import BadQuery, ConfigError
from .query import Expr, Related, parse_filters
from .resources import References, Resource

MAX_DEPTH = 2
"""Dotted paths reach two relations deep (``expand=owner.posts``)."""
PARSED_LIMIT = 1024
"""Most parsed expansions kept per ``Relations`` (the keys are request text)."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Relation:
    """``name`` on resource ``source``: rows of ``target`` linked through ``field``, which is a
    field of ``source`` for a to-one relation and of ``target`` for a to-many one."""

    name: str
    source: str
    target: str
    field: str
    many: bool


def _marker(res: Resource, name: str) -> References:
    info = res.model.model_fields[name]
    return next(m for m in info.metadata if isinstance(m, References))


class Relations:
    """Every relation of a set of resources, checked once at start-up (ConfigError)."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = {r.name: r for r in resources}
        self.of: dict[str, dict[str, Relation]] = {r.name: {} for r in resources}
        self.parsed: dict[tuple[str, str | None, str | None], Expansion | None] = {}
        for res in resources:
            for f in res.references:
                if f.references not in self.of:  # check_resources reports these
                    continue
                marker = _marker(res, f.name)
                one = marker.name or (f.name[:-3] if f.name.endswith("_id") else f.name)
                many = marker.reverse or res.name
                self._add(Relation(one, res.name, f.references, f.name, many=False))
                self._add(Relation(many, f.references, res.name, f.name, many=True))

    def _add(self, rel: Relation) -> None:
        owner = self.resources[rel.source]
        option = "reverse" if rel.many else "name"
        where = f"{rel.source}.{rel.name} (from {rel.target if rel.many else rel.source}"
        where += f".{rel.field})"
        if not _NAME.match(rel.name):
            raise ConfigError(f"relation {where}: the name must match {_NAME.pattern}")
        if rel.name in owner.by_name:
            raise ConfigError(
                f"relation {where} clashes with the field {rel.name!r}; "
                f"rename it with References(..., {option}=...)"
            )
        if rel.name in self.of[rel.source]:
            raise ConfigError(
                f"relation {where} is defined twice; rename one with References(..., {option}=...)"
            )
        self.of[rel.source][rel.name] = rel

    def get(self, res: Resource, name: str, param: str, what: str) -> Relation:
        rel = self.of[res.name].get(name)
        if rel is None:
            raise BadQuery(f"unknown relation {name!r} in {what}", param)
        return rel

    def paths(self, res: Resource) -> list[str]:
        """Every ``expand`` value for ``res``: relation names, then two-level paths."""
        first = list(self.of[res.name].values())
        return [r.name for r in first] + [f"{r.name}.{s}" for r in first for s in self.of[r.target]]

    def to_many(self) -> list[Relation]:
        return [r for rels in self.of.values() for r in rels.values() if r.many]


@dataclass(frozen=True, slots=True)
class Embed:
    """One expanded relation: which of its target's fields to show, and what it expands."""

    relation: Relation
    shown: tuple[str, ...]
    nested: tuple[Embed, ...]
    fetch: tuple[str, ...]
    """Columns to read: ``shown`` plus the ``id``/reference fields the embedding needs."""


@dataclass(frozen=True, slots=True)
class Expansion:
    """The relational part of a request: the resource's own fields to show, the embeds."""

    shown: tuple[str, ...]
    embeds: tuple[Embed, ...]
    needs: frozenset[str]
    """Own fields the embeds read (the reference of a to-one, ``id`` for a to-many)."""


@dataclass
class _Node:
    res: Resource
    selected: set[str] | None = None
    """What ``fields`` selects here; None: every field and every expansion."""
    whole: bool = False
    """``fields`` names this relation itself: nothing below it narrows it."""
    kids: dict[str, _Node] = field(default_factory=dict)


def _needs(embeds: Iterable[Embed]) -> set[str]:
    return {"id" if e.relation.many else e.relation.field for e in embeds}


def _shown(node: _Node) -> tuple[str, ...]:
    if node.selected is None:
        return node.res.readable
    return tuple(n for n in node.res.readable if n in node.selected)


def _build(relations: Relations, node: _Node) -> tuple[Embed, ...]:
    """The embeds under ``node``, in the order the relations are declared."""
    out = []
    for name, rel in relations.of[node.res.name].items():
        kid = node.kids.get(name)
        if kid is None or (node.selected is not None and name not in node.selected):
            continue
        nested = _build(relations, kid)
        shown = _shown(kid)
        wanted = {*shown, *_needs(nested), "id"}
        if rel.many:
            wanted.add(rel.field)
        fetch = tuple(n for n in kid.res.readable if n in wanted)
        out.append(Embed(rel, shown, nested, fetch))
    return tuple(out)


def _walk(relations: Relations, root: _Node, path: str, param: str) -> None:
    """Add one ``expand`` path or one ``fields`` entry (``param`` says which) to the tree."""
    is_fields = param == "fields"
    parts = path.split(".")
    node = root
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        f = node.res.by_name.get(part)
        if is_fields and last and f is not None and not f.secret:
            if node.selected is not None:
                node.selected.add(part)
            return
        if is_fields and part not in relations.of[node.res.name]:
            raise BadQuery(f"unknown field {path!r} in fields", param)
        if depth >= MAX_DEPTH:
            raise BadQuery(f"{param}: {path!r} reaches more than {MAX_DEPTH} relations", param)
        rel = relations.get(node.res, part, param, param)
        kid = node.kids.get(part)
        if kid is None:
            kid = node.kids[part] = _Node(relations.resources[rel.target])
        if is_fields:
            if node.selected is not None:
                node.selected.add(part)
            if last:
                kid.whole, kid.selected = True, None
            elif not kid.whole and kid.selected is None:
                kid.selected = set()
        node = kid


def parse_expansion(
    relations: Relations, res: Resource, expand: str | None, fields: str | None
) -> Expansion | None:
    """The embeds a request asks for; None when it asks for none (the plain list path).

    ``fields`` entries may be relation names (the whole embedded object) or dotted paths
    (``owner.username``); naming one expands it. With ``fields``, only what it names is shown.
    Parsed once per ``(expand, fields)`` text: an Expansion is immutable, so requests share it.
    """
    key = (res.name, expand, fields)
    cache = relations.parsed
    try:
        return cache[key]
    except KeyError:
        pass
    parsed = _parse(relations, res, expand, fields)  # BadQuery: nothing is cached
    if len(cache) >= PARSED_LIMIT:
        cache.clear()
    cache[key] = parsed
    return parsed


def _parse(
    relations: Relations, res: Resource, expand: str | None, fields: str | None
) -> Expansion | None:
    rels = relations.of[res.name]
    names = fields.split(",") if fields is not None else []
    if expand is None and not any("." in n or n in rels for n in names):
        return None
    root = _Node(res, None if fields is None else set())
    for path in dict.fromkeys(expand.split(",") if expand is not None else []):
        _walk(relations, root, path, "expand")
    plain: list[str] = []
    for name in names:
        if "." in name or name in rels:
            _walk(relations, root, name, "fields")
        else:
            plain.append(name)
    embeds = _build(relations, root)
    if fields is not None and plain:
        shown = _plain_fields(res, plain)
    else:
        shown = res.readable if fields is None else ()
    return Expansion(shown, embeds, frozenset(_needs(embeds)))


def _plain_fields(res: Resource, names: Sequence[str]) -> tuple[str, ...]:
    for name in names:
        f = res.by_name.get(name)
        if f is None or f.secret:
            raise BadQuery(f"unknown field {name!r} in fields", "fields")
    return tuple(n for n in res.readable if n in names)


def related_filters(
    relations: Relations, res: Resource, params: Iterable[tuple[str, str]]
) -> list[Expr]:
    """``owner.username=alice``-style filters (to-one relations only) as ``Related`` nodes."""
    out: list[Expr] = []
    for key, text in params:
        if "." not in key:
            continue
        path, sep, op = key.partition("__")
        *hops, name = path.split(".")
        if len(hops) > MAX_DEPTH:
            raise BadQuery(f"filter {key!r} reaches more than {MAX_DEPTH} relations", key)
        chain: list[Relation] = []
        node = res
        for hop in hops:
            rel = relations.get(node, hop, key, f"filter {key!r}")
            if rel.many:
                raise BadQuery(f"filter {key!r}: {hop!r} is a to-many relation", key)
            chain.append(rel)
            node = relations.resources[rel.target]
        try:
            (expr,) = parse_filters(node, [(name + sep + op, text)])
        except BadQuery as exc:
            raise BadQuery(f"filter {key!r}: {exc.detail}", key) from None
        result: Expr = expr
        for rel in reversed(chain):
            result = Related(rel.field, rel.target, result)
        out.append(result)
    return out
