"""Each filter operator, SQL NULL semantics, literal wildcards, code-point order (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import created, listing, make_user, names, problem, uid

ROWS: list[tuple[str, float, str | None]] = [
    ("a", 1.5, "apple"),
    ("b", 2.5, None),
    ("c", 10.0, "Apple pie"),
    ("d", 2.5, "banana"),
    ("e", 0.0, None),
    ("f", 100.25, "APPLE"),
]


@pytest.fixture
def prefix(client: TestClient) -> str:
    p = uid()
    rows = [{"name": f"{p}{n}", "price": x, "description": d} for n, x, d in ROWS]
    created(client.post("/items", json=rows))
    return p


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"price": "2.5"}, "bd"),
        ({"price": "2.50"}, "bd"),
        ({"price": "0"}, "e"),
        ({"price__ne": "2.5"}, "acef"),
        ({"price__gt": "2.5"}, "cf"),
        ({"price__gte": "2.5"}, "bcdf"),
        ({"price__lt": "2.5"}, "ae"),
        ({"price__lte": "2.5"}, "abde"),
        ({"price__in": "1.5,100.25,7"}, "af"),
        ({"price__in": "2.5"}, "bd"),
        ({"price__gt": "1", "price__lt": "10"}, "abd"),
        ({"price__gte": "-1e3"}, "abcdef"),
        ({"description": "apple"}, "a"),
        ({"description": "Apple"}, ""),
        ({"description__ne": "apple"}, "cdf"),
        ({"description__gt": "Apple pie"}, "ad"),
        ({"description__gte": "Apple pie"}, "acd"),
        ({"description__lt": "apple"}, "cf"),
        ({"description__lte": "apple"}, "acf"),
        ({"description__in": "apple,banana,nothing"}, "ad"),
        ({"description__contains": "pple"}, "ac"),
        ({"description__contains": "PPLE"}, "f"),
        ({"description__icontains": "aPpLe"}, "acf"),
        ({"description__icontains": "NAN"}, "d"),
        ({"description__startswith": "Apple"}, "c"),
        ({"description__startswith": "apple"}, "a"),
        ({"description__isnull": "true"}, "be"),
        ({"description__isnull": "false"}, "acdf"),
        ({"description__isnull": "false", "description__ne": "banana"}, "acf"),
        ({"description__isnull": "true", "price": "2.5"}, "b"),
    ],
)
def test_operator(client: TestClient, prefix: str, params: dict[str, str], expected: str) -> None:
    assert names(client, prefix, **params) == list(expected)


def test_null_matches_only_isnull(client: TestClient, prefix: str) -> None:
    not_null = set("acdf")
    for op, value in [
        ("ne", "zzz"),
        ("gt", ""),
        ("gte", ""),
        ("lt", "\U0010ffff"),
        ("lte", "\U0010ffff"),
        ("in", "apple,banana,APPLE,Apple pie"),
        ("contains", ""),
        ("icontains", ""),
        ("startswith", ""),
    ]:
        got = set(names(client, prefix, **{f"description__{op}": value}))
        assert got == not_null, (op, got)


def test_filters_on_id_and_timestamps(client: TestClient, prefix: str) -> None:
    rows = listing(client, "/items", name__startswith=prefix)["items"]
    ids = [r["id"] for r in rows]
    assert names(client, prefix, id=str(ids[2])) == ["c"]
    assert names(client, prefix, id__gt=str(ids[3])) == ["e", "f"]
    assert names(client, prefix, id__in=f"{ids[0]},{ids[5]}") == ["a", "f"]
    assert names(client, prefix, id__ne=str(ids[0])) == list("bcdef")
    stamp = rows[0]["created_at"]
    assert names(client, prefix, created_at__gte=stamp) == list("abcdef")
    assert names(client, prefix, created_at__lt=stamp) == []
    assert names(client, prefix, updated_at__lte="2999-01-01T00:00:00+05:00") == list("abcdef")
    assert names(client, prefix, created_at__gt="2999-01-01T00:00:00.000Z") == []


def test_bool_filter(client: TestClient) -> None:
    p = uid()
    make_user(client, f"{p}on")
    make_user(client, f"{p}off", is_active=False)

    def usernames(**params: Any) -> list[str]:
        body = listing(client, "/users", username__startswith=p, **params)
        return [u["username"].removeprefix(p) for u in body["items"]]

    assert usernames() == ["on", "off"]
    assert usernames(is_active="true") == ["on"]
    assert usernames(is_active="false") == ["off"]
    assert usernames(is_active__ne="true") == ["off"]
    assert usernames(full_name__isnull="true") == ["on", "off"]
    assert usernames(sort="is_active") == ["off", "on"]
    assert usernames(sort="-is_active") == ["on", "off"]


def test_literal_wildcards_and_metacharacters(client: TestClient) -> None:
    p = uid()
    words = [
        "100%",
        "100x",
        "a_b",
        "axb",
        "back\\slash",
        "backxslash",
        "a.c",
        "abc",
        "(x)*",
        "x+",
        "[ab]",
        "a",
        "^$",
        "?",
        "a%b_c\\d",
    ]
    created(client.post("/items", json=[{"name": f"{p}{w}", "price": 1} for w in words]))

    def having(op: str, needle: str) -> list[str]:
        return names(client, p, **{f"name__{op}": needle})

    assert having("contains", "%") == ["100%", "a%b_c\\d"]
    assert having("contains", "0%") == ["100%"]
    assert having("contains", "_") == ["a_b", "a%b_c\\d"]
    assert having("contains", "a_b") == ["a_b"]
    assert having("contains", "\\") == ["back\\slash", "a%b_c\\d"]
    assert having("contains", "k\\s") == ["back\\slash"]
    assert having("contains", ".") == ["a.c"]
    assert having("contains", "(x)*") == ["(x)*"]
    assert having("contains", "x+") == ["x+"]
    assert having("contains", "[ab]") == ["[ab]"]
    assert having("contains", "^$") == ["^$"]
    assert having("contains", "?") == ["?"]
    assert having("contains", "*") == ["(x)*"]
    assert having("icontains", "%B_C\\") == ["a%b_c\\d"]
    assert having("icontains", "A_B") == ["a_b"]
    assert having("icontains", "A.C") == ["a.c"]
    assert having("startswith", f"{p}a_") == ["a_b"]
    assert having("startswith", f"{p}a%") == ["a%b_c\\d"]
    assert having("startswith", f"{p}[") == ["[ab]"]
    assert having("startswith", f"{p}^") == ["^$"]
    assert having("startswith", f"{p}.") == []
    assert names(client, p, name=f"{p}a_b") == ["a_b"]
    assert names(client, p, name=f"{p}a%") == []
    assert names(client, p, name__in=f"{p}a,{p}a.c") == ["a.c", "a"]


def test_code_point_order(client: TestClient) -> None:
    p = uid()
    words = ["b", "a ", "B", "é", "a", "Z", "É", "😀", "\ufb01", "aa", "_", "~", "ä", "A", "a\t"]
    created(client.post("/items", json=[{"name": f"{p}{w}", "price": 1} for w in words]))
    assert names(client, p, sort="name") == sorted(words)
    assert names(client, p, sort="-name") == sorted(words, reverse=True)
    assert names(client, p, name__gt=f"{p}a") == [w for w in words if w > "a"]
    assert names(client, p, name__lte=f"{p}Z", sort="name") == sorted(w for w in words if w <= "Z")


def test_equality_is_exact(client: TestClient) -> None:
    p = uid()
    words = ["a", "a ", "A", "á", "a\u0301"]
    created(client.post("/items", json=[{"name": f"{p}{w}", "price": 1} for w in words]))
    for w in words:
        assert names(client, p, name=f"{p}{w}") == [w], repr(w)
    assert names(client, p, name__ne=f"{p}a") == ["a ", "A", "á", "a\u0301"]
    assert names(client, p, name__contains="A") == ["A"]


def test_icontains_ascii(client: TestClient) -> None:
    p = uid()
    words = ["xABCx", "abc", "AbC", "ab c", "xyz"]
    created(client.post("/items", json=[{"name": f"{p}{w}", "price": 1} for w in words]))
    assert names(client, p, name__icontains="abc") == ["xABCx", "abc", "AbC"]
    assert names(client, p, name__icontains="ABC") == ["xABCx", "abc", "AbC"]
    assert names(client, p, name__contains="abc") == ["abc"]
    assert names(client, p, name__icontains=p.upper() + "X") == ["xABCx", "xyz"]


def test_in_with_many_values(client: TestClient, prefix: str) -> None:
    values = ",".join(str(v) for v in range(1000, 1500)) + ",2.5,0"
    assert names(client, prefix, price__in=values) == ["b", "d", "e"]


@pytest.mark.parametrize("op", ["contains", "icontains", "startswith"])
def test_pattern_values_are_capped_the_same_everywhere(client: TestClient, op: str) -> None:
    """MongoDB caps regular expressions: a long pattern value is 400 on every backend."""
    assert client.get(f"/items?name__{op}={'x' * 500}").status_code == 200
    response = client.get(f"/items?name__{op}={'x' * 501}")
    problem(response, 400, "bad-query")
    assert response.json()["param"] == f"name__{op}"
