"""CONTRACT §8 on pages of every size: to-one embeds look up 1..17 distinct targets (one
prepared statement serves every count on PostgreSQL), ``id__in`` lists of those lengths, and
parsed expansions shared between requests without sharing their rows."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conformance.support import created, listing, make_post, problem, uid, user_body

COUNTS = (1, 2, 3, 5, 9, 17)


def owners_and_posts(client: TestClient) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """17 users, post i owned by user i: a page of the first n posts has n distinct owners."""
    p = uid()
    bodies = [user_body(f"{p}u{i:02d}") for i in range(max(COUNTS))]
    users: list[dict[str, Any]] = created(client.post("/users", json=bodies))
    posts = [make_post(client, u["id"], f"{p} {i:02d}") for i, u in enumerate(users)]
    return p, users, posts


def test_to_one_embeds_of_every_page_size(client: TestClient) -> None:
    p, users, posts = owners_and_posts(client)
    for n in COUNTS:
        body = listing(client, "/posts", title__startswith=p, expand="owner", limit=n)
        assert len(body["items"]) == n
        for row, post, user in zip(body["items"], posts, users, strict=False):
            assert row == {**post, "owner": user}
        ids = ",".join(str(u["id"]) for u in users[:n])
        assert [u["id"] for u in listing(client, "/users", id__in=ids)["items"]] == [
            u["id"] for u in users[:n]
        ]


def test_shared_expansions_keep_requests_apart(client: TestClient) -> None:
    p, users, posts = owners_and_posts(client)
    for _ in range(2):  # the second round reads the parsed expansions of the first
        first = listing(client, "/posts", title__startswith=p, expand="owner", limit=2)
        assert [r["owner"] for r in first["items"]] == users[:2]
        later = listing(
            client,
            "/posts",
            title__startswith=p,
            expand="owner",
            limit=2,
            cursor=first["next_cursor"],
        )
        assert [r["owner"] for r in later["items"]] == users[2:4]
        narrow = listing(
            client, "/posts", title__startswith=p, fields="title,owner.username", limit=1
        )
        assert narrow["items"] == [{"title": posts[0]["title"], "owner": {"username": f"{p}u00"}}]
        response = client.get("/posts", params={"expand": "owner,nope"})
        assert "nope" in problem(response, 400, "bad-query")["detail"]
