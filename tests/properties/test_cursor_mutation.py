"""Keyset paging while rows are inserted and deleted between pages (CONTRACT §4: a cursor
"stays correct while rows are inserted or deleted")."""

from __future__ import annotations

import itertools

import hypothesis
from fastapi.testclient import TestClient
from hypothesis import given, note
from hypothesis import strategies as st

from tests.resources_testing import probes

from .probes import PATH, REF, create, dumps, fresh_tag, get_page, list_params
from .reference import Row
from .strategies import probe_bodies, sorts

MAX_PAGES = 200


@hypothesis.settings(max_examples=40)
@given(data=st.data())
def test_cursor_paging_under_inserts_and_deletes(
    probe_client: TestClient, data: st.DataObject
) -> None:
    tag = fresh_tag()
    initial = create(probe_client, data.draw(probe_bodies(tag, min_size=4), label="initial"))
    sort = data.draw(sorts(probes), label="sort")
    limit = data.draw(st.integers(1, 5), label="limit")
    base = list_params(tag, sort=sort, limit=limit)
    note(f"initial rows:\n{dumps(initial)}")

    live: dict[int, Row] = {r["id"]: r for r in initial}
    deleted: set[int] = set()
    # Rows inserted mid-way, with the last row seen before they were inserted.
    inserted: list[tuple[Row, Row | None]] = []
    seen: list[Row] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = base if cursor is None else [*base, ("cursor", cursor)]
        body = get_page(probe_client, params)
        for item in body["items"]:
            assert item["id"] in live, f"row {item['id']} did not exist when its page was read"
            assert item == live[item["id"]]
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        last = seen[-1] if seen else None
        if cursor is None:
            after = [r for r in live.values() if last is None or REF.compare(r, last, sort) > 0]
            assert not after, f"next_cursor is null but rows follow: {[r['id'] for r in after]}"
            break
        for row in create(probe_client, data.draw(probe_bodies(tag, max_size=3), label="insert")):
            live[row["id"]] = row
            inserted.append((row, last))
        victims = st.sets(st.sampled_from(sorted(live)), max_size=3) if live else st.just(set())
        doomed = data.draw(victims, label="delete")
        for row_id in sorted(doomed):
            resp = probe_client.delete(f"{PATH}/{row_id}")
            assert resp.status_code == 204, resp.text
            del live[row_id]
            deleted.add(row_id)
    else:
        raise AssertionError("cursor paging does not end")

    ids = [r["id"] for r in seen]
    assert len(ids) == len(set(ids)), f"rows seen twice: {ids}"
    for a, b in itertools.pairwise(seen):
        assert REF.compare(a, b, sort) < 0, f"out of order: {a['id']} then {b['id']}"
    throughout = {r["id"] for r in initial} - deleted
    assert throughout <= set(ids), f"missed rows that existed throughout: {throughout - set(ids)}"
    for row, before in inserted:
        if row["id"] not in deleted and (before is None or REF.compare(row, before, sort) > 0):
            assert row["id"] in ids, f"missed row {row['id']} inserted ahead of the cursor"
