"""CONTRACT §8 beyond users -> posts: null references, renamed relations, a self-reference,
the statement budget of expansions (counted at the Storage boundary) and start-up checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError
from omnicrud.core.relations import Relations
from omnicrud.core.resources import References, Resource
from tests.conformance.support import listing, make_post, make_user, problem, uid
from tests.resources_testing import relation_resources


@pytest.fixture(scope="module")
def rel_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"expand_limit": 2}), relation_resources)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def make(client: TestClient, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    row: dict[str, Any] = response.json()
    return row


def test_null_reference_embeds_null(rel_client: TestClient) -> None:
    tag = uid()
    team = make(rel_client, "/teams", tag=tag, name="red")
    loner = make(rel_client, "/members", tag=tag, handle="loner")
    player = make(rel_client, "/members", tag=tag, handle="player", team_id=team["id"])
    body = listing(rel_client, "/members", tag=tag, expand="squad,mentor")
    assert body["items"] == [
        {**loner, "squad": None, "mentor": None},
        {**player, "squad": team, "mentor": None},
    ]
    one = rel_client.get(f"/members/{loner['id']}", params={"expand": "squad"}).json()
    assert one == {**loner, "squad": None}
    body = listing(rel_client, "/members", tag=tag, fields="handle,squad.name")
    assert body["items"] == [
        {"handle": "loner", "squad": None},
        {"handle": "player", "squad": {"name": "red"}},
    ]
    # A null reference never matches a filter across it, except isnull on the reference.
    assert listing(rel_client, "/members", tag=tag, **{"squad.name__ne": "x"})["items"] == [player]
    assert listing(rel_client, "/members", tag=tag, **{"squad.rank__isnull": "true"})["items"] == [
        player
    ]
    assert listing(rel_client, "/members", tag=tag, team_id__isnull="true")["items"] == [loner]


def test_renamed_relations_and_nested_route(rel_client: TestClient) -> None:
    tag = uid()
    team = make(rel_client, "/teams", tag=tag)
    rows = [
        make(rel_client, f"/teams/{team['id']}/roster", tag=tag, handle=f"h{i}") for i in range(3)
    ]
    assert [r["team_id"] for r in rows] == [team["id"]] * 3
    body = listing(rel_client, "/teams", tag=tag, expand="roster")
    page = body["items"][0]["roster"]
    assert page["items"] == rows[:2]  # expand_limit=2 in this app
    rest = listing(rel_client, f"/teams/{team['id']}/roster", cursor=page["next_cursor"])
    assert rest["items"] == rows[2:]
    problem(rel_client.get("/teams", params={"expand": "members"}), 400, "bad-query")
    problem(rel_client.get("/members", params={"expand": "team"}), 400, "bad-query")
    assert rel_client.get(f"/teams/{team['id']}/members").status_code == 404


def test_self_reference(rel_client: TestClient) -> None:
    tag = uid()
    a = make(rel_client, "/members", tag=tag, handle="a")
    b = make(rel_client, "/members", tag=tag, handle="b", mentor_id=a["id"])
    c = make(rel_client, "/members", tag=tag, handle="c", mentor_id=b["id"])
    body = listing(rel_client, "/members", tag=tag, fields="handle,mentor.handle,mentees.handle")
    assert body["items"] == [
        {
            "handle": "a",
            "mentor": None,
            "mentees": {"items": [{"handle": "b"}], "next_cursor": None},
        },
        {
            "handle": "b",
            "mentor": {"handle": "a"},
            "mentees": {"items": [{"handle": "c"}], "next_cursor": None},
        },
        {"handle": "c", "mentor": {"handle": "b"}, "mentees": {"items": [], "next_cursor": None}},
    ]
    assert listing(rel_client, "/members", tag=tag, **{"mentor.handle": "a"})["items"] == [b]
    deep = listing(rel_client, "/members", tag=tag, **{"mentor.mentor.handle": "a"})
    assert deep["items"] == [c]
    body = listing(rel_client, "/members", tag=tag, handle="c", expand="mentor.mentor")
    assert body["items"][0]["mentor"]["mentor"] == a
    assert listing(rel_client, f"/members/{a['id']}/mentees")["items"] == [b]
    problem(rel_client.delete(f"/members/{a['id']}"), 409, "reference-conflict")


class Counting:
    """The app's storage, counting the calls that reach the database."""

    READS = ("get", "list", "count", "children")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in self.READS:
            return target

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await target(*args, **kwargs)

        return counted


@pytest.fixture
def counting(client: TestClient) -> Iterator[Counting]:
    app: Any = client.app
    original = app.state.storage
    app.state.storage = wrapper = Counting(original)
    try:
        yield wrapper
    finally:
        app.state.storage = original


def test_expansions_cost_one_statement_each(client: TestClient, counting: Counting) -> None:
    p = uid()
    users = [make_user(client, f"{p}u{i}") for i in range(10)]
    for i in range(50):
        make_post(client, users[i % 10]["id"], f"{p} {i:02d}")
    # 55 posts for the first user: its embedded page is cut at the expand limit.
    client.post(f"/users/{users[0]['id']}/posts", json=[{"title": f"{p} x"}] * 25)

    def cost(path: str, **params: Any) -> list[str]:
        counting.calls.clear()
        body = listing(client, path, **params)
        assert body["items"]
        return list(counting.calls)

    assert cost("/posts", title__startswith=p, limit=50) == ["list"]
    assert cost("/posts", title__startswith=p, limit=50, expand="owner") == ["list", "list"]
    assert cost("/users", username__startswith=p, expand="posts") == ["list", "children"]
    assert cost("/posts", title__startswith=p, limit=50, expand="owner.posts") == [
        "list",
        "list",
        "children",
    ]
    assert cost("/users", username__startswith=p, expand="posts,posts.owner") == [
        "list",
        "children",
        "list",
    ]
    assert cost("/posts", title__startswith=p, **{"owner.username__startswith": p}) == ["list"]
    assert cost(f"/users/{users[0]['id']}/posts", expand="owner") == ["get", "list", "list"]
    counting.calls.clear()
    response = client.get(f"/posts/{users[0]['id']}", params={"expand": "owner"})
    assert response.status_code in (200, 404)
    assert len(counting.calls) <= 2


def test_relation_names_are_checked_at_start_up() -> None:
    class Author(BaseModel):
        name: str

    class Book(BaseModel):
        author_id: Annotated[int, References("authors")]
        author: str

    class Note(BaseModel):
        writer: Annotated[int, References("authors")]

    class Pair(BaseModel):
        first_id: Annotated[int, References("authors")]
        second_id: Annotated[int, References("authors")]

    authors = Resource("authors", Author)
    with pytest.raises(ConfigError, match=r"books\.author .*clashes with the field 'author'"):
        Relations([authors, Resource("books", Book)])
    with pytest.raises(ConfigError, match="clashes with the field 'writer'"):
        Relations([authors, Resource("notes", Note)])
    with pytest.raises(ConfigError, match=r"authors\.pairs .*defined twice.*reverse="):
        Relations([authors, Resource("pairs", Pair)])
    with pytest.raises(ConfigError) as caught:
        Relations([authors, Resource("pairs", Pair)])
    assert "\n" not in str(caught.value)

    class Fixed(BaseModel):
        first_id: Annotated[int, References("authors", name="one", reverse="firsts")]
        second_id: Annotated[int, References("authors", reverse="seconds")]

    relations = Relations([authors, Resource("fixed", Fixed)])
    assert relations.paths(authors) == [
        "firsts",
        "seconds",
        "firsts.one",
        "firsts.second",
        "seconds.one",
        "seconds.second",
    ]
