"""Random datasets and random list queries, checked against the reference evaluation of
CONTRACT §4 (filters with SQL NULL semantics, code-point order, nulls first ascending / last
descending, id as final tie-breaker, fields, limit/offset, count, next_cursor, cursor paging).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import event, given, note
from hypothesis import strategies as st

from tests.resources_testing import probes

from .probes import REF, assert_items, create, dumps, fresh_tag, get_page, list_params
from .reference import Filter, Row, Sort
from .strategies import field_lists, filters, probe_bodies, sorts

MAX_PAGES = 100


def check_query(
    client: TestClient,
    rows: list[Row],
    tag: str,
    where: list[Filter],
    sort: list[Sort],
    fields: list[str] | None,
    limit: int | None,
    offset: int | None,
    offset_name: str,
    count: bool,
) -> None:
    """One offset-mode page, then keyset pages via next_cursor until the end."""
    expected = [REF.project(r, fields) for r in REF.select(rows, where, sort)]
    event(f"rows matched: {min(len(expected), 5)}{'+' if len(expected) >= 5 else ''}")
    base = list_params(tag, where, sort, fields, limit)
    page_size = 50 if limit is None else limit
    start = offset or 0

    params = list(base)
    if offset is not None:
        params.append((offset_name, str(offset)))
    if count:
        params.append(("count", "true"))
    body = get_page(client, params)
    assert_items(body["items"], expected[start : start + page_size], params)
    assert body["total"] == (len(expected) if count else None), (params, body["total"])
    more = start + page_size < len(expected)
    assert (body["next_cursor"] is not None) == more, (params, body["next_cursor"])

    seen = len(body["items"])
    pages = 0
    while body["next_cursor"] is not None:
        pages += 1
        assert pages < MAX_PAGES, "cursor paging does not end"
        params = [*base, ("cursor", body["next_cursor"])]
        body = get_page(client, params)
        position = start + seen
        assert_items(body["items"], expected[position : position + page_size], params)
        assert body["total"] is None
        seen += len(body["items"])
        more = position + page_size < len(expected)
        assert (body["next_cursor"] is not None) == more, (params, body["next_cursor"])
    assert start + seen >= len(expected)


@given(data=st.data())
def test_list_queries_match_reference(probe_client: TestClient, data: st.DataObject) -> None:
    tag = fresh_tag()
    bodies = data.draw(probe_bodies(tag), label="bodies")
    rows = create(probe_client, bodies)
    note(f"rows:\n{dumps(rows)}")
    # Random queries, then one per text operator (the riskiest translations) on every dataset.
    text_ops = ["contains", "icontains", "startswith"]
    queries = data.draw(st.integers(1, 3), label="queries")
    for op in [None] * queries + text_ops:
        where = data.draw(st.lists(filters(probes, rows), max_size=2), label="filters")
        if op:
            where.append(data.draw(filters(probes, rows, op), label=op))
        sort = data.draw(sorts(probes), label="sort")
        fields = data.draw(field_lists(probes), label="fields")
        limit = data.draw(st.none() | st.integers(1, 8), label="limit")
        offset = data.draw(st.none() | st.integers(0, len(rows) + 1), label="offset")
        offset_name = data.draw(st.sampled_from(["offset", "skip"]), label="offset name")
        count = data.draw(st.booleans(), label="count")
        check_query(probe_client, rows, tag, where, sort, fields, limit, offset, offset_name, count)
