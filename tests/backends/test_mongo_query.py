"""Filter and sort translation of the MongoDB backend: pure, no server needed."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from omnicrud.backends.mongo._query import to_filter, to_sort
from omnicrud.core.query import And, Cond, Or, SortKey
from tests.resources_testing import probes

UTC = dt.UTC


def test_null_semantics_are_sql_ones() -> None:
    assert to_filter(probes, Cond("s", "ne", "a")) == {"s": {"$nin": ["a", None]}}
    assert to_filter(probes, Cond("s", "isnull", True)) == {"s": None}
    assert to_filter(probes, Cond("s", "isnull", False)) == {"s": {"$ne": None}}
    assert to_filter(probes, Cond("n", "in", (1, 2))) == {"n": {"$in": [1, 2]}}
    assert to_filter(probes, Cond("n", "gt", 1)) == {"n": {"$gt": 1}}


def test_string_patterns_are_literal() -> None:
    text = "a%_\\.*+?()[]{}|^$#"
    contains = to_filter(probes, Cond("s", "contains", text))["s"]["$regex"]
    assert re.fullmatch(contains, text)
    assert not re.search(contains, "a%_\\x*+?()[]{}|^$#")
    starts = to_filter(probes, Cond("s", "startswith", text))["s"]["$regex"]
    assert starts.startswith("^")
    assert re.match(starts, text + "tail")
    assert to_filter(probes, Cond("s", "icontains", "Ab")) == {
        "s": {"$regex": "Ab", "$options": "i"}
    }


def test_values_never_become_operators() -> None:
    assert to_filter(probes, Cond("s", "eq", "$where")) == {"s": "$where"}
    with pytest.raises(TypeError):
        to_filter(probes, Cond("s", "eq", {"$ne": None}))
    with pytest.raises(TypeError):
        to_filter(probes, Cond("n", "eq", "1"))
    with pytest.raises(TypeError):
        to_filter(probes, Cond("n", "in", ({"$gt": 0},)))


def test_kinds_are_normalised() -> None:
    assert to_filter(probes, Cond("x", "eq", 3)) == {"x": 3.0}
    assert type(to_filter(probes, Cond("x", "eq", 3))["x"]) is float
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert to_filter(probes, Cond("t", "lte", when)) == {"t": {"$lte": when}}
    with pytest.raises(TypeError):  # naive datetimes would be taken for UTC silently
        to_filter(probes, Cond("t", "lte", when.replace(tzinfo=None)))


def test_trees_and_sort() -> None:
    expr = Or((And((Cond("id", "gt", 3), Cond("b", "eq", True))), Cond("k", "lt", 0)))
    assert to_filter(probes, expr) == {
        "$or": [{"$and": [{"_id": {"$gt": 3}}, {"b": True}]}, {"k": {"$lt": 0}}]
    }
    assert to_filter(probes, None) == {}
    sort = (SortKey("s", True), SortKey("n"), SortKey("id"))
    assert to_sort(sort) == [("s", -1), ("n", 1), ("_id", 1)]
