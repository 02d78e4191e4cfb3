"""CONTRACT §8 on the bundled users -> posts: expansions, nested routes, relation filters,
against a small hand-checked dataset built by each test."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.support import (
    MISSING_ID,
    POST_KEYS,
    USER_KEYS,
    created,
    invalid,
    listing,
    make_post,
    make_user,
    problem,
    uid,
)


def world(client: TestClient) -> dict[str, Any]:
    """alice: 3 posts, bob: 1 post, carol: none. Titles start with the test's prefix."""
    p = uid()
    alice = make_user(client, f"{p}alice", full_name="Alice A.")
    bob = make_user(client, f"{p}bob")
    carol = make_user(client, f"{p}carol", is_active=False)
    posts = [
        make_post(client, alice["id"], f"{p} a1"),
        make_post(client, bob["id"], f"{p} b1", body="hello"),
        make_post(client, alice["id"], f"{p} a2"),
        make_post(client, alice["id"], f"{p} a3"),
    ]
    return {"p": p, "alice": alice, "bob": bob, "carol": carol, "posts": posts}


def own(client: TestClient, path: str) -> dict[str, Any]:
    """A row exactly as its own GET returns it."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_expand_owner_on_list_embeds_the_users_own_get(client: TestClient) -> None:
    w = world(client)
    body = listing(client, "/posts", title__startswith=w["p"], expand="owner")
    users = {u["id"]: own(client, f"/users/{u['id']}") for u in (w["alice"], w["bob"])}
    assert [r["id"] for r in body["items"]] == [r["id"] for r in w["posts"]]
    for row, post in zip(body["items"], w["posts"], strict=True):
        assert list(row) == [*POST_KEYS, "owner"]
        assert {k: row[k] for k in POST_KEYS} == post
        assert row["owner"] == users[post["owner_id"]]
        assert list(row["owner"]) == USER_KEYS  # never the password
    assert "password" not in str(body)


def test_expand_owner_on_get_one(client: TestClient) -> None:
    w = world(client)
    post = w["posts"][1]
    response = client.get(f"/posts/{post['id']}", params={"expand": "owner"})
    assert response.status_code == 200, response.text
    assert response.json() == {**post, "owner": own(client, f"/users/{w['bob']['id']}")}
    plain = client.get(f"/posts/{post['id']}")
    assert plain.json() == post
    assert "ETag" in plain.headers


def test_expand_posts_embeds_a_page_in_id_order(client: TestClient) -> None:
    w = world(client)
    body = listing(client, "/users", username__startswith=w["p"], expand="posts")
    by_name = {r["username"].removeprefix(w["p"]): r for r in body["items"]}
    assert list(by_name) == ["alice", "bob", "carol"]
    alice_posts = [p for p in w["posts"] if p["owner_id"] == w["alice"]["id"]]
    assert by_name["alice"]["posts"] == {"items": alice_posts, "next_cursor": None}
    assert by_name["bob"]["posts"] == {"items": [w["posts"][1]], "next_cursor": None}
    assert by_name["carol"]["posts"] == {"items": [], "next_cursor": None}
    assert list(by_name["carol"]) == [*USER_KEYS, "posts"]
    one = own(client, f"/users/{w['carol']['id']}")
    response = client.get(f"/users/{w['carol']['id']}", params={"expand": "posts"})
    assert response.json() == {**one, "posts": {"items": [], "next_cursor": None}}


def test_two_level_expansion(client: TestClient) -> None:
    w = world(client)
    body = listing(client, "/posts", title__startswith=w["p"], expand="owner.posts", limit=2)
    first, second = body["items"]
    alice_posts = [p for p in w["posts"] if p["owner_id"] == w["alice"]["id"]]
    assert first["owner"]["posts"] == {"items": alice_posts, "next_cursor": None}
    assert second["owner"]["posts"] == {"items": [w["posts"][1]], "next_cursor": None}
    assert {k: first["owner"][k] for k in USER_KEYS} == own(client, f"/users/{w['alice']['id']}")
    body = listing(client, "/users", username=f"{w['p']}bob", expand="posts.owner")
    (bob,) = body["items"]
    (post,) = bob["posts"]["items"]
    assert post["owner"] == own(client, f"/users/{w['bob']['id']}")
    both = listing(client, "/posts", title=f"{w['p']} b1", expand="owner,owner.posts")
    assert both["items"][0]["owner"]["posts"]["items"] == [w["posts"][1]]


def test_fields_reach_into_expansions(client: TestClient) -> None:
    w = world(client)
    params = {"title__startswith": w["p"], "expand": "owner", "limit": 2}
    body = listing(client, "/posts", **params, fields="title,owner.username")
    assert body["items"] == [
        {"title": f"{w['p']} a1", "owner": {"username": f"{w['p']}alice"}},
        {"title": f"{w['p']} b1", "owner": {"username": f"{w['p']}bob"}},
    ]
    # Naming an expanded field expands it; naming the relation embeds all of it.
    body = listing(client, "/posts", title=f"{w['p']} b1", fields="id,owner")
    assert body["items"] == [
        {"id": w["posts"][1]["id"], "owner": own(client, f"/users/{w['bob']['id']}")}
    ]
    body = listing(client, "/posts", title=f"{w['p']} b1", fields="owner.username")
    assert body["items"] == [{"owner": {"username": f"{w['p']}bob"}}]
    # With fields=, an expansion it does not name is not shown.
    body = listing(client, "/posts", title=f"{w['p']} b1", expand="owner", fields="title")
    assert body["items"] == [{"title": f"{w['p']} b1"}]
    body = listing(
        client,
        "/users",
        username=f"{w['p']}alice",
        fields="username,posts.title",
    )
    titles = [{"title": f"{w['p']} a{i}"} for i in (1, 2, 3)]
    assert body["items"] == [
        {"username": f"{w['p']}alice", "posts": {"items": titles, "next_cursor": None}}
    ]
    body = listing(
        client, "/posts", title=f"{w['p']} b1", fields="title,owner.posts.body", sort="-id"
    )
    assert body["items"] == [
        {
            "title": f"{w['p']} b1",
            "owner": {"posts": {"items": [{"body": "hello"}], "next_cursor": None}},
        }
    ]


def test_relation_filters(client: TestClient) -> None:
    w = world(client)
    p = w["p"]

    def titles(**params: Any) -> list[str]:
        body = listing(client, "/posts", title__startswith=p, **params)
        return [r["title"].removeprefix(p + " ") for r in body["items"]]

    assert titles(**{"owner.username": f"{p}alice"}) == ["a1", "a2", "a3"]
    assert titles(**{"owner.username__ne": f"{p}alice"}) == ["b1"]
    assert titles(**{"owner.full_name__isnull": "true"}) == ["b1"]
    assert titles(**{"owner.full_name__icontains": "alice a"}) == ["a1", "a2", "a3"]
    assert titles(**{"owner.username__in": f"{p}bob,{p}carol"}) == ["b1"]
    assert titles(**{"owner.is_active": "false"}) == []
    assert titles(**{"owner.created_at__gte": "2000-01-01T00:00:00Z"}) == ["a1", "b1", "a2", "a3"]
    assert titles(**{"owner.created_at__lt": "2000-01-01T01:00:00+01:00"}) == []
    assert titles(**{"owner.id": str(w["alice"]["id"]), "title__ne": f"{p} a2"}) == ["a1", "a3"]
    body = listing(
        client,
        "/posts",
        **{"owner.username": f"{p}alice", "count": "true", "limit": 1, "sort": "-title"},
    )
    assert body["total"] == 3
    assert [r["title"] for r in body["items"]] == [f"{p} a3"]
    after = listing(
        client,
        "/posts",
        **{"owner.username": f"{p}alice", "limit": 1, "sort": "-title"},
        cursor=body["next_cursor"],
    )
    assert [r["title"] for r in after["items"]] == [f"{p} a2"]
    # Combined with expand, and on the to-many side's nested route.
    body = listing(client, "/posts", **{"owner.username": f"{p}bob"}, expand="owner")
    assert [r["owner"]["username"] for r in body["items"]] == [f"{p}bob"]


@pytest.mark.parametrize(
    ("path", "params", "param", "named"),
    [
        ("/posts", {"expand": "author"}, "expand", "author"),
        ("/posts", {"expand": "owner.friends"}, "expand", "friends"),
        ("/posts", {"expand": "owner.posts.owner"}, "expand", "owner.posts.owner"),
        ("/users", {"expand": "owner"}, "expand", "owner"),
        ("/posts/1", {"expand": "author"}, "expand", "author"),
        ("/posts", {"author.username": "x"}, "author.username", "author"),
        ("/posts", {"owner.nickname": "x"}, "owner.nickname", "nickname"),
        ("/posts", {"owner.password": "x"}, "owner.password", "password"),
        ("/posts", {"owner.username__gt": "x", "owner.is_active__gt": "x"}, None, "gt"),
        ("/users", {"posts.title": "x"}, "posts.title", "posts"),
        ("/posts", {"fields": "title,author.username"}, "fields", "author.username"),
        ("/posts", {"fields": "owner.password"}, "fields", "owner.password"),
    ],
)
def test_unknown_relation_is_400_naming_it(
    client: TestClient, path: str, params: dict[str, str], param: str | None, named: str
) -> None:
    body = problem(client.get(path, params=params), 400, "bad-query")
    assert repr(named) in body["detail"], body
    if param is not None:
        assert body["param"] == param


def test_bad_value_in_relation_filter_is_400(client: TestClient) -> None:
    body = problem(
        client.get("/posts", params={"owner.created_at__gte": "yesterday"}), 400, "bad-query"
    )
    assert body["param"] == "owner.created_at__gte"


def test_nested_list_has_every_list_feature(client: TestClient) -> None:
    w = world(client)
    alice = w["alice"]["id"]
    path = f"/users/{alice}/posts"
    mine = [p for p in w["posts"] if p["owner_id"] == alice]
    assert listing(client, path)["items"] == mine
    assert listing(client, path, sort="-id")["items"] == mine[::-1]
    assert listing(client, path, title=f"{w['p']} a2")["items"] == [mine[1]]
    assert listing(client, path, title=f"{w['p']} b1")["items"] == []
    body = listing(client, path, offset=1, limit=1, count="true", fields="id,title")
    assert body["items"] == [{"id": mine[1]["id"], "title": mine[1]["title"]}]
    assert body["total"] == 3
    assert body["next_cursor"] is not None
    rest = listing(client, path, limit=1, fields="id,title", cursor=body["next_cursor"])
    assert rest["items"] == [{"id": mine[2]["id"], "title": mine[2]["title"]}]
    assert rest["next_cursor"] is None
    body = listing(client, path, expand="owner", fields="title,owner.username", limit=1)
    assert body["items"] == [{"title": mine[0]["title"], "owner": {"username": f"{w['p']}alice"}}]
    assert listing(client, f"/users/{w['carol']['id']}/posts", count="true")["total"] == 0
    head = client.head(path)
    assert head.status_code == 200
    assert head.content == b""


def test_nested_list_of_a_missing_parent_is_404(client: TestClient) -> None:
    problem(client.get(f"/users/{MISSING_ID}/posts"), 404, "not-found")
    problem(client.post(f"/users/{MISSING_ID}/posts", json={"title": "x"}), 404, "not-found")
    problem(client.get("/users/0/posts"), 404, "not-found")  # as GET /users/0
    assert client.delete(f"/users/{MISSING_ID}/posts").status_code == 405


def test_cursor_of_an_embedded_page_continues_on_the_nested_route(client: TestClient) -> None:
    p = uid()
    user = make_user(client, f"{p}many")
    response = client.post(
        f"/users/{user['id']}/posts", json=[{"title": f"{p} {i:02d}"} for i in range(27)]
    )
    posts = created(response)
    assert [r["owner_id"] for r in posts] == [user["id"]] * 27
    body = listing(client, "/users", username=f"{p}many", expand="posts")
    page = body["items"][0]["posts"]
    assert page["items"] == posts[:20]  # OMNICRUD_EXPAND_LIMIT, default 20
    assert page["next_cursor"] is not None
    rest = listing(client, f"/users/{user['id']}/posts", cursor=page["next_cursor"])
    assert rest["items"] == posts[20:]
    assert rest["next_cursor"] is None
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        body = listing(client, f"/users/{user['id']}/posts", **params)
        seen += body["items"]
        if body["next_cursor"] is None:
            break
        params = {"limit": 10, "cursor": body["next_cursor"]}
    assert seen == posts
    one = client.get(f"/users/{user['id']}", params={"expand": "posts"}).json()
    assert one["posts"] == page


def test_nested_create_takes_the_reference_from_the_path(client: TestClient) -> None:
    w = world(client)
    bob = w["bob"]["id"]
    response = client.post(f"/users/{bob}/posts", json={"title": f"{w['p']} b2"})
    row = created(response)
    assert list(row) == POST_KEYS
    assert row["owner_id"] == bob
    assert response.headers["Location"] == f"/posts/{row['id']}"
    assert own(client, f"/posts/{row['id']}") == row
    same = client.post(f"/users/{bob}/posts", json={"title": "t", "owner_id": bob})
    assert created(same)["owner_id"] == bob
    other = {"title": "t", "owner_id": w["alice"]["id"]}
    invalid(client.post(f"/users/{bob}/posts", json=other), "body", "owner_id")
    bulk = [{"title": "ok"}, other]
    invalid(client.post(f"/users/{bob}/posts", json=bulk), "body", 1, "owner_id")
    invalid(client.post(f"/users/{bob}/posts", json={"owner_id": bob}), "body", "title")
    assert listing(client, f"/users/{bob}/posts", title="t", count="true")["total"] == 1


def test_deleted_parent(client: TestClient) -> None:
    w = world(client)
    bob = w["bob"]["id"]
    problem(client.delete(f"/users/{bob}"), 409, "reference-conflict")
    assert client.delete(f"/posts/{w['posts'][1]['id']}").status_code == 204
    assert listing(client, f"/users/{bob}/posts")["items"] == []
    assert client.delete(f"/users/{bob}").status_code == 204
    problem(client.get(f"/users/{bob}/posts"), 404, "not-found")
    problem(client.get(f"/users/{bob}", params={"expand": "posts"}), 404, "not-found")
    body = listing(client, "/posts", title__startswith=w["p"], expand="owner", fields="owner.id")
    assert body["items"] == [{"owner": {"id": w["alice"]["id"]}}] * 3


def test_openapi_declares_relations(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    listed = spec["paths"]["/posts"]["get"]["parameters"]
    expand = next(p for p in listed if p["name"] == "expand")
    assert expand["schema"]["pattern"] == r"^(owner|owner\.posts)(,(owner|owner\.posts))*$"
    names = {p["name"] for p in listed}
    assert {"owner.username", "owner.created_at__gte", "owner.full_name__isnull"} <= names
    assert "owner.password" not in names
    one = spec["paths"]["/posts/{id}"]["get"]["parameters"]
    assert any(p["name"] == "expand" for p in one)
    users = next(p for p in spec["paths"]["/users"]["get"]["parameters"] if p["name"] == "expand")
    assert users["schema"]["pattern"] == r"^(posts|posts\.owner)(,(posts|posts\.owner))*$"
    nested = spec["paths"]["/users/{id}/posts"]
    assert set(nested) == {"get", "post"}
    assert "404" in nested["get"]["responses"]
    schemas = spec["components"]["schemas"]
    assert "owner" in schemas["PostsRow"]["properties"]
    assert "owner" not in schemas["PostsRow"].get("required", [])
    assert "posts" in schemas["UsersRow"]["properties"]
