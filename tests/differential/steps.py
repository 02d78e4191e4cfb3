"""The fixed request sequence of the differential test.

Paths and query values are templates: ``{a}`` is the id saved under ``a`` by an earlier
create, ``{cursor}`` the latest non-null ``next_cursor``. In bodies, ``Ref("a")`` is that id.
Every list is confined to this run's rows by a prefix filter, so other tests' rows never show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    expect: int
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    save: tuple[str, ...] = ()

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        headers = "".join(f" [{k}: {v}]" for k, v in self.headers.items())
        return f"{self.method} {self.path}{'?' + query if query else ''}{headers}"


JSON = {"content-type": "application/json"}
MERGE = {"content-type": "application/merge-patch+json"}
MISSING = "9000000000000"


def steps(p: str) -> list[Step]:
    items = {"name__startswith": p}
    users = {"username__startswith": p}
    posts = {"title__startswith": p}

    def post(path: str, body: Any, expect: int = 201, *save: str) -> Step:
        return Step("POST", path, expect, body=body, save=save)

    def get(path: str, expect: int = 200, **params: str) -> Step:
        return Step("GET", path, expect, params=params)

    def ls(path: str, scope: dict[str, str], expect: int = 200, **params: str) -> Step:
        return Step("GET", path, expect, params={**scope, **params})

    def patch(path: str, body: Any, expect: int = 200, **headers: str) -> Step:
        return Step("PATCH", path, expect, body=body, headers={**MERGE, **headers})

    def put(path: str, body: Any, expect: int = 200, **headers: str) -> Step:
        return Step("PUT", path, expect, body=body, headers=headers)

    def delete(path: str, expect: int = 204, **headers: str) -> Step:
        return Step("DELETE", path, expect, headers=headers)

    def user(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "username": f"{p}{name}",
            "email": f"{p}.{name}@example.com",
            "password": f"{name}-password",
            **extra,
        }

    bulk = [
        {"name": f"{p} 100%", "price": 5, "description": None},
        {"name": f"{p} a_b", "price": 2.5, "description": "Under_score"},
        {"name": f"{p} back\\slash", "price": 2.5},
        {"name": f"{p} ÉCLAIR", "price": 0, "description": "pâtisserie"},
        {"name": f"{p} zeta", "price": 1e-3, "description": "last"},
    ]
    return [
        # items: create, read, conditional requests
        post("/items", {"name": f"{p} alpha", "price": 10.5, "description": "first"}, 201, "a"),
        post("/items", {"name": f"{p} Beta", "price": 2}, 201, "b"),
        post("/items", bulk, 201, "c", "d", "e", "f", "g"),
        get("/items/{a}"),
        Step("GET", "/items/{a}", 304, headers={"if-none-match": '"1"'}),
        Step("GET", "/items/{a}", 200, headers={"if-none-match": '"2"'}),
        Step("HEAD", "/items/{b}", 200),
        get(f"/items/{MISSING}", 404),
        get("/items/not-a-number", 404),
        # lists
        ls("/items", items),
        ls("/items", items, sort="-price,name"),
        ls("/items", items, sort="name"),
        ls("/items", items, sort="description"),
        ls("/items", items, sort="-description,price"),
        ls("/items", items, fields="name,price", sort="price", limit="3"),
        ls("/items", items, fields="name,price", sort="price", limit="3", cursor="{cursor}"),
        ls("/items", items, fields="name,price", sort="price", limit="3", cursor="{cursor}"),
        ls("/items", items, limit="2", offset="2", count="true"),
        ls("/items", items, limit="2", skip="5", count="true"),
        ls("/items", items, limit="3", offset="3"),
        ls("/items", items, limit="2", cursor="{cursor}"),
        ls("/items", items, name__contains="%"),
        ls("/items", items, name__contains="_"),
        ls("/items", items, name__contains="\\"),
        ls("/items", items, name__icontains="BETA"),
        ls("/items", items, name__icontains="clair"),  # ASCII needle: non-ASCII folding may differ
        ls("/items", items, description__isnull="true"),
        ls("/items", items, description__ne="first"),
        ls("/items", items, description__startswith="Under_"),
        ls("/items", items, price__in="2,10.5,7"),
        ls("/items", items, price__gte="2.5", price__lt="10.5"),
        ls("/items", items, price__gt="0", sort="-price", fields="id"),
        ls("/items", items, name__gt=f"{p} a", name__lte=f"{p} b"),
        # list errors
        get("/items", 400, nope="1"),
        get("/items", 400, sort="-nope"),
        get("/items", 400, fields="id,nope"),
        get("/items", 400, price="cheap"),
        get("/items", 400, name__isnull="true"),
        get("/items", 422, limit="0"),
        get("/items", 422, limit="1001"),
        get("/items", 422, offset="-1"),
        get("/items", 400, cursor="garbage"),
        ls("/items", items, 400, sort="name", cursor="{cursor}"),
        # updates
        patch("/items/{a}", {"price": 11}, 200, **{"if-match": '"1"'}),
        patch("/items/{a}", {"price": 12}, 412, **{"if-match": '"1"'}),
        get("/items/{a}"),
        put("/items/{b}", {"name": f"{p} Beta2", "price": 3.25, "description": "d"}),
        put("/items/{b}", {"price": 3}, 422),
        patch("/items/{b}", {"description": None}),
        patch("/items/{b}", {"name": None}, 422),
        patch("/items/{b}", {"id": 5, "color": "red"}, 422),
        put(f"/items/{MISSING}", {"name": f"{p} ghost", "price": 1}, 404),
        put("/items/{b}", {"name": f"{p} Beta3", "price": 4}, 200, **{"if-match": "*"}),
        # create errors
        post("/items", {"name": f"{p} bad", "price": "12"}, 422),
        post("/items", {"name": f"{p} bad", "price": True}, 422),
        post("/items", {"name": f"{p} bad", "price": 1, "created_at": "2020-01-01T00:00:00Z"}, 422),
        post("/items", {"name": f"{p} bad", "price": 1, "color": "red"}, 422),
        post("/items", [], 422),
        post("/items", [{"name": f"{p} ok", "price": 1}, {"price": 1}], 422),
        Step(
            "POST",
            "/items",
            415,
            raw=b'{"name": "x", "price": 1}',
            headers={"content-type": "text/plain"},
        ),
        Step("POST", "/items", 400, raw=b'{"name": ', headers=JSON),
        Step("POST", "/items", 400, raw=b"[" * 50 + b"]" * 50, headers=JSON),
        Step("DELETE", "/items", 405),
        get("/nowhere", 404),
        # users: unique conflicts, password never returned
        post("/users", user("alice", full_name="Alice"), 201, "alice"),
        post("/users", user("bob", is_active=False), 201, "bob"),
        post("/users", user("alice", email=f"{p}.alice2@example.com"), 409),
        post("/users", {**user("carol"), "email": f"{p}.alice@example.com"}, 409),
        post("/users", [user("dave"), user("dave", email=f"{p}.dave2@example.com")], 409),
        post("/users", [user("erin"), user("frank")], 201, "erin", "frank"),
        post("/users", user("gina", password="short"), 422),
        ls("/users", users),
        ls("/users", users, is_active="false"),
        ls("/users", users, full_name__isnull="true", sort="-username"),
        get("/users", 400, password="alice-password"),
        get("/users", 400, sort="password"),
        patch("/users/{bob}", {"username": f"{p}alice"}, 409),
        patch("/users/{bob}", {"password": "a-brand-new-password", "is_active": True}),
        put("/users/{frank}", {**user("frank"), "email": f"{p}.erin@example.com"}, 409),
        get("/users/{bob}"),
        # posts: references
        post("/posts", {"title": f"{p} hello", "owner_id": Ref("alice")}, 201, "hello"),
        post(
            "/posts",
            [
                {"title": f"{p} one", "owner_id": Ref("bob"), "body": "x"},
                {"title": f"{p} two", "owner_id": Ref("alice")},
            ],
            201,
            "one",
            "two",
        ),
        post("/posts", {"title": f"{p} orphan", "owner_id": int(MISSING)}, 409),
        patch("/posts/{hello}", {"owner_id": int(MISSING)}, 409),
        patch("/posts/{hello}", {"owner_id": Ref("bob")}),
        ls("/posts", posts, owner_id="{bob}"),
        ls("/posts", posts, sort="-owner_id,title"),
        delete("/users/{bob}", 409),
        delete("/posts/{hello}", 412, **{"if-match": '"1"'}),
        delete("/posts/{hello}", 204, **{"if-match": '"2"'}),
        delete("/posts/{hello}", 404),
        delete("/posts/{one}"),
        delete("/users/{bob}"),
        get("/users/{bob}", 404),
        ls("/users", users, count="true"),
        # ids: the highest deleted is never handed out again
        delete("/items/{g}"),
        post("/items", {"name": f"{p} after", "price": 1}, 201, "h"),
        ls("/items", items, sort="-id", limit="3", count="true"),
        ls("/posts", posts, count="true"),
    ]
