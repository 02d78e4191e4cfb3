"""Random teams/members datasets and random list queries with relation filters, expansions
and ``fields=`` into them, checked against ``relations_reference`` (CONTRACT §8), with
cursor paging through every page and embedded cursors continued on the nested route."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, note, settings
from hypothesis import strategies as st

from .probes import dumps, fresh_tag
from .reference import Filter, Row, Sort
from .relations_reference import REF, RELATIONS, PathFilter, World, cursors_to_flags
from .strategies import field_value_text, floats, needle, nullable, sorts, strings

PATHS = {
    "members": [
        "squad",
        "mentor",
        "mentees",
        "mentor.squad",
        "mentor.mentees",
        "mentees.squad",
        "mentees.mentor",
        "squad.roster",
    ],
    "teams": ["roster", "roster.squad", "roster.mentor", "roster.mentees"],
}
HOPS = [("squad",), ("mentor",), ("mentor", "squad"), ("mentor", "mentor")]
FILTERABLE = {"teams": ["name", "rank", "id"], "members": ["handle", "score", "id", "team_id"]}
ORDERED = ["eq", "ne", "gt", "gte", "lt", "lte", "in"]


def post(client: TestClient, path: str, bodies: list[dict[str, Any]]) -> list[Row]:
    if not bodies:
        return []
    response = client.post(path, json=bodies)
    assert response.status_code == 201, response.text
    rows: list[Row] = response.json()
    return rows


@st.composite
def dataset(draw: st.DrawFn, client: TestClient, tag: str) -> dict[str, list[Row]]:
    team_bodies = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "tag": st.just(tag),
                    "name": nullable(strings),
                    "rank": nullable(st.integers(-3, 3)),
                }
            ),
            max_size=4,
        ),
        label="teams",
    )
    team_rows = post(client, "/teams", team_bodies)
    team_ids = st.none() | st.sampled_from([t["id"] for t in team_rows]) if team_rows else st.none()

    def member(mentors: list[int]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {
                "tag": st.just(tag),
                "handle": nullable(strings),
                "score": nullable(floats),
                "team_id": team_ids,
                "mentor_id": st.none() | st.sampled_from(mentors) if mentors else st.none(),
            }
        )

    first = post(client, "/members", draw(st.lists(member([]), max_size=6), label="members"))
    mentors = [m["id"] for m in first]
    second = post(client, "/members", draw(st.lists(member(mentors), max_size=6), label="mentees"))
    return {"teams": team_rows, "members": first + second}


@st.composite
def path_filters(draw: st.DrawFn, world: World) -> PathFilter:
    hops = draw(st.sampled_from(HOPS))
    target = "members"
    for hop in hops:
        target = RELATIONS[target][hop].target
    res = REF[target].res
    rows = world.rows[target]
    field = draw(st.sampled_from(FILTERABLE[target]))
    spec = res.by_name[field]
    ops = [*ORDERED, "contains", "icontains", "startswith"] if spec.kind == "str" else ORDERED
    if spec.nullable:
        ops = [*ops, "isnull"]
    op = draw(st.sampled_from(ops))
    if op == "isnull":
        text = draw(st.sampled_from(["true", "false"]))
    elif op in ("contains", "icontains", "startswith"):
        text = draw(needle(rows, field, ascii_only=op == "icontains"))
    elif op == "in":
        values = draw(st.lists(field_value_text(res, rows, field), min_size=1, max_size=3))
        text = ",".join(v for v in values if "," not in v) or "0"
        if spec.kind == "str" and text == "0":
            text = "a"
    else:
        text = draw(field_value_text(res, rows, field))
    return PathFilter(hops, Filter(field, op, text))


def tree(paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        first, _, second = path.partition(".")
        sub = out.setdefault(first, ({}, None))[0]
        if second:
            sub.setdefault(second, ({}, None))
    return out


def all_pages(client: TestClient, path: str, params: list[tuple[str, str]]) -> list[Row]:
    items: list[Row] = []
    query = params
    for _ in range(100):
        response = client.get(path, params=query)
        assert response.status_code == 200, (path, query, response.text)
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        query = [*params, ("cursor", body["next_cursor"])]
    raise AssertionError("cursor paging does not end")


@settings(max_examples=60)
@given(data=st.data())
def test_relations_match_reference(relation_client: TestClient, data: st.DataObject) -> None:
    tag = fresh_tag()
    world = World(data.draw(dataset(relation_client, tag), label="dataset"))
    note(f"rows:\n{dumps(world.rows)}")
    for _ in range(data.draw(st.integers(1, 3), label="queries")):
        resource = data.draw(st.sampled_from(["members", "members", "teams"]), label="resource")
        res = REF[resource].res
        where = []
        if resource == "members":
            where = data.draw(st.lists(path_filters(world), max_size=2), label="relation filters")
        fields_mode = data.draw(st.integers(0, 3), label="fields mode") == 0
        expand: list[str] = data.draw(
            st.lists(st.sampled_from(PATHS[resource]), max_size=3, unique=True), label="expand"
        )
        fields: list[str] | None = None
        shape = tree(expand)
        if fields_mode:
            own = data.draw(st.lists(st.sampled_from(res.readable), max_size=3, unique=True))
            rels = sorted({p.partition(".")[0] for p in expand})
            fields = list(own)
            shape = {}
            for name in rels:
                target = REF[RELATIONS[resource][name].target].res
                picked = data.draw(
                    st.lists(st.sampled_from(target.readable), max_size=2, unique=True)
                )
                fields += [f"{name}.{f}" for f in picked]
                if picked:
                    shape[name] = ({}, set(picked))
            if not fields:
                fields = ["id"]
            expand = [p for p in expand if "." not in p]
        sort: list[Sort] = data.draw(sorts(res), label="sort")
        limit = data.draw(st.none() | st.integers(1, 5), label="limit")

        params = [("tag", tag), *((f.param, f.filter.text) for f in where)]
        if expand:
            params.append(("expand", ",".join(expand)))
        if fields is not None:
            params.append(("fields", ",".join(fields)))
        if sort:
            params.append(("sort", ",".join(s.param for s in sort)))
        if limit is not None:
            params.append(("limit", str(limit)))
        rows = [
            r for r in world.rows[resource] if all(world.matches(resource, r, f) for f in where)
        ]
        rows = REF[resource].order(rows, sort)
        shown = None if fields is None else set(fields)
        expected = [world.embed(resource, r, shape, shown) for r in rows]
        got = all_pages(relation_client, f"/{resource}", params)
        if cursors_to_flags(got) != expected:
            raise AssertionError(
                f"GET /{resource} {params}\ngot:\n{dumps(cursors_to_flags(got))}\n"
                f"want:\n{dumps(expected)}"
            )
        if fields is None:
            continue_embedded_pages(relation_client, resource, got, world)


def continue_embedded_pages(
    client: TestClient, resource: str, got: list[Row], world: World
) -> None:
    """Every embedded page's cursor continues on the nested route, in id order."""
    for row in got:
        for name, rel in RELATIONS[resource].items():
            page = row.get(name)
            if not rel.many or page is None or page["next_cursor"] is None:
                continue
            rest = all_pages(
                client, f"/{resource}/{row['id']}/{name}", [("cursor", page["next_cursor"])]
            )
            kids = sorted(r["id"] for r in world.rows[rel.target] if r[rel.field] == row["id"])
            assert [k["id"] for k in page["items"]] + [r["id"] for r in rest] == kids
