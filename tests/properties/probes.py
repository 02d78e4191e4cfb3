"""HTTP helpers shared by the property tests: create probe rows, fetch list pages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.resources_testing import probes

from .reference import Filter, Reference, Row, Sort, parse_datetime
from .strategies import wire_datetime

REF = Reference(probes)
PATH = "/probes"


def fresh_tag() -> str:
    return uuid.uuid4().hex


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def expected_echo(body: dict[str, Any]) -> dict[str, Any]:
    """What a created row's user fields must be: the body, timestamps normalized to UTC ms."""
    out = {f.name: body[f.name] for f in probes.user_fields}
    if out["t"] is not None:
        out["t"] = wire_datetime(parse_datetime(out["t"]))
    return out


def create(client: TestClient, bodies: Sequence[dict[str, Any]]) -> list[Row]:
    if not bodies:
        return []
    resp = client.post(PATH, json=list(bodies))
    assert resp.status_code == 201, f"bulk create -> {resp.status_code} {resp.text}"
    rows: list[Row] = resp.json()
    assert len(rows) == len(bodies)
    user = [f.name for f in probes.user_fields]
    for body, row in zip(bodies, rows, strict=True):
        assert list(row) == list(probes.readable), row
        echoed = {name: row[name] for name in user}
        # Compared as JSON text: 1.0 must not come back as 1, nor a bool as 0/1.
        assert dumps(echoed) == dumps(expected_echo(body)), "created row differs from its body"
        dt.datetime.fromisoformat(row["created_at"])
    return rows


def list_params(
    tag: str,
    filters: Sequence[Filter] = (),
    sort: Sequence[Sort] = (),
    fields: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[tuple[str, str]]:
    params = [("tag", tag), *((f.param, f.text) for f in filters)]
    if sort:
        params.append(("sort", ",".join(s.param for s in sort)))
    if fields is not None:
        params.append(("fields", ",".join(fields)))
    if limit is not None:
        params.append(("limit", str(limit)))
    return params


def get_page(client: TestClient, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    resp = client.get(PATH, params=list(params))
    assert resp.status_code == 200, f"GET {PATH} {list(params)} -> {resp.status_code} {resp.text}"
    body: dict[str, Any] = resp.json()
    assert list(body) == ["items", "next_cursor", "total"], body
    return body


def assert_items(got: list[Row], expected: list[Row], params: Sequence[tuple[str, str]]) -> None:
    if dumps(got) != dumps(expected):
        got_ids = [r.get("id") for r in got]
        want_ids = [r.get("id") for r in expected]
        raise AssertionError(
            f"GET {PATH} {list(params)}\nids got {got_ids}\nids want {want_ids}\n"
            f"got:\n{dumps(got)}\nwant:\n{dumps(expected)}"
        )
